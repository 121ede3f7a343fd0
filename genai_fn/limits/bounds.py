"""The numbers a token limit may take: one definition, read by settings.py, clients.py and the docs.

Terraform's validations (terraform/variables.tf) repeat these literal values;
a test on that side reads both and compares them by value.
"""

from __future__ import annotations

#: GENAI_TOKENS_PER_MINUTE and a client's `tokens_per_minute`.
TOKENS_PER_MINUTE = (1, 10_000_000)
#: GENAI_TOKEN_QUOTA and a client's `token_quota`.
TOKEN_QUOTA = (1, 1_000_000_000_000)
#: GENAI_TOKEN_QUOTA_PERIOD and a client's `token_quota_period`: calendar windows in UTC (ISO weeks start on Monday).
QUOTA_PERIODS = ("hour", "day", "week", "month")
#: GENAI_LIMIT_STORE_TIMEOUT_MS: the longest one store round trip may take.
STORE_TIMEOUT_MS = (10, 5000)
DEFAULT_STORE_TIMEOUT_MS = 250
#: GENAI_LIMIT_FAILURE_MODE: what a call does when the store cannot be reached.
FAILURE_MODES = ("open", "closed")
DEFAULT_FAILURE_MODE = "open"
