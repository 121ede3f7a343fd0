"""The whole local chain in one context manager: what `make run`, the tests and the benchmark start.

    client → Gateway (127.0.0.1, API keys) → FnRunner (fdk on a unix socket)
           → func.py, signed by an emulated resource principal → Emulator (127.0.0.1)

Pointed at a real tenancy (`real=True`), the emulator and the emulated
principal are left out and the function signs with the developer's own OCI
identity (OCI_AUTH=session by default) against the real Generative AI service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from authorizer import keys
from dev import image_site as site

from .credentials import COMPARTMENT, PROJECT, Issuer, ResourcePrincipal
from .emulator import Emulator
from .gateway import Gateway
from .runner import FnRunner

#: Settings passed through from the developer's environment in real mode.
REAL_SETTINGS = (
    "GENAI_PROJECT_OCID",
    "GENAI_REGION",
    "GENAI_BASE_URL",
    "GENAI_DEFAULT_MODEL",
    "GENAI_ALLOWED_MODELS",
    "GENAI_MAX_OUTPUT_TOKENS",
    "OCI_AUTH",
    "OCI_CONFIG_FILE",
    "OCI_CONFIG_PROFILE",
)


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
    """Emulator, function containers and gateway, started together and stopped together."""

    def __init__(
        self,
        *,
        containers: int = 1,
        prefix: str = "",
        config: Mapping[str, str] | None = None,
        real: bool = False,
        echo_logs: bool = False,
        port: int = 0,
        timeout_s: float = 120.0,
        image: bool = True,
    ) -> None:
        self.containers = containers
        self.prefix = prefix
        self.config = dict(config or {})
        self.real = real
        self.echo_logs = echo_logs
        self.port = port
        self.timeout_s = timeout_s
        #: Run as the image does: trimmed dependencies under python -S, the Dockerfile's entry point.
        self.image = image
        self.site_dir: Path | None = None
        self.api_keys = ApiKeys.generate("local")
        self.issuer: Issuer | None = None
        self.principal: ResourcePrincipal | None = None
        self.emulator: Emulator | None = None
        self.runners: list[FnRunner] = []
        self.gateway: Gateway | None = None
        self._exit = ExitStack()

    def start(self) -> Stack:
        try:
            env = self._function_env()
            entry: list[str] | None = None
            if self.image:
                self.site_dir = site.build()
                entry = site.entrypoint()
            for _ in range(self.containers):
                runner = FnRunner(
                    env=env,
                    echo_logs=self.echo_logs,
                    timeout_s=self.timeout_s,
                    site_dir=self.site_dir,
                    entrypoint=entry,
                )
                self.runners.append(self._exit.enter_context(runner))
            self.gateway = self._exit.enter_context(
                Gateway(self.runners, authenticate=self.api_keys.authenticate, prefix=self.prefix, port=self.port)
            )
        except BaseException:
            self.stop()
            raise
        return self

    def _function_env(self) -> dict[str, str]:
        if self.real:
            env = {k: os.environ[k] for k in REAL_SETTINGS if os.environ.get(k)}
            env.setdefault("OCI_AUTH", "session")
            return {**env, **self.config}
        self.issuer = Issuer()
        self.principal = self._exit.enter_context(ResourcePrincipal(self.issuer))
        self.emulator = self._exit.enter_context(Emulator(self.issuer))
        return {
            **self.principal.environ(),
            "GENAI_PROJECT_OCID": PROJECT,
            "GENAI_BASE_URL": self.emulator.base_url,
            "GENAI_CONTROL_BASE_URL": self.emulator.control_base_url,
            "GENAI_COMPARTMENT_OCID": COMPARTMENT,
            **self.config,
        }

    @property
    def base_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.base_url

    def stop(self) -> None:
        self._exit.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
