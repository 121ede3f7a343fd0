"""Per-client policy: which models, which API families and how many output tokens each client may use.

Who the client is comes from one header, `X-GenAI-Client`, which the gateway
sets on every authenticated route from what authentication established
(`${request.auth[client]}`: the authorizer's answer, or a JWT claim) and
overwrites whatever a client sent under that name (terraform/apigateway.tf; the
local gateway, dev/local/gateway.py, does the same). The function trusts it
because of three things together, none of which a client controls:

- policies exist only when GENAI_CLIENT_POLICIES is set, and Terraform sets it
  only with the header transformation that fills the header on every route;
- the header is read only for calls that came through the gateway
  (`Fn-Intent: httprequest`); a direct invocation (`fn invoke`) needs an IAM
  permission to invoke the function, so it is the operator's and gets the
  global settings;
- with policies configured, a client name the table does not list (or none) is
  refused with a 403: a forged or missing name never falls back to the global
  settings.

GENAI_CLIENT_POLICIES is a JSON object, one entry per client, keyed by the
header's value (api_keys mode: `<stack id>.<client>`, what the authorizer
answers; jwt mode: the claim's value)::

    {"acme.alice": {}, "acme.bob": {"models": ["gpt-4o-mini"], "max_output_tokens": 1024,
                                    "families": ["responses", "chat"]}}

Every field is optional; an absent field means the global setting. The token
limits (`tokens_per_minute`, `token_quota` with `token_quota_period`) are
enforced on a shared store (genai_fn/limits/); their absence means the
deployment-wide default (GENAI_TOKENS_PER_MINUTE, GENAI_TOKEN_QUOTA).

Isolation (docs/clients.md, SECURITY.md): `project` is the client's own
Generative AI project, sent as `OpenAI-Project` on its calls, so that OCI
itself keeps its responses, conversations, files and containers apart from
every other client's ("Projects": artifacts in one project are not accessible
from another project, https://docs.oracle.com/en-us/iaas/Content/generative-ai/projects.htm).
`compartment` is the client's own compartment, sent as `opc-compartment-id` to
the control plane, where vector stores are created and listed
(genai_fn/tenancy.py adds the check OCI has no scope for). With two clients or
more, every client must have a project of its own, and a compartment of its
own unless its `families` leave out vector_stores: a table that would let two
clients share stored objects is refused at start-up. With one client (or none),
a client without `project` uses GENAI_PROJECT_OCID, as a direct invocation does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from . import bounds
from .families import Family

#: Set by the gateway on every authenticated route; a client's own value is overwritten.
CLIENT_HEADER = "X-GenAI-Client"
SETTING = "GENAI_CLIENT_POLICIES"
_FIELDS = frozenset(bounds.POLICY_FIELDS)
PROJECT_OCID = re.compile(r"^ocid1\.generativeaiproject\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+$")
COMPARTMENT_OCID = re.compile(r"^ocid1\.(compartment|tenancy)\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+$")
#: The family whose objects live in a compartment rather than in a project (genai_fn/tenancy.py).
COMPARTMENT_FAMILY = Family.VECTOR_STORES.value
#: The name of a client the header may carry (keys.py's names, a stack id prefix, or a JWT claim).
MAX_NAME_CHARS = bounds.MAX_CLIENT_NAME_CHARS


@dataclass(frozen=True)
class Policy:
    """What one client may do; None: the global setting applies."""

    #: Names the client may ask for (models or aliases), as configured.
    models: frozenset[str] | None = None
    max_output_tokens: int | None = None
    families: frozenset[str] | None = None
    #: Token limits (genai_fn/limits/); None: the deployment's default, if any.
    tokens_per_minute: int | None = None
    token_quota: int | None = None
    token_quota_period: str | None = None
    #: The client's own Generative AI project (OpenAI-Project); None: GENAI_PROJECT_OCID.
    project: str | None = None
    #: The client's own compartment for vector stores (opc-compartment-id); None: GENAI_COMPARTMENT_OCID.
    compartment: str | None = None

    @property
    def isolated(self) -> bool:
        """Whether this client's calls go to a project of its own (and so are kept apart from others')."""
        return self.project is not None


def parse(
    raw: str, *, served: Iterable[str] | None, max_output_tokens: int, families: Iterable[str]
) -> dict[str, Policy] | None:
    """The policy table of GENAI_CLIENT_POLICIES, None when unset; ValueError saying what is wrong.

    `served` is every model name clients may use (GENAI_ALLOWED_MODELS and the
    aliases; None when any model is), `max_output_tokens` the global cap, `families` the API families
    the route table knows.
    """
    if not raw.strip():
        return None
    try:
        table = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    if not isinstance(table, dict) or not table:
        raise ValueError('must be a JSON object of client name → policy, e.g. {"alice": {"models": ["m"]}}')
    family_names = frozenset(families)
    policies: dict[str, Policy] = {}
    for name, entry in table.items():
        if not name or len(name) > MAX_NAME_CHARS:
            raise ValueError(f"client names must be 1 to {MAX_NAME_CHARS} characters, got {name[:40]!r}")
        if not isinstance(entry, dict) or set(entry) - _FIELDS:
            raise ValueError(f"{name}: a policy is an object with only {', '.join(sorted(_FIELDS))}")
        models = _names(name, entry, "models")
        if models is not None and served is not None and models - set(served):
            raise ValueError(
                f"{name}: models {', '.join(sorted(models - set(served)))} are not allowed here "
                "(GENAI_ALLOWED_MODELS and GENAI_MODEL_ALIASES)"
            )
        fams = _names(name, entry, "families")
        if fams is not None and fams - family_names:
            raise ValueError(
                f"{name}: unknown families {', '.join(sorted(fams - family_names))}; "
                f"known: {', '.join(sorted(family_names))}"
            )
        cap = entry.get("max_output_tokens")
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= max_output_tokens):
            raise ValueError(f"{name}: max_output_tokens must be 1 to GENAI_MAX_OUTPUT_TOKENS ({max_output_tokens})")
        project = _ocid(name, entry, "project", PROJECT_OCID)
        compartment = _ocid(name, entry, "compartment", COMPARTMENT_OCID)
        tpm, quota, period = token_limits(entry, f"{name}: ")
        policies[name] = Policy(
            models,
            cap,
            fams,
            tokens_per_minute=tpm,
            token_quota=quota,
            token_quota_period=period,
            project=project,
            compartment=compartment,
        )
    _check_isolation(policies)
    return policies


def _ocid(client: str, entry: Mapping[str, object], field: str, pattern: re.Pattern[str]) -> str | None:
    value = entry.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        kind = "ocid1.generativeaiproject…" if field == "project" else "ocid1.compartment…"
        raise ValueError(f"{client}: {field} must be an OCID ({kind}), got {str(value)[:80]!r}")
    return value


def _check_isolation(policies: Mapping[str, Policy]) -> None:
    """Two clients or more: each has its own project (and compartment, if it may use vector stores)."""
    if len(policies) < 2:
        return
    for field in ("project", "compartment"):
        owners: dict[str, str] = {}
        for name, policy in sorted(policies.items()):
            value = getattr(policy, field)
            needed = field == "project" or policy.families is None or COMPARTMENT_FAMILY in policy.families
            if value is None and needed:
                raise ValueError(
                    f"{name}: with {len(policies)} clients each needs a {field} of its own, so that no client "
                    f"can reach another's stored objects (terraform/clients.tf creates one per client)"
                )
            if value is not None and value in owners:
                raise ValueError(f"{name} and {owners[value]} share the {field} {value}: each client needs its own")
            if value is not None:
                owners[value] = name


def token_limits(entry: Mapping[str, object], where: str = "") -> tuple[int | None, int | None, str | None]:
    """(tokens_per_minute, token_quota, token_quota_period) of a policy entry; ValueError saying what is wrong."""
    found: list[int | None] = []
    for field, (low, high) in (("tokens_per_minute", bounds.TOKENS_PER_MINUTE), ("token_quota", bounds.TOKEN_QUOTA)):
        value = entry.get(field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
            raise ValueError(f"{where}{field} must be an integer from {low} to {high:_}")
        found.append(value)  # type: ignore[arg-type]
    period = entry.get("token_quota_period")
    if period is not None and period not in bounds.QUOTA_PERIODS:
        raise ValueError(f"{where}token_quota_period must be one of {', '.join(bounds.QUOTA_PERIODS)}")
    if (found[1] is None) != (period is None):
        raise ValueError(f"{where}token_quota and token_quota_period go together: set both or neither")
    return found[0], found[1], period  # type: ignore[return-value]


def _names(client: str, entry: Mapping[str, object], field: str) -> frozenset[str] | None:
    value = entry.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{client}: {field} must be a non-empty list of names")
    return frozenset(value)


def allows_model(policy: Policy, served_model: str, resolve: Callable[[str], str | None]) -> bool:
    """May the client use `served_model` (the name a request resolved to)?

    A listed alias lets the client use the alias and the model it stands for; a
    listed model, any alias of it: what is limited is the model that answers.
    """
    return policy.models is None or any(resolve(name) == served_model for name in policy.models)


def client_name(headers: Mapping[str, str], through_gateway: bool) -> str:
    """The client the gateway named, "" for none (or for a direct invocation, which carries no gateway header)."""
    if not through_gateway:
        return ""
    return headers.get(CLIENT_HEADER.lower(), "")[:MAX_NAME_CHARS]
