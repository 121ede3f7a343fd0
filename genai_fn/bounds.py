"""Every bound, default and name the function's configuration states, defined once.

settings.py, clients.py and dev/ read them from here. The copies that cannot
import Python are checked against these values, not just these names:

- terraform/variables.tf (validations, their error messages, defaults and the
  client objects' fields), inputs.tf and clients.tf (the client fields),
  functions.tf and cache.tf (the settings Terraform sets), schema.yaml (the
  Resource Manager form's minimum, maximum, default and enum):
  tests/terraform/test_limit_bounds.py;
- docs/configuration.md (each setting's default and range) and docs/clients.md
  (the families and policy fields): tests/unit/test_config_docs.py.

It imports nothing from genai_fn, so that every module, dev/ and the tests can
import it. The API families are genai_fn/families.py's `Family` (which imports
nothing either).
"""

from __future__ import annotations

from dataclasses import dataclass

# -- the platform ---------------------------------------------------------------------------------

#: OCI Functions accepts request and response bodies up to 6 MB
#: (https://docs.oracle.com/iaas/tools/oci-cli/latest/oci_cli_docs/cmdref/fn/function/invoke.html):
#: a larger body limit could never be reached.
FUNCTIONS_PAYLOAD_LIMIT = 6 * 1024 * 1024
#: The platform's own ceiling on a function's timeout
#: (https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsmonitoringcapacityusage.htm).
FUNCTIONS_MAX_TIMEOUT_S = 300

# -- models ---------------------------------------------------------------------------------------

DEFAULT_MODEL = "openai.gpt-oss-120b"
#: The longest model name a setting may hold. Oracle names on-demand models with short names
#: (`xai.grok-4.20-0309-non-reasoning`: 32) but a model may also be named by its OCID ("for both the
#: model name and model OCID use ...", https://docs.oracle.com/en-us/iaas/Content/generative-ai/openai-gpt-oss-20b.htm),
#: about 100 characters: 200 leaves room for both, and is what the function has always accepted.
MODEL_NAME_CHARS = 200
#: A model name (GENAI_DEFAULT_MODEL, GENAI_ALLOWED_MODELS, GENAI_MODEL_ALIASES, GENAI_FALLBACK_MODELS).
MODEL_NAME = rf"^[A-Za-z0-9][A-Za-z0-9._:/-]{{0,{MODEL_NAME_CHARS - 1}}}$"

# -- output tokens --------------------------------------------------------------------------------

#: GENAI_MAX_OUTPUT_TOKENS, a cap on what a request asks for (never injected). 131,072 covers the
#: largest single answer any model on OCI documents: gpt-oss-120b and Grok 4 share 128,000 tokens
#: between prompt and response (openai-gpt-oss-120b.htm, xai-grok-4.htm), Gemini 2.5 answers at most
#: 65,536 (google-gemini-2-5-flash.htm), and Grok 4.20, whose 2M-token context is mostly prompt, caps a
#: run's response at 131,000 (xai-grok-4-20.htm); pages under https://docs.oracle.com/en-us/iaas/Content/generative-ai/.
#: A larger cap could not be spent either: one call ends within FUNCTIONS_MAX_TIMEOUT_S, and 131,072
#: tokens in 300 s is already over 400 tokens a second.
MAX_OUTPUT_TOKENS = (1, 131_072)
#: A cap, not a default: high enough for reasoning models, which spend much of it thinking.
DEFAULT_MAX_OUTPUT_TOKENS = 32_768
#: GENAI_DEFAULT_OUTPUT_TOKENS: added to a request that names no limit; 0 (its default) adds nothing.
DEFAULT_OUTPUT_TOKENS = (0, MAX_OUTPUT_TOKENS[1])
INJECT_NO_OUTPUT_TOKENS = 0

# -- requests and retries -------------------------------------------------------------------------

#: GENAI_MAX_BODY_BYTES: at least 1 KiB (a smaller limit would refuse ordinary requests), at most the platform's.
MAX_BODY_BYTES = (1024, FUNCTIONS_PAYLOAD_LIMIT)
#: GENAI_MAX_RETRIES: retries of a failed upstream attempt, all inside the call's deadline. Five
#: covers genai_fn/retry.py's whole backoff schedule (0.5, 1, 2, 4, then its 8 s ceiling): ~15 s
#: of waiting. A region still failing after six attempts is the circuit breaker's and failover's
#: business (docs/failover.md), not a reason to wait 8 s more, again and again.
MAX_RETRIES = (0, 5)
DEFAULT_MAX_RETRIES = 2
#: GENAI_TIMEOUT_SECONDS: one upstream attempt, at most the platform's timeout.
ATTEMPT_TIMEOUT_S = (1.0, float(FUNCTIONS_MAX_TIMEOUT_S))
DEFAULT_ATTEMPT_TIMEOUT_S = 120.0
#: GENAI_DEADLINE_MARGIN_MS: kept back from Fn-Deadline for the answer's way out.
DEADLINE_MARGIN_MS = (0, 30_000)
DEFAULT_DEADLINE_MARGIN_MS = 1000

# -- logs and authentication ----------------------------------------------------------------------

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LOG_LEVEL = "INFO"
AUTH_MODES = ("auto", "resource_principal", "session", "user_principal", "instance_principal", "api_key")
DEFAULT_AUTH_MODE = "auto"

# -- regional failover (docs/failover.md) ---------------------------------------------------------

#: GENAI_BREAKER_FAILURES: a region's circuit opens after this many consecutive failures ...
BREAKER_FAILURES = (1, 1000)
DEFAULT_BREAKER_FAILURES = 3
#: GENAI_BREAKER_COOLDOWN_SECONDS: ... and lets one trial call through after this many seconds open.
BREAKER_COOLDOWN_S = (1.0, 3600.0)
DEFAULT_BREAKER_COOLDOWN_S = 30.0
#: GENAI_FAILOVER_SHARE: with a region left to fail over to, the share of the remaining budget a region's
#: attempts may use.
FAILOVER_SHARE = (0.1, 0.9)
DEFAULT_FAILOVER_SHARE = 0.5

# -- token limits (genai_fn/limits/) --------------------------------------------------------------

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

# -- per-client policy (genai_fn/clients.py) ------------------------------------------------------

#: The fields of a GENAI_CLIENT_POLICIES entry.
POLICY_FIELDS = (
    "models",
    "max_output_tokens",
    "families",
    "tokens_per_minute",
    "token_quota",
    "token_quota_period",
    "project",
    "compartment",
)
#: How a Terraform client entry (api_clients, jwt_clients and their _json forms) names each policy
#: field; the others keep their name.
POLICY_FIELDS_IN_TERRAFORM = {"project": "project_ocid", "compartment": "compartment_ocid"}
#: Fields of a Terraform client entry the function never receives: the hourly budget of an alarm
#: (terraform/alarms.tf), and in api_keys mode the keys and the usage plan (api_clients only).
TERRAFORM_CLIENT_FIELDS = ("tokens_per_hour",)
TERRAFORM_API_CLIENT_FIELDS = ("key_hashes", "rate_limit_per_second", "quota", "quota_unit")
#: The name of a client the gateway's header may carry (keys.py's names, a stack id prefix, or a JWT claim).
MAX_CLIENT_NAME_CHARS = 256


# -- every setting, for its copies ----------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """What one setting takes, as settings.py reads it and as Terraform and the docs must state it."""

    #: What an unset setting means: a value, or None (off, or derived from another setting).
    default: object = None
    #: (low, high) of a number, both included; None for a setting that is not a number.
    bounds: tuple[float, float] | None = None
    #: The values a choice may take; () for a setting that is not a choice.
    choices: tuple[str, ...] = ()
    #: The Terraform variable that sets it (terraform/variables.tf), None when Terraform does not.
    variable: str | None = None


#: The settings with a bound, a default or a list of values; tests compare every copy with these.
SETTINGS: dict[str, Setting] = {
    "GENAI_DEFAULT_MODEL": Setting(DEFAULT_MODEL, variable="genai_default_model"),
    "GENAI_MAX_OUTPUT_TOKENS": Setting(
        DEFAULT_MAX_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS, variable="genai_max_output_tokens"
    ),
    "GENAI_DEFAULT_OUTPUT_TOKENS": Setting(
        INJECT_NO_OUTPUT_TOKENS, DEFAULT_OUTPUT_TOKENS, variable="genai_default_output_tokens"
    ),
    "GENAI_MAX_BODY_BYTES": Setting(FUNCTIONS_PAYLOAD_LIMIT, MAX_BODY_BYTES, variable="genai_max_body_bytes"),
    "GENAI_MAX_RETRIES": Setting(DEFAULT_MAX_RETRIES, MAX_RETRIES, variable="genai_max_retries"),
    "GENAI_TIMEOUT_SECONDS": Setting(DEFAULT_ATTEMPT_TIMEOUT_S, ATTEMPT_TIMEOUT_S),
    "GENAI_DEADLINE_MARGIN_MS": Setting(DEFAULT_DEADLINE_MARGIN_MS, DEADLINE_MARGIN_MS),
    "GENAI_LOG_LEVEL": Setting(DEFAULT_LOG_LEVEL, choices=LOG_LEVELS, variable="genai_log_level"),
    "GENAI_LOG_PROMPTS": Setting(False, variable="genai_log_prompts"),
    "GENAI_EAGER_START": Setting(False, variable="genai_eager_start"),
    "OCI_AUTH": Setting(DEFAULT_AUTH_MODE, choices=AUTH_MODES),
    "GENAI_BREAKER_FAILURES": Setting(DEFAULT_BREAKER_FAILURES, BREAKER_FAILURES),
    "GENAI_BREAKER_COOLDOWN_SECONDS": Setting(DEFAULT_BREAKER_COOLDOWN_S, BREAKER_COOLDOWN_S),
    "GENAI_FAILOVER_SHARE": Setting(DEFAULT_FAILOVER_SHARE, FAILOVER_SHARE),
    "GENAI_TOKENS_PER_MINUTE": Setting(None, TOKENS_PER_MINUTE, variable="default_tokens_per_minute"),
    "GENAI_TOKEN_QUOTA": Setting(None, TOKEN_QUOTA, variable="default_token_quota"),
    "GENAI_TOKEN_QUOTA_PERIOD": Setting(None, choices=QUOTA_PERIODS, variable="default_token_quota_period"),
    "GENAI_LIMIT_STORE_TIMEOUT_MS": Setting(
        DEFAULT_STORE_TIMEOUT_MS, STORE_TIMEOUT_MS, variable="limit_store_timeout_ms"
    ),
    "GENAI_LIMIT_FAILURE_MODE": Setting(DEFAULT_FAILURE_MODE, choices=FAILURE_MODES, variable="limit_failure_mode"),
}
