"""The usage-metrics function's parts: configuration, the connector's batch, aggregation, posting.

Imported as `usage_metrics.metering` everywhere: in the function's image
(usage_metrics/Dockerfile puts the package at /function/usage_metrics/), from
the repository, the tests and dev/.
"""

from __future__ import annotations

import logging

# The oci SDK logs at INFO as it is imported (its circuit breakers), and fdk's root logger is at DEBUG:
# held at WARNING before any module here imports it (app.configure_logging does the rest).
logging.getLogger("oci").setLevel(logging.WARNING)
