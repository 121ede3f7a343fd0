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

The configuration (config.py: API_KEY_HASHES, AUTHORIZER_CACHE_SECONDS) is
read from the environment once, when fdk imports this file: OCI Functions
starts a container with the application's and the function's configuration
as its environment, and fdk's `ctx.Config()` is that same `os.environ`
(fdk/context.py), so a changed configuration reaches new containers only.

In the image this file is /function/func.py beside the package at
/function/authorizer/ (Dockerfile), as the main function's func.py is beside
genai_fn/: fdk loads it by path, and it imports the package by its name.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from fdk import response

from authorizer import keys
from authorizer.config import Config, ConfigError

PARAMETER = "authorization"
MAX_INPUT_BYTES = 16 * 1024
SCOPE = ["genai"]
WWW_AUTHENTICATE = 'Bearer realm="genai", error="invalid_token"'

log = logging.getLogger("genai-authorizer")


def load_config(environ: Mapping[str, str]) -> Config | None:
    """The configuration, or None (logged once, naming the setting) when it is broken."""
    try:
        return Config.from_environ(environ)
    except ConfigError as exc:
        log.error("authorizer misconfigured: %s", exc)
        return None


#: Read and checked once per container; None answers every call with a 5xx (decide).
config = load_config(os.environ)


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


def decide(body: bytes, config: Config | None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON answer) for one authorizer call. Never raises."""
    if config is None:
        # Not a refusal: with no usable hashes no key can be checked, and API Gateway answers a 5xx as 502.
        return 500, {"active": False, "wwwAuthenticate": WWW_AUTHENTICATE}
    header = extract_header(body)
    client = keys.authenticate(header, config.hashes) if header is not None else None
    if client is None:
        log.info("authorizer: denied (%s)", "no usable header" if header is None else "unknown key")
        return 200, {"active": False, "wwwAuthenticate": WWW_AUTHENTICATE}
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=config.cache_seconds)
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
        status, answer = decide(body, config)
    except Exception:  # the edge: an exception must never become fdk's 502 text
        log.exception("authorizer: unexpected error")
        status, answer = 500, {"active": False, "wwwAuthenticate": WWW_AUTHENTICATE}
    return response.Response(
        ctx,
        response_data=json.dumps(answer),
        headers={"Content-Type": "application/json"},
        status_code=status,
    )
