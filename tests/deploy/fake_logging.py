"""A Logging search endpoint on 127.0.0.1: SearchLogs' JSON, its paging, and OCI's request signature checked.

It answers `POST /20190909/search?limit=N[&page=P]` as OCI Logging does
(https://docs.oracle.com/iaas/api/#/en/logging-search/20190909/SearchResult/SearchLogs):
a `SearchResponse` (`results`, each `{"data": {...}}`, and `summary`), `limit`
results at most, and an `opc-next-page` header while more remain. Every
request must be signed with the key the test made (dev/local/signature.py
verifies it, the same checks the emulator applies), else 401.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dev.local.credentials import new_rsa_key
from dev.local.signature import SignatureError, verify
from tests.deploy.fake_http import threaded

TENANCY = "ocid1.tenancy.oc1..aaaausage"
USER = "ocid1.user.oc1..aaaausage"


@dataclass
class SigningKey:
    """An API signing key and the OCI config file that uses it, written to `directory`."""

    directory: Path
    key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key)

    @property
    def fingerprint(self) -> str:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = hashlib.md5(der, usedforsecurity=False).hexdigest()  # OCI's key fingerprint is an MD5
        return ":".join(digest[i : i + 2] for i in range(0, 32, 2))

    @property
    def key_id(self) -> str:
        return f"{TENANCY}/{USER}/{self.fingerprint}"

    def write_config(self, profile: str = "DEFAULT", region: str = "us-chicago-1") -> Path:
        pem = self.directory / "key.pem"
        pem.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        pem.chmod(0o600)
        config = self.directory / "config"
        config.write_text(
            f"[{profile}]\nuser={USER}\nfingerprint={self.fingerprint}\ntenancy={TENANCY}\n"
            f"region={region}\nkey_file={pem}\n"
        )
        return config


@dataclass
class Search:
    """One request the server answered: its query parameters and body."""

    limit: int
    page: str | None
    body: dict[str, Any]


@contextmanager
def serve(entries: Sequence[dict[str, Any]], signer: SigningKey) -> Iterator[tuple[str, list[Search]]]:
    """Yield (endpoint, searches): `entries` are the SearchResult `data` objects, served in pages."""
    searches: list[Search] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                verify(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    lambda key_id: _resolve(key_id, signer),
                )
            except SignatureError as exc:
                return self._answer(401, {"code": "NotAuthenticated", "message": str(exc)})
            url = urlsplit(self.path)
            if url.path != "/20190909/search":
                return self._answer(404, {"code": "NotAuthorizedOrNotFound", "message": url.path})
            query = parse_qs(url.query)
            limit = int(query.get("limit", ["100"])[0])
            page = query.get("page", [None])[0]
            searches.append(Search(limit, page, json.loads(body)))
            start = int(page or 0)
            chunk = entries[start : start + limit]
            headers = {"opc-next-page": str(start + limit)} if start + limit < len(entries) else {}
            result = {
                "results": [{"data": data} for data in chunk],
                "summary": {"resultCount": len(chunk), "fieldCount": 0},
            }
            self._answer(200, result, headers)

        def _answer(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("opc-request-id", base64.b32encode(hashlib.sha256(data).digest()[:10]).decode())
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    with threaded(Handler) as base_url:
        yield base_url, searches


def _resolve(key_id: str, signer: SigningKey) -> rsa.RSAPublicKey:
    if key_id != signer.key_id:
        raise SignatureError(f"unknown key id {key_id}")
    return signer.key.public_key()


def log_entry(message: str, time: str) -> dict[str, Any]:
    """A SearchResult's `data` for one function output line, shaped as Oracle's "Details for Functions" shows."""
    return {
        "datetime": 0,
        "logContent": {
            "specversion": "1.0",
            "type": "com.oraclecloud.functions.application.functioninvoke",
            "time": time,
            "data": {"message": message, "src": "STDERR"},
        },
    }
