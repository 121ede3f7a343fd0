"""The proxy floor: the least a signing proxy can do for a call, for `make bench`'s "proxy" column.

The floor (floor/func.py) makes no upstream call, so no function that signs
and forwards requests can come near it. This handler does what any such
proxy must and nothing more: it signs the request it was given with the
resource principal's session key (OCI request signing: draft-cavage HTTP
signatures, RSA PKCS#1 v1.5 with SHA-256, `keyId="ST$<token>"`, as
https://docs.oracle.com/en-us/iaas/Content/API/Concepts/signingrequests.htm
describes) with `cryptography` directly, sends it on one kept-alive
`http.client` connection, and hands the answer's bytes back. The simple
route's answer is read for its text, as that route must.

What it leaves out, on purpose, is what the project's function adds for
safety: no budget from `Fn-Deadline`, no retries, no caps on the answer, no
checks of the request, no logging, no token refresh (the files are read
once), no TLS (the emulator speaks plain HTTP). The gap between the two
columns is the price of those and of the libraries (httpx, oci-genai-auth).
Do not deploy it.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fdk import response

#: The order the oci SDK's signer lists them in (oci/signer.py, `headers_to_sign`); any order verifies.
SIGNED = ("date", "(request-target)", "host", "content-length", "content-type", "x-content-sha256")


def _value(name: str) -> bytes:
    """A resource-principal variable: an absolute path to the file (what OCI Functions gives) or the value."""
    value = os.environ[name]
    if os.path.isabs(value):
        with open(value, "rb") as f:
            return f.read()
    return value.encode()


class Proxy:
    """The signing key, the token and one kept-alive connection to GENAI_BASE_URL."""

    def __init__(self) -> None:
        key = serialization.load_pem_private_key(_value("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self.key = key
        token = _value("OCI_RESOURCE_PRINCIPAL_RPST").decode().strip()
        # The parameters in the order the oci SDK's signer writes them, so that the header is byte for byte its.
        self.authorization = (
            f'Signature algorithm="rsa-sha256",headers="{" ".join(SIGNED)}",keyId="ST${token}",signature="'
        )
        base = urlsplit(os.environ["GENAI_BASE_URL"])
        assert base.hostname is not None
        self.host = base.netloc
        self.prefix = base.path.rstrip("/")
        self.project = os.environ["GENAI_PROJECT_OCID"]
        self.connection = http.client.HTTPConnection(base.hostname, base.port or 80)

    def headers(self, method: str, target: str, body: bytes, content_type: str, date: str) -> dict[str, str]:
        """The signed headers of one request (`target`: path and query as sent)."""
        signed = {
            "date": date,
            "host": self.host,
            "content-length": str(len(body)),
            "content-type": content_type,
            "x-content-sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        }
        text = "\n".join(
            f"(request-target): {method.lower()} {target}" if name == "(request-target)" else f"{name}: {signed[name]}"
            for name in SIGNED
        )
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {**signed, "authorization": self.authorization + base64.b64encode(signature).decode() + '",version="1"'}

    def send(self, method: str, path: str, body: bytes, content_type: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of `path` (relative to GENAI_BASE_URL), signed, on the kept-alive connection."""
        target = self.prefix + path
        headers = self.headers(method, target, body, content_type, formatdate(usegmt=True))
        headers["OpenAI-Project"] = self.project  # sent, not signed, as the SDK's signer does
        self.connection.request(method, target, body=body, headers=headers)
        answer = self.connection.getresponse()
        return answer.status, answer.getheader("content-type", "application/json"), answer.read()


_proxy: Proxy | None = None


def proxy() -> Proxy:
    global _proxy
    if _proxy is None:
        _proxy = Proxy()
    return _proxy


def handler(ctx: Any, data: Any = None) -> response.Response:
    body = data.getvalue() if data is not None else b""
    # fdk gives a header's values as a list; the last one is the one the Fn agent keeps.
    headers = {str(k).lower(): str(v[-1] if isinstance(v, list) else v) for k, v in (ctx.Headers() or {}).items()}
    if "httprequest" not in headers.get("fn-intent", ""):
        # The simple route (`fn invoke`): text in, a Responses create out, the answer's text back.
        model = os.environ.get("GENAI_DEFAULT_MODEL", "openai.gpt-oss-120b")
        request = json.dumps({"model": model, "input": body.decode()}).encode()
        status, content_type, answer = proxy().send("POST", "/responses", request, "application/json")
        if status == 200:
            created = json.loads(answer)
            text = "".join(
                part.get("text", "")
                for item in created.get("output", [])
                for part in item.get("content") or []
                if part.get("type") == "output_text"
            )
            answer = json.dumps({"id": created.get("id"), "model": created.get("model"), "output_text": text}).encode()
    else:
        # The gateway's /v1/<path> is the upstream's <base>/<path>.
        path = (ctx.RequestURL() or "/").removeprefix("/v1")
        status, content_type, answer = proxy().send(
            ctx.Method() or "POST", path, body, headers.get("content-type", "application/json")
        )
    return response.Response(ctx, response_data=answer, headers={"Content-Type": content_type}, status_code=status)
