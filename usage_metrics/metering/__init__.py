"""The usage-metrics function's parts: configuration, the connector's batch, aggregation, posting.

Imported as `metering` inside the function's image (fn deploy puts this
folder's parent, usage_metrics/, at /function, on PYTHONPATH) and as
`usage_metrics.metering` from the repository; the modules import each other
relatively so both work.
"""

from __future__ import annotations

import logging

# The oci SDK logs at INFO as it is imported (its circuit breakers), and fdk's root logger is at DEBUG:
# held at WARNING before any module here imports it (app.configure_logging does the rest).
logging.getLogger("oci").setLevel(logging.WARNING)
