"""The authorizer's configuration: read once per container, validated, errors naming the setting.

OCI Functions hands a function its application and function configuration as
environment variables ("Environment Variables Populated by OCI Functions",
https://docs.oracle.com/en-us/iaas/Content/Functions/Tasks/functionsenvironmentvariables.htm);
terraform/functions.tf sets these two:

    API_KEY_HASHES            required: client:sha256hex,... (keys.py); hashes, never keys
    AUTHORIZER_CACHE_SECONDS  default 300: how long API Gateway may cache a positive answer,
                              which is how long a removed key keeps working
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from authorizer import keys

DEFAULT_CACHE_SECONDS = 300
# API Gateway caches an authorizer's answer for at least 60 s and at most an hour whatever it is told.
MIN_CACHE_SECONDS, MAX_CACHE_SECONDS = 60, 3600


class ConfigError(ValueError):
    """A setting is missing or wrong; the message starts with its name."""


@dataclass(frozen=True)
class Config:
    hashes: tuple[keys.KeyHash, ...]
    #: Seconds, within what API Gateway honours.
    cache_seconds: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Config:
        try:
            hashes = keys.parse_hashes(environ.get("API_KEY_HASHES", ""))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None  # keys.parse_hashes names API_KEY_HASHES first
        if not hashes:
            raise ConfigError("API_KEY_HASHES is empty: no client can be authenticated")
        raw = environ.get("AUTHORIZER_CACHE_SECONDS", "").strip()
        try:
            seconds = int(raw) if raw else DEFAULT_CACHE_SECONDS
        except ValueError:
            raise ConfigError(f"AUTHORIZER_CACHE_SECONDS must be an integer, not {raw[:40]!r}") from None
        return cls(hashes, min(max(seconds, MIN_CACHE_SECONDS), MAX_CACHE_SECONDS))
