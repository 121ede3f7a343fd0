"""The usage-metrics function: token usage per client and model as OCI Monitoring metrics.

Deployed on its own by `fn deploy` from this folder (func.yaml, Dockerfile), as
the target of a Connector Hub connector that reads the Functions application's
invoke log. The code is in `metering/`; `metering/lines.py` is also what `make
usage` (ops/usage.py) counts with, so both read the function's log line the
same way, and `report.py` holds what `make usage` and the local stack share
(not part of the function's image).
"""
