"""Settings every fuzz target shares: reproducible (derandomized, no example database) and CI-sized.

FUZZ_EXAMPLES sets the examples per test: 300 by default, FUZZ_EXAMPLES=10000 for the full run (make soak).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
