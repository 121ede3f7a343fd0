"""The whole local chain in one context manager: what `make run`, the tests and the benchmark start.

    client → Gateway (127.0.0.1, API keys) → FnRunner (fdk on a unix socket)
           → func.py, signed by an emulated resource principal → Emulator (127.0.0.1)

`function_env` is the one place the function container's environment is
built, and `Stack` the one object that starts the parts, each of which can be
handed in instead (the tests share one emulator across a session and rotate
their own principal) or left out (the benchmark starts its own containers
with `Stack.new_runner`; runner tests need no gateway).

Pointed at a real tenancy (`real=True`), the emulator and the emulated
principal are left out and the function signs with the developer's own OCI
identity (OCI_AUTH=session by default) against the real Generative AI service,
or sends their Generative AI API key (OCI_AUTH=api_key, the default when
OCI_GENAI_API_KEY or OCI_GENAI_API_KEY_FILE is set). `api_key=True` tries that
path on the emulator: no principal, and a key the emulator's issuer issued.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from authorizer import keys
from dev import image_site as site
from genai_fn.settings import API_KEY_SETTINGS, Settings, SettingsError

from . import cache as local_cache
from . import clients as local_clients
from .credentials import COMPARTMENT, PROJECT, REGION, Issuer, ResourcePrincipal
from .emulator import KNOWN_MODELS, Emulator
from .gateway import Gateway
from .runner import ROOT, FnRunner

if TYPE_CHECKING:
    import openai

FUNC = ROOT / "func.py"

#: The function's settings a developer may set for `make run`, emulated or real: what the models are
#: and how much they may write (README "Configuration"). `developer_config` passes them on.
MODEL_SETTINGS = (
    "GENAI_DEFAULT_MODEL",
    "GENAI_ALLOWED_MODELS",
    "GENAI_MODEL_ALIASES",
    "GENAI_MAX_OUTPUT_TOKENS",
    "GENAI_DEFAULT_OUTPUT_TOKENS",
    # Token limits for every client (docs/clients.md); the stack then starts a local OCI Cache.
    "GENAI_TOKENS_PER_MINUTE",
    "GENAI_TOKEN_QUOTA",
    "GENAI_TOKEN_QUOTA_PERIOD",
    "GENAI_LIMIT_FAILURE_MODE",
)
#: Settings passed through from the developer's environment in real mode: where the service is, and who signs.
REAL_SETTINGS = (
    "GENAI_PROJECT_OCID",
    "GENAI_REGION",
    "GENAI_BASE_URL",
    *MODEL_SETTINGS,
    "OCI_AUTH",
    "OCI_CONFIG_FILE",
    "OCI_CONFIG_PROFILE",
    *API_KEY_SETTINGS,
)


def developer_config(environ: Mapping[str, str]) -> dict[str, str]:
    """The MODEL_SETTINGS set in `environ`: the configuration `make run` gives the local function."""
    return {k: environ[k] for k in MODEL_SETTINGS if environ.get(k)}


def check_config(config: Mapping[str, str]) -> Settings:
    """The function's settings for `config` on an emulated stack, or SettingsError naming each bad setting.

    The function itself would answer every call with the same error; `make run` says it before starting.
    With a token limit, the local cache's settings are assumed (the stack starts it and fills them in).
    """
    store = local_cache.PLACEHOLDER if local_cache.limits_configured(config) else {}
    return Settings.from_environ({"GENAI_PROJECT_OCID": PROJECT, "GENAI_REGION": REGION, **store, **config})


def configured_models(config: Mapping[str, str]) -> frozenset[str]:
    """The models `config` names: default, allowed (unless `*`) and alias targets; none if it is invalid.

    An emulator the stack starts serves them besides its own KNOWN_MODELS, as
    the developer's region would serve the models they configure: so any
    model name can be tried locally.
    """
    try:
        settings = check_config(config)
    except SettingsError:
        return frozenset()  # the function answers every call with the setting to fix
    return frozenset({settings.default_model, *(settings.allowed_models or ()), *settings.model_aliases.values()})


def function_env(
    principal: ResourcePrincipal | None = None,
    emulator: Emulator | None = None,
    config: Mapping[str, str] | None = None,
    *,
    api_key_file: Path | None = None,
) -> dict[str, str]:
    """The function container's environment, for every local container (make run, tests, benchmark).

    Emulated (a principal and an emulator): what OCI Functions sets in a
    container (the resource principal's OCI_* and the FN_* variables, FN_MEMORY
    being the memory func.yaml declares; Oracle's "Environment Variables
    Populated by OCI Functions", docs.oracle.com/en-us/iaas/Content/Functions/
    Tasks/functionsenvironmentvariables.htm), and the configuration that points
    the function at the emulator. Real (neither): the settings REAL_SETTINGS names, from
    the developer's environment, signed with their OCI CLI session by default.
    `config` goes on top, as the application's configuration does in OCI.
    With an emulator and `api_key_file` instead of a principal: a developer's
    machine sending a Generative AI API key (OCI_AUTH=api_key), no OCI_* or FN_*
    variables (with them, the function would refuse the key as deployed).
    """
    if principal is None and emulator is None:
        env = {k: os.environ[k] for k in REAL_SETTINGS if os.environ.get(k)}
        env.setdefault("OCI_AUTH", "api_key" if any(k in env for k in API_KEY_SETTINGS) else "session")
        return {**env, **(config or {})}
    if emulator is not None and api_key_file is not None and principal is None:
        return {
            "GENAI_PROJECT_OCID": PROJECT,
            "GENAI_BASE_URL": emulator.base_url,
            "GENAI_CONTROL_BASE_URL": emulator.control_base_url,
            "GENAI_COMPARTMENT_OCID": COMPARTMENT,
            "OCI_AUTH": "api_key",
            "OCI_GENAI_API_KEY_FILE": str(api_key_file),
            **(config or {}),
        }
    if principal is None or emulator is None:
        raise ValueError("an emulated function needs both a resource principal and an emulator")
    return {
        **principal.environ(),
        "GENAI_PROJECT_OCID": PROJECT,
        "GENAI_BASE_URL": emulator.base_url,
        # Vector store management goes to OCI's control plane, which needs the compartment.
        "GENAI_CONTROL_BASE_URL": emulator.control_base_url,
        "GENAI_COMPARTMENT_OCID": COMPARTMENT,
        **(config or {}),
    }


@dataclass(frozen=True)
class ApiKeys:
    """One client's API key and the hash configuration the authorizer checks it against."""

    client: str
    key: str
    config: str

    @classmethod
    def generate(cls, client: str) -> ApiKeys:
        key = keys.new_key()
        return cls(client, key, f"{client}:{keys.hash_key(key)}")

    def authenticate(self, headers: Mapping[str, str]) -> str | None:
        """The authorizer's decision for a request's headers: the client's name, or None."""
        header = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        return keys.authenticate(header, keys.parse_hashes(self.config))


class Stack:
    """Emulator, credentials, function containers and gateway, started together and stopped together.

    Parts handed in (`issuer`, `emulator`, `principal`) are used and left
    running; parts the stack starts, it stops. An emulator it starts also
    serves the models `config` names (`configured_models`). `config` is the function's
    configuration on top of `function_env`'s; `func_path` another function
    (the runner tests' misbehaving one); `runner_class` an FnRunner subclass.
    """

    def __init__(
        self,
        *,
        containers: int = 1,
        gateway: bool = True,
        prefix: str = "",
        config: Mapping[str, str] | None = None,
        real: bool = False,
        echo_logs: bool = False,
        port: int = 0,
        timeout_s: float = 120.0,
        image: bool = True,
        func_path: Path = FUNC,
        runner_class: type[FnRunner] = FnRunner,
        issuer: Issuer | None = None,
        emulator: Emulator | None = None,
        principal: ResourcePrincipal | None = None,
        cache: local_cache.LocalCache | None = None,
        api_clients: Mapping[str, Mapping[str, Any]] | None = None,
        cors_allowed_origins: tuple[str, ...] = (),
        invocation_log: Path | None = None,
        api_key: bool = False,
    ) -> None:
        if gateway and containers < 1:
            raise ValueError("the gateway needs at least one function container")
        if real and (emulator or principal or api_key):
            raise ValueError("a real stack has no emulator and no emulated principal (--real takes your own key)")
        if api_key and principal:
            raise ValueError("an API-key stack has no resource principal")
        issuers = {id(i): i for i in (issuer, emulator and emulator.issuer, principal and principal.issuer) if i}
        if len(issuers) > 1:
            raise ValueError("the emulator must trust the issuer of the principal's tokens")
        self.containers = containers
        self.with_gateway = gateway
        self.prefix = prefix
        self.config = dict(config or {})
        self.real = real
        self.echo_logs = echo_logs
        self.port = port
        self.timeout_s = timeout_s
        #: Run as the image does: trimmed dependencies under python -S, the Dockerfile's entry point.
        self.image = image
        self.func_path = func_path
        self.runner_class = runner_class
        #: Every container appends its invocation lines here (`make run`: usage_metrics/report.py's INVOCATIONS).
        self.invocation_log = invocation_log
        self.site_dir: Path | None = None
        self.entrypoint: list[str] | None = None
        self.api_keys = ApiKeys.generate("local")
        #: api_clients entries (terraform/variables.tf; `make run` reads dev/local/clients.py's file): each gets
        #: a key of its own, and its policy reaches the function as Terraform renders it (GENAI_CLIENT_POLICIES).
        self.api_clients = {k: dict(v) for k, v in (api_clients or {}).items()}
        self.client_keys = local_clients.KeyRing.generate(list(self.api_clients))
        self.cors_allowed_origins = cors_allowed_origins
        # The stack's own client ("local", what `client()` and `openai()` use) is one more client, unrestricted.
        policies = local_clients.stack_policies(self.api_clients, real=real) if self.api_clients else ""
        if policies:
            self.config.setdefault("GENAI_CLIENT_POLICIES", policies)
        #: The clients' own projects (two clients or more): the emulator is made to have them, as Terraform makes them.
        self.client_projects = local_clients.projects(self.config.get("GENAI_CLIENT_POLICIES", ""))
        self.issuer: Issuer | None = next(iter(issuers.values()), None)
        self.principal = principal
        self.emulator = emulator
        #: The local OCI Cache (Valkey) holding token-limit counters: started only when a limit is configured.
        self.cache = cache
        #: Send a Generative AI API key the emulator's issuer issued (OCI_AUTH=api_key) instead of signing.
        self.api_key = api_key
        #: The file holding that key (OCI_GENAI_API_KEY_FILE), in a private folder removed on stop.
        self.api_key_file: Path | None = None
        self.env: dict[str, str] = {}
        self.runners: list[FnRunner] = []
        self.gateway: Gateway | None = None
        self._exit = ExitStack()

    def start(self) -> Stack:
        try:
            if not self.real:
                self.issuer = self.issuer or Issuer()
                if self.api_key:
                    self.api_key_file = self._write_api_key(self.issuer.issue_api_key())
                elif self.principal is None:
                    self.principal = self._exit.enter_context(ResourcePrincipal(self.issuer))
                if self.emulator is None:
                    models = KNOWN_MODELS | configured_models(self.config)
                    self.emulator = self._exit.enter_context(Emulator(self.issuer, models=models))
                for project in sorted(self.client_projects):
                    self.emulator.add_project(project)
                if self.cache is None and local_cache.limits_configured(self.config):
                    self.cache = self._exit.enter_context(local_cache.LocalCache(self.issuer))
                if self.cache is not None:
                    self.config = {**self.cache.function_config(), **self.config}
            self.env = function_env(self.principal, self.emulator, self.config, api_key_file=self.api_key_file)
            if self.image:
                self.site_dir = site.build()
                self.entrypoint = site.entrypoint()
            for _ in range(self.containers):
                self.runners.append(self._exit.enter_context(self.new_runner()))
            if self.with_gateway:
                self.gateway = self._exit.enter_context(
                    Gateway(
                        self.runners,
                        authenticate=self._authenticate,
                        prefix=self.prefix,
                        port=self.port,
                        cors_allowed_origins=self.cors_allowed_origins,
                    )
                )
        except BaseException:
            self.stop()
            raise
        return self

    def _write_api_key(self, key: str) -> Path:
        """The key in a file only its owner reads, in a folder removed when the stack stops."""
        folder = Path(tempfile.mkdtemp(prefix="genai-api-key-"))  # mode 0700
        self._exit.callback(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "api_key"
        path.touch(mode=0o600)
        path.write_text(key + "\n")
        return path

    def new_runner(self, config: Mapping[str, str] | None = None, **fields: Any) -> FnRunner:
        """A function container on this stack's environment plus `config`; not started (`with` starts it).

        `fields` replace the stack's choices of FnRunner's fields (func_path,
        site_dir, entrypoint, timeout_s, ...). The caller stops what it starts.
        """
        chosen: dict[str, Any] = {
            "func_path": self.func_path,
            "env": {**self.env, **(config or {})},
            "timeout_s": self.timeout_s,
            "echo_logs": self.echo_logs,
            "site_dir": self.site_dir,
            "entrypoint": self.entrypoint,
            "invocation_log": self.invocation_log,
            **fields,
        }
        return self.runner_class(**chosen)

    def _authenticate(self, headers: Mapping[str, str]) -> str | None:
        """The stack's own client ("local"), then the api_clients, as the one authorizer of the deployment."""
        return self.api_keys.authenticate(headers) or self.client_keys.authenticate(headers)

    @property
    def runner(self) -> FnRunner:
        """The first (or only) function container."""
        return self.runners[0]

    @property
    def base_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.base_url

    def client(self, *, auth: bool = True, **options: Any) -> httpx.Client:
        """An HTTP client on the gateway's base URL, with the API key as a Bearer token unless `auth=False`."""
        headers = {"Authorization": f"Bearer {self.api_keys.key}"} if auth else {}
        client = httpx.Client(base_url=self.base_url, headers=headers, **options)
        self._exit.callback(client.close)
        return client

    def openai(self) -> openai.OpenAI:
        """The OpenAI SDK on the gateway, with the API key; no SDK retries, so every answer is the function's."""
        import openai  # here: the benchmark and the runner tests need no SDK

        client = openai.OpenAI(base_url=self.base_url + "/v1", api_key=self.api_keys.key, max_retries=0)
        self._exit.callback(client.close)
        return client

    def stop(self) -> None:
        self._exit.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
