"""Checks an OCI request signature the way OCI's API front door does.

OCI signs requests with draft-cavage HTTP signatures (draft-cavage-http-signatures-08),
RSA-SHA256. We verify them ourselves rather than with a library because the
draft-cavage verifiers on PyPI are unmaintained, and because the point of this
module is to be an independent second implementation: if it reused the oci
SDK's signer, a signing bug would pass both sides unseen.

The rules checked, each with the reason OCI would give:
- `Authorization: Signature version="1",keyId=...,algorithm="rsa-sha256",headers=...,signature=...`
- signed headers include `date` (or `x-date`), `(request-target)` and `host`, and
  for requests with a body also `content-length`, `content-type` and
  `x-content-sha256`; each signed header is present
- `date` is within five minutes of now
- `x-content-sha256` is the base64 SHA-256 of the body actually received, and
  `content-length` its length
- the signature verifies with the public key that the key id resolves to
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MAX_CLOCK_SKEW_S = 300
BODY_METHODS = ("POST", "PUT", "PATCH")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
_PARAM = re.compile(r'(\w+)="([^"]*)"')


class SignatureError(Exception):
    """The request is not authenticated; the message says why."""


def verify(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    resolve_key: Callable[[str], rsa.RSAPublicKey],
    *,
    now: float | None = None,
) -> str:
    """Verify a signed request; returns its key id or raises `SignatureError`.

    `target` is the path and query as sent; `headers` must be case-insensitive
    or lower-case; `resolve_key(key_id)` returns the public key or raises
    `SignatureError`.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    if not auth.startswith("Signature "):
        raise SignatureError("missing or non-Signature Authorization header")
    params = dict(_PARAM.findall(auth[len("Signature ") :]))
    for name in ("keyId", "algorithm", "headers", "signature"):
        if name not in params:
            raise SignatureError(f"Authorization header lacks {name}")
    if params.get("version", "1") != "1":
        raise SignatureError(f"unsupported signature version {params['version']!r}")
    if params["algorithm"] != "rsa-sha256":
        raise SignatureError(f"unsupported algorithm {params['algorithm']!r}")

    signed = params["headers"].lower().split()
    required = ["(request-target)", "host"]
    if method.upper() in BODY_METHODS:
        required += BODY_HEADERS
    missing = [h for h in required if h not in signed]
    if "date" not in signed and "x-date" not in signed:
        missing.insert(0, "date")
    if missing:
        raise SignatureError(f"headers not signed: {', '.join(missing)}")
    absent = [h for h in signed if h != "(request-target)" and h not in lower]
    if absent:
        raise SignatureError(f"signed headers absent from the request: {', '.join(absent)}")

    _check_date(lower.get("x-date") or lower.get("date", ""), now)
    if "x-content-sha256" in signed:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if lower["x-content-sha256"] != digest:
            raise SignatureError("x-content-sha256 does not match the body")
    if "content-length" in signed and lower["content-length"] != str(len(body)):
        raise SignatureError("content-length does not match the body")

    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        else:
            lines.append(f"{name}: {lower[name]}")
    key = resolve_key(params["keyId"])
    try:
        signature = base64.b64decode(params["signature"], validate=True)
        key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("signature does not verify") from exc
    return params["keyId"]


def _check_date(value: str, now: float | None) -> None:
    try:
        sent = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        raise SignatureError(f"unreadable date header {value!r}") from None
    skew = abs((now if now is not None else time.time()) - sent)
    if skew > MAX_CLOCK_SKEW_S:
        raise SignatureError(f"date is {skew:.0f} s away from now (limit {MAX_CLOCK_SKEW_S} s)")
