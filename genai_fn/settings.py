"""Every setting the function reads, validated in one place.

Fn delivers application and function configuration as environment variables,
next to the `OCI_RESOURCE_PRINCIPAL_*` variables the platform sets. This module
is the only one that reads them. `Settings.from_environ` either returns a
complete, valid `Settings` or raises `SettingsError` naming every bad setting,
so a misconfigured deployment fails on its first call with a message that says
exactly what to fix.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from . import bounds, clients
from .bounds import (
    AUTH_MODES,
    DEFAULT_BREAKER_COOLDOWN_S,
    DEFAULT_BREAKER_FAILURES,
    DEFAULT_FAILOVER_SHARE,
    DEFAULT_MODEL,
    LOG_LEVELS,
)
from .bounds import FUNCTIONS_PAYLOAD_LIMIT as FUNCTIONS_PAYLOAD_LIMIT  # upstream.py and dev/ import it from here
from .families import Family

#: A Generative AI API key (OCI_AUTH=api_key, local development only), as a value or as a file holding it.
API_KEY_SETTINGS = ("OCI_GENAI_API_KEY", "OCI_GENAI_API_KEY_FILE")
#: Set in every OCI Functions container (Oracle's "Environment Variables Populated by OCI Functions",
#: https://docs.oracle.com/en-us/iaas/Content/Functions/Tasks/functionsenvironmentvariables.htm, and the
#: resource principal's): any of them means the function is deployed, where an API key is refused.
DEPLOYED_MARKERS = ("OCI_RESOURCE_PRINCIPAL_VERSION", "FN_APP_ID", "FN_FN_ID")
#: What a key must look like to travel in a header: printable ASCII without spaces.
_API_KEY = re.compile(r"^[\x21-\x7e]{8,4096}$")
DEFAULT_REALM_DOMAIN = "oraclecloud.com"

_PROJECT_OCID = clients.PROJECT_OCID
_COMPARTMENT_OCID = clients.COMPARTMENT_OCID
_REGION = re.compile(r"^[a-z]{2,}-[a-z]+-[0-9]+$")
_MODEL = re.compile(bounds.MODEL_NAME)
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")

T = TypeVar("T")
_OCID = re.compile(r"^ocid1\.[a-z0-9]+\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")


@dataclass(frozen=True)
class FallbackRegion:
    """A region a call that stores nothing may be sent to when the home region fails (docs/failover.md)."""

    region: str
    project_ocid: str
    base_url: str
    #: The models served there (GENAI_FALLBACK_MODELS); `None`: the same as the home region.
    models: frozenset[str] | None = None

    def serves(self, model: str) -> bool:
        return self.models is None or model in self.models


@dataclass(frozen=True)
class LimitSettings:
    """Token limits (genai_fn/limits/) and the store that holds their counters (OCI Cache, docs/clients.md)."""

    #: Deployment-wide defaults; a client's own policy field wins. None: no such limit.
    tokens_per_minute: int | None
    token_quota: int | None
    token_quota_period: str | None
    #: "host:port" of the Valkey/Redis endpoint (GENAI_LIMIT_STORE).
    store: str
    tls: bool
    #: The OCI Cache user: its name (AUTH's username) and OCID (named in the identity-token request).
    user: str
    user_id: str
    cluster_id: str
    #: Where CreateIdentityToken is served: OCI Cache's API in the region, or the local stack's emulator.
    identity_endpoint: str
    failure_mode: str
    timeout_s: float


class SettingsError(Exception):
    """One or more settings are missing or invalid.

    `problems` maps each offending setting's name to what is wrong with it.
    """

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = "; ".join(f"{name}: {problem}" for name, problem in self.problems.items())
        super().__init__(f"invalid function configuration: {lines}")


@dataclass(frozen=True)
class Settings:
    """The function's configuration, complete and valid."""

    project_ocid: str
    region: str
    base_url: str
    #: Where OCI serves vector store create/list/retrieve/update/delete (its control plane).
    control_base_url: str
    #: Sent as opc-compartment-id to the control plane; only vector store management needs it.
    compartment_ocid: str
    default_model: str
    #: `None` means any model is allowed (GENAI_ALLOWED_MODELS=*).
    allowed_models: frozenset[str] | None
    #: Client-side model names mapped to served ones (GENAI_MODEL_ALIASES), e.g. gpt-4o-mini → openai.gpt-oss-20b.
    model_aliases: Mapping[str, str]
    #: A cap on the output tokens a request asks for; never injected.
    max_output_tokens: int
    #: Injected when a request names no output limit; 0: inject nothing (the model's own default).
    default_output_tokens: int
    max_body_bytes: int
    max_retries: int
    attempt_timeout_s: float
    deadline_margin_s: float
    log_level: str
    log_prompts: bool
    eager_start: bool
    auth_mode: str
    oci_config_file: str
    oci_profile: str
    #: Regions tried in order after the home region for calls that store nothing; () = failover off.
    fallback_regions: tuple[FallbackRegion, ...] = ()
    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_cooldown_s: float = DEFAULT_BREAKER_COOLDOWN_S
    failover_share: float = DEFAULT_FAILOVER_SHARE
    #: Per-client policy (GENAI_CLIENT_POLICIES, see genai_fn/clients.py); None: every client gets the above.
    client_policies: Mapping[str, clients.Policy] | None = None
    #: None when no client and no default has a token limit: nothing about the store is read or imported.
    limits: LimitSettings | None = None
    #: The Generative AI API key of OCI_AUTH=api_key (local development only); "" otherwise. Never shown.
    api_key: str = dataclasses.field(default="", repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every setting, or raise `SettingsError` naming each bad one."""
        reader = _Reader(environ)
        project = reader.text("GENAI_PROJECT_OCID", required=True)
        if project and not _PROJECT_OCID.match(project):
            reader.fail(
                "GENAI_PROJECT_OCID",
                f"must be a Generative AI project OCID (ocid1.generativeaiproject...), got {project!r}",
            )

        base_url = reader.text("GENAI_BASE_URL").rstrip("/")
        if base_url and not base_url.startswith(("https://", "http://")):
            reader.fail("GENAI_BASE_URL", f"must be an http(s) URL, got {base_url!r}")
        region = reader.text("GENAI_REGION") or reader.text("OCI_RESOURCE_PRINCIPAL_REGION")
        if region and not _REGION.match(region):
            reader.fail("GENAI_REGION", f"must be an OCI region identifier like us-chicago-1, got {region!r}")
        if not region and not base_url:
            reader.fail(
                "GENAI_REGION",
                "is required (OCI_RESOURCE_PRINCIPAL_REGION is not set either, so the region is unknown)",
            )
        domain = _realm_domain(reader) if region else DEFAULT_REALM_DOMAIN
        if not base_url and region:
            base_url = f"https://inference.generativeai.{region}.oci.{domain}/openai/v1"
        control_base_url = reader.text("GENAI_CONTROL_BASE_URL").rstrip("/")
        if control_base_url and not control_base_url.startswith(("https://", "http://")):
            reader.fail("GENAI_CONTROL_BASE_URL", f"must be an http(s) URL, got {control_base_url!r}")
        if not control_base_url and region:
            # Oracle's QuickStart endpoint table: vector store CRUD is served by the control plane.
            control_base_url = f"https://generativeai.{region}.oci.{domain}/20231130/openai/v1"
        compartment = reader.text("GENAI_COMPARTMENT_OCID")
        if compartment and not _COMPARTMENT_OCID.match(compartment):
            reader.fail("GENAI_COMPARTMENT_OCID", f"must be a compartment or tenancy OCID, got {compartment!r}")

        default_model = reader.text("GENAI_DEFAULT_MODEL") or DEFAULT_MODEL
        if not _MODEL.match(default_model):
            reader.fail("GENAI_DEFAULT_MODEL", f"is not a valid model name: {default_model!r}")
        allowed_models = _allowed_models(reader, default_model)
        aliases = _model_aliases(reader, allowed_models)
        max_output_tokens = reader.number(
            "GENAI_MAX_OUTPUT_TOKENS", int, bounds.DEFAULT_MAX_OUTPUT_TOKENS, *bounds.MAX_OUTPUT_TOKENS
        )
        default_output_tokens = reader.number(
            "GENAI_DEFAULT_OUTPUT_TOKENS", int, bounds.INJECT_NO_OUTPUT_TOKENS, *bounds.DEFAULT_OUTPUT_TOKENS
        )
        if default_output_tokens > max_output_tokens:
            reader.fail(
                "GENAI_DEFAULT_OUTPUT_TOKENS",
                f"must not exceed GENAI_MAX_OUTPUT_TOKENS ({max_output_tokens}), got {default_output_tokens}",
            )

        settings = cls(
            project_ocid=project,
            region=region,
            base_url=base_url,
            control_base_url=control_base_url,
            compartment_ocid=compartment,
            default_model=default_model,
            allowed_models=allowed_models,
            model_aliases=aliases,
            max_output_tokens=max_output_tokens,
            default_output_tokens=default_output_tokens,
            max_body_bytes=reader.number("GENAI_MAX_BODY_BYTES", int, FUNCTIONS_PAYLOAD_LIMIT, *bounds.MAX_BODY_BYTES),
            max_retries=reader.number("GENAI_MAX_RETRIES", int, bounds.DEFAULT_MAX_RETRIES, *bounds.MAX_RETRIES),
            attempt_timeout_s=reader.number(
                "GENAI_TIMEOUT_SECONDS", float, bounds.DEFAULT_ATTEMPT_TIMEOUT_S, *bounds.ATTEMPT_TIMEOUT_S
            ),
            deadline_margin_s=reader.number(
                "GENAI_DEADLINE_MARGIN_MS", int, bounds.DEFAULT_DEADLINE_MARGIN_MS, *bounds.DEADLINE_MARGIN_MS
            )
            / 1000,
            log_level=reader.choice("GENAI_LOG_LEVEL", LOG_LEVELS, bounds.DEFAULT_LOG_LEVEL, upper=True),
            log_prompts=reader.flag("GENAI_LOG_PROMPTS", default=False),
            eager_start=reader.flag("GENAI_EAGER_START", default=False),
            auth_mode=reader.choice("OCI_AUTH", AUTH_MODES, bounds.DEFAULT_AUTH_MODE),
            oci_config_file=reader.text("OCI_CONFIG_FILE") or "~/.oci/config",
            oci_profile=reader.text("OCI_CONFIG_PROFILE") or "DEFAULT",
            fallback_regions=_fallback_regions(reader, region, domain),
            breaker_failures=reader.number(
                "GENAI_BREAKER_FAILURES", int, DEFAULT_BREAKER_FAILURES, *bounds.BREAKER_FAILURES
            ),
            breaker_cooldown_s=reader.number(
                "GENAI_BREAKER_COOLDOWN_SECONDS", float, DEFAULT_BREAKER_COOLDOWN_S, *bounds.BREAKER_COOLDOWN_S
            ),
            failover_share=reader.number("GENAI_FAILOVER_SHARE", float, DEFAULT_FAILOVER_SHARE, *bounds.FAILOVER_SHARE),
        )
        settings = _with_client_policies(reader, settings)
        settings = dataclasses.replace(settings, limits=_limits(reader, settings, domain))
        settings = dataclasses.replace(settings, api_key=_api_key(reader, settings.auth_mode))
        reader.raise_if_failed()
        return settings

    def model_allowed(self, model: str) -> bool:
        return self.allowed_models is None or model in self.allowed_models

    def resolve_model(self, requested: str) -> str | None:
        """The model a request's name stands for (aliases applied), or None when it is not allowed here."""
        model = self.model_aliases.get(requested, requested)
        return model if self.model_allowed(model) else None

    def served_models(self) -> list[str]:
        """Every name a client may use, aliases included (`*` lists the default model and the aliases)."""
        names = {self.default_model, *(self.allowed_models or ()), *self.model_aliases}
        return sorted(names)

    def summary(self) -> dict[str, object]:
        """The non-secret facts worth showing on /health and in the start-up log."""
        return {
            "model": self.default_model,
            "allowed_models": "*" if self.allowed_models is None else sorted(self.allowed_models),
            "region": self.region or None,
            "base_url": self.base_url,
            "project_configured": bool(self.project_ocid),
            "model_aliases": dict(self.model_aliases),
            "max_output_tokens": self.max_output_tokens,
            "default_output_tokens": self.default_output_tokens or None,
            "max_body_bytes": self.max_body_bytes,
            "eager_start": self.eager_start,
            **({"fallback_regions": [r.region for r in self.fallback_regions]} if self.fallback_regions else {}),
            "clients_with_policy": None if self.client_policies is None else len(self.client_policies),
            **({"limit_store": self.limits.store, "limit_failure": self.limits.failure_mode} if self.limits else {}),
        }


def _with_client_policies(reader: _Reader, settings: Settings) -> Settings:
    try:
        policies = clients.parse(
            reader.text("GENAI_CLIENT_POLICIES"),
            served=None if settings.allowed_models is None else settings.served_models(),
            max_output_tokens=settings.max_output_tokens,
            families=(f.value for f in Family),
        )
    except ValueError as exc:
        reader.fail(clients.SETTING, str(exc))
        return settings
    return dataclasses.replace(settings, client_policies=policies)


def _limits(reader: _Reader, settings: Settings, domain: str) -> LimitSettings | None:
    """GENAI_TOKENS_PER_MINUTE, GENAI_TOKEN_QUOTA(_PERIOD) and the GENAI_LIMIT_* store settings.

    None when neither a default nor any client's policy sets a limit: then the store is never reached.
    """
    defaults: dict[str, object] = {}
    if reader.text("GENAI_TOKENS_PER_MINUTE"):
        defaults["tokens_per_minute"] = (
            reader.number("GENAI_TOKENS_PER_MINUTE", int, 0, *bounds.TOKENS_PER_MINUTE) or None
        )
    if reader.text("GENAI_TOKEN_QUOTA"):
        defaults["token_quota"] = reader.number("GENAI_TOKEN_QUOTA", int, 0, *bounds.TOKEN_QUOTA) or None
    if reader.text("GENAI_TOKEN_QUOTA_PERIOD"):
        defaults["token_quota_period"] = reader.choice("GENAI_TOKEN_QUOTA_PERIOD", bounds.QUOTA_PERIODS, "")
    try:
        tpm, quota, period = clients.token_limits(defaults)
    except ValueError:
        reader.fail("GENAI_TOKEN_QUOTA_PERIOD", "GENAI_TOKEN_QUOTA and GENAI_TOKEN_QUOTA_PERIOD go together: set both")
        tpm, quota, period = defaults.get("tokens_per_minute"), None, None  # type: ignore[assignment]
    failure_mode = reader.choice("GENAI_LIMIT_FAILURE_MODE", bounds.FAILURE_MODES, bounds.DEFAULT_FAILURE_MODE)
    low, high = bounds.STORE_TIMEOUT_MS
    timeout_ms = reader.number("GENAI_LIMIT_STORE_TIMEOUT_MS", int, bounds.DEFAULT_STORE_TIMEOUT_MS, low, high)
    policies = settings.client_policies or {}
    if tpm is None and quota is None and not any(p.tokens_per_minute or p.token_quota for p in policies.values()):
        return None
    store = reader.text("GENAI_LIMIT_STORE")
    if not store:
        reader.fail("GENAI_LIMIT_STORE", "is required when a token limit is configured (host:port of OCI Cache)")
    elif not _HOST_PORT.match(store):
        reader.fail("GENAI_LIMIT_STORE", f"must be host:port, got {store!r}")
    user = reader.text("GENAI_LIMIT_STORE_USER", required=True)
    ids = {
        "GENAI_LIMIT_STORE_USER_ID": reader.text("GENAI_LIMIT_STORE_USER_ID", required=True),
        "GENAI_LIMIT_STORE_CLUSTER_ID": reader.text("GENAI_LIMIT_STORE_CLUSTER_ID", required=True),
    }
    for name, value in ids.items():
        if value and not _OCID.match(value):
            reader.fail(name, f"must be an OCID, got {value!r}")
    endpoint = reader.text("GENAI_LIMIT_IDENTITY_ENDPOINT").rstrip("/")
    if endpoint and not endpoint.startswith(("https://", "http://")):
        reader.fail("GENAI_LIMIT_IDENTITY_ENDPOINT", f"must be an http(s) URL, got {endpoint!r}")
    if not endpoint:
        # The oci SDK's RedisIdentityClient: https://redis.{region}.oci.{secondLevelDomain}, base path /20220315.
        endpoint = f"https://redis.{settings.region}.oci.{domain}/20220315"
    return LimitSettings(
        tokens_per_minute=tpm,
        token_quota=quota,
        token_quota_period=period,
        store=store,
        tls=reader.flag("GENAI_LIMIT_STORE_TLS", default=True),
        user=user,
        user_id=ids["GENAI_LIMIT_STORE_USER_ID"],
        cluster_id=ids["GENAI_LIMIT_STORE_CLUSTER_ID"],
        identity_endpoint=endpoint,
        failure_mode=failure_mode,
        timeout_s=timeout_ms / 1000,
    )


def _api_key(reader: _Reader, auth_mode: str) -> str:
    """The API key of OCI_AUTH=api_key, read once; refused in a deployed function. Never quoted in an error.

    Oracle offers two ways to reach the OpenAI-compatible endpoint: "Use API keys for testing and early
    development. Use IAM-based authentication for production workloads and OCI-managed environments"
    (https://docs.oracle.com/en-us/iaas/Content/generative-ai/oci-genai-auth.htm). A key in a deployed
    function would sit in its configuration, readable by whoever may read the function: refused there.
    """
    named = [name for name in API_KEY_SETTINGS if reader.text(name)]
    deployed = [name for name in DEPLOYED_MARKERS if reader.text(name)]
    if deployed and (auth_mode == "api_key" or named):
        reader.fail(
            "OCI_AUTH" if auth_mode == "api_key" else named[0],
            f"an API key is for local development only, and this function runs in OCI Functions ({deployed[0]} is "
            "set): it signs with its resource principal. Remove OCI_AUTH=api_key and OCI_GENAI_API_KEY(_FILE).",
        )
        return ""
    if auth_mode != "api_key":
        return ""
    if len(named) != 1:
        reader.fail(
            "OCI_GENAI_API_KEY",
            "OCI_AUTH=api_key needs the key: set exactly one of OCI_GENAI_API_KEY (the key) or "
            "OCI_GENAI_API_KEY_FILE (a file holding it)" + (", not both" if named else ""),
        )
        return ""
    if named[0] == "OCI_GENAI_API_KEY":
        key, where = reader.text("OCI_GENAI_API_KEY"), "OCI_GENAI_API_KEY"
    else:
        path, where = reader.text("OCI_GENAI_API_KEY_FILE"), "OCI_GENAI_API_KEY_FILE"
        try:
            with open(os.path.expanduser(path), encoding="ascii") as f:
                key = f.read(8192).strip()
        except (OSError, UnicodeDecodeError) as exc:
            reader.fail(where, f"cannot read {path}: {type(exc).__name__}")
            return ""
    if not _API_KEY.match(key):
        # Not quoted: the value is a secret, whatever is wrong with it.
        reader.fail(where, "is not an API key (8 to 4096 printable characters, no spaces)")
        return ""
    return key


def _realm_domain(reader: _Reader) -> str:
    # Sovereign and government realms use another domain than oraclecloud.com;
    # OCI Functions says which in OCI_REGION_METADATA.
    raw = reader.text("OCI_REGION_METADATA")
    if not raw:
        return DEFAULT_REALM_DOMAIN
    try:
        domain = json.loads(raw).get("realmDomainComponent", DEFAULT_REALM_DOMAIN)
    except (ValueError, AttributeError):
        reader.fail("OCI_REGION_METADATA", "is not a JSON object")
        return DEFAULT_REALM_DOMAIN
    if not isinstance(domain, str) or not _DOMAIN.match(domain):
        reader.fail("OCI_REGION_METADATA", f"has an invalid realmDomainComponent: {domain!r}")
        return DEFAULT_REALM_DOMAIN
    return domain


def _fallback_regions(reader: _Reader, home: str, domain: str) -> tuple[FallbackRegion, ...]:
    """GENAI_FALLBACK_REGIONS (`region=project_ocid,...`, or a JSON list of {"region", "project", "base_url"})
    and GENAI_FALLBACK_MODELS (`region=model|model,...`).

    A fallback's base URL is derived as the home region's is (same realm domain),
    unless a JSON entry gives one (the local stack's second emulator does).
    """
    raw = reader.text("GENAI_FALLBACK_REGIONS")
    name = "GENAI_FALLBACK_REGIONS"
    entries: list[tuple[str, str, str]] = []
    if raw.startswith("["):
        try:
            listed = json.loads(raw)
        except ValueError:
            listed = None
        if not isinstance(listed, list) or not all(isinstance(e, dict) for e in listed):
            reader.fail(name, 'must be a JSON list of {"region", "project", "base_url"} objects')
            return ()
        for e in listed:
            values = [e.get(key, "") for key in ("region", "project", "base_url")]
            if not all(isinstance(v, str) for v in values) or set(e) - {"region", "project", "base_url"}:
                reader.fail(name, f'entries have a string "region", "project" and optional "base_url"; got {e!r}')
                return ()
            entries.append((values[0].strip(), values[1].strip(), values[2].strip().rstrip("/")))
    else:
        for entry in (e.strip() for e in raw.split(",")):
            if entry:
                region, sep, project = (part.strip() for part in entry.partition("="))
                entries.append((region, project if sep else "", ""))
    regions: list[FallbackRegion] = []
    for region, project, base_url in entries:
        if not _REGION.match(region):
            reader.fail(name, f"{region!r} is not an OCI region identifier like us-ashburn-1")
        elif region == home or region in (r.region for r in regions):
            reader.fail(name, f"names {region} twice (the home region, GENAI_REGION, counts)")
        elif not _PROJECT_OCID.match(project):
            reader.fail(name, f"{region} needs its own Generative AI project OCID (region=ocid1.generativeaiproject…)")
        elif base_url and not base_url.startswith(("https://", "http://")):
            reader.fail(name, f"{region}'s base_url must be an http(s) URL, got {base_url!r}")
        else:
            url = base_url or f"https://inference.generativeai.{region}.oci.{domain}/openai/v1"
            regions.append(FallbackRegion(region, project, url))
    models = _fallback_models(reader, {r.region for r in regions})
    return tuple(FallbackRegion(r.region, r.project_ocid, r.base_url, models.get(r.region)) for r in regions)


def _fallback_models(reader: _Reader, regions: set[str]) -> dict[str, frozenset[str]]:
    name = "GENAI_FALLBACK_MODELS"
    found: dict[str, frozenset[str]] = {}
    for entry in (e.strip() for e in reader.text("GENAI_FALLBACK_MODELS").split(",")):
        if not entry:
            continue
        region, sep, listed = (part.strip() for part in entry.partition("="))
        models = frozenset(m.strip() for m in listed.split("|") if m.strip())
        if not sep or not models or not all(_MODEL.match(m) for m in models):
            reader.fail(name, f"entries are region=model|model, separated by commas; got {entry!r}")
        elif region not in regions:
            reader.fail(name, f"names {region!r}, which is not in GENAI_FALLBACK_REGIONS")
        else:
            found[region] = models
    return found


def _allowed_models(reader: _Reader, default_model: str) -> frozenset[str] | None:
    raw = reader.text("GENAI_ALLOWED_MODELS")
    if raw == "*":
        return None
    models = {m.strip() for m in raw.split(",") if m.strip()} or {default_model}
    bad = sorted(m for m in models if not _MODEL.match(m))
    if bad:
        reader.fail("GENAI_ALLOWED_MODELS", f"has invalid model names: {', '.join(bad)}")
    if default_model not in models:
        reader.fail("GENAI_ALLOWED_MODELS", f"does not include GENAI_DEFAULT_MODEL ({default_model})")
    return frozenset(models)


def _model_aliases(reader: _Reader, allowed: frozenset[str] | None) -> dict[str, str]:
    raw = reader.text("GENAI_MODEL_ALIASES")
    aliases: dict[str, str] = {}
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        name, sep, target = (part.strip() for part in entry.partition("="))
        if not sep or not _MODEL.match(name) or not _MODEL.match(target):
            reader.fail("GENAI_MODEL_ALIASES", f"entries are name=model, separated by commas; got {entry!r}")
            continue
        if allowed is not None and target not in allowed:
            reader.fail("GENAI_MODEL_ALIASES", f"maps {name} to {target}, which GENAI_ALLOWED_MODELS does not allow")
        aliases[name] = target
    return aliases


class _Reader:
    """Reads settings from the environment and collects every problem before raising."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._problems: dict[str, str] = {}

    def fail(self, name: str, problem: str) -> None:
        self._problems.setdefault(name, problem)

    def raise_if_failed(self) -> None:
        if self._problems:
            raise SettingsError(self._problems)

    def text(self, name: str, *, required: bool = False) -> str:
        value = self._environ.get(name, "").strip()
        if required and not value:
            self.fail(name, "is required but not set")
        return value

    def number(self, name: str, kind: Callable[[str], T], default: T, low: float, high: float) -> T:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = kind(raw)
        except ValueError:
            self.fail(name, f"must be a number, got {raw!r}")
            return default
        if not low <= value <= high:  # type: ignore[operator]
            self.fail(name, f"must be between {low:.12g} and {high:.12g}, got {raw}")
            return default
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str, *, upper: bool = False) -> str:
        raw = self.text(name)
        value = (raw.upper() if upper else raw.lower()) or default
        if value not in choices:
            self.fail(name, f"must be one of {', '.join(choices)}, got {raw!r}")
            return default
        return value

    def flag(self, name: str, *, default: bool) -> bool:
        raw = self.text(name).lower()
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        self.fail(name, f"must be true or false, got {raw!r}")
        return default
