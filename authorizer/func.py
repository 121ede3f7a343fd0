"""API Gateway authorizer function: OpenAI-style ``Authorization: Bearer <key>``.

API Gateway calls this function (CUSTOM_AUTHENTICATION) before each request
whose result is not cached, with one of the two documented input shapes:

* multi-argument: ``{"type": "USER_DEFINED", "data": {"authorization": "Bearer ..."}}``
  (the Terraform in this repo sends ``request.headers[Authorization]`` under
  the parameter name ``authorization``; a repeated header arrives as a list);
* single-argument: ``{"type": "TOKEN", "token": "Bearer ..."}``.

It answers HTTP 200 with ``{"active": true, "principal": <client>, "scope": [...],
"expiresAt": <ISO-8601>, "context": {"client": <client>}}`` for a known key, and
HTTP 200 with ``{"active": false, "wwwAuthenticate": "Bearer ..."}`` for anything
else, including malformed input. Only a broken configuration gives a 5xx
(API Gateway then answers 502), because then no key can be verified.

Config (function or application config, i.e. environment variables):
  API_KEY_HASHES            client:sha256hex,... (see keys.py); hashes, not keys
  AUTHORIZER_CACHE_SECONDS  how long API Gateway may cache a positive answer
                            (60..3600, default 300): the revocation delay
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import logging
import os
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from fdk import response

if TYPE_CHECKING:
    # For the type checker only: at run time keys.py is loaded by path (below).
    from authorizer.keys import KeyHash

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load_keys() -> ModuleType:
    # fdk imports this file by path without putting its folder on sys.path, so
    # load the sibling keys.py the same way (under a name nobody else uses).
    name = "genai_authorizer_keys"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(_HERE, "keys.py"))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {_HERE}/keys.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


keys = _load_keys()

PARAMETER = "authorization"
MAX_INPUT_BYTES = 16 * 1024
SCOPE = ["genai"]
WWW_AUTHENTICATE = 'Bearer realm="genai", error="invalid_token"'
DEFAULT_CACHE_SECONDS = 300

log = logging.getLogger("genai-authorizer")
_parsed_cache: dict[str, tuple[KeyHash, ...]] = {}


class ConfigError(Exception):
    pass


def _configured_hashes(config: Mapping[str, str]) -> tuple[KeyHash, ...]:
    raw = config.get("API_KEY_HASHES", "")
    cached = _parsed_cache.get(raw)
    if cached is not None:
        return cached
    try:
        parsed: tuple[KeyHash, ...] = keys.parse_hashes(raw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not parsed:
        raise ConfigError("API_KEY_HASHES is empty: no client can be authenticated")
    _parsed_cache.clear()
    _parsed_cache[raw] = parsed
    return parsed


def _cache_seconds(config: Mapping[str, str]) -> int:
    raw = config.get("AUTHORIZER_CACHE_SECONDS", "")
    try:
        value = int(raw) if raw else DEFAULT_CACHE_SECONDS
    except ValueError:
        raise ConfigError("AUTHORIZER_CACHE_SECONDS must be an integer") from None
    # API Gateway caches for at least 60 s and at most 1 h whatever we say.
    return min(max(value, 60), 3600)


def extract_header(body: bytes) -> str | None:
    """The Authorization header value from either input shape, or None."""
    if not isinstance(body, (bytes, bytearray)) or len(body) > MAX_INPUT_BYTES:
        return None
    try:
        payload = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type")
    if kind == "TOKEN":
        value = payload.get("token")
    elif kind == "USER_DEFINED":
        data = payload.get("data")
        if not isinstance(data, dict):
            return None
        matches = [v for k, v in data.items() if isinstance(k, str) and k.lower() == PARAMETER]
        if len(matches) != 1:
            return None
        value = matches[0]
        # Several Authorization headers arrive as a list: accept exactly one.
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
    else:
        return None
    return value if isinstance(value, str) else None


def decide(body: bytes, config: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON answer) for one authorizer call. Never raises."""
    try:
        parsed = _configured_hashes(config)
        ttl = _cache_seconds(config)
    except ConfigError as exc:
        log.error("authorizer misconfigured: %s", exc)
        return 500, {"active": False, "wwwAuthenticate": WWW_AUTHENTICATE}
    header = extract_header(body)
    client = keys.authenticate(header, parsed) if header is not None else None
    if client is None:
        log.info("authorizer: denied (%s)", "no usable header" if header is None else "unknown key")
        return 200, {"active": False, "wwwAuthenticate": WWW_AUTHENTICATE}
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=ttl)
    log.info("authorizer: allowed client=%s", client)
    return 200, {
        "active": True,
        "principal": client,
        "scope": SCOPE,
        "expiresAt": expires.isoformat(timespec="seconds"),
        # request.auth[client]: the usage plans key each subscriber on this.
        "context": {"client": client},
    }


def handler(ctx: Any, data: io.BytesIO | None = None) -> response.Response:
    try:
        body = data.getvalue() if data is not None else b""
        status, answer = decide(body, ctx.Config())
    except Exception:  # the edge: an exception must never become fdk's 502 text
        log.exception("authorizer: unexpected error")
        status, answer = 500, {"active": False, "wwwAuthenticate": WWW_AUTHENTICATE}
    return response.Response(
        ctx,
        response_data=json.dumps(answer),
        headers={"Content-Type": "application/json"},
        status_code=status,
    )
