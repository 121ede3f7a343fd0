"""An emulated resource principal: the key and token OCI Functions gives a function.

In OCI, the platform mounts two files into every function container: a
resource-principal session token (RPST, a JWT issued by OCI IAM) and the
private key whose public half the token carries in its `jwk` claim. The oci SDK
reads both through `OCI_RESOURCE_PRINCIPAL_*` variables and signs each request
with the key, naming the token as the key id.

Here `Issuer` plays OCI IAM (it signs tokens and can check them) and
`ResourcePrincipal` plays the platform (it writes the files into a private
folder and can rotate them while the function runs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Container, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import signature
from .signature import SignatureError

TENANCY = "ocid1.tenancy.oc1..aaaaaaaalocaltenancy"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaalocalcompartment"
APP_ID = "ocid1.fnapp.oc1.us-chicago-1.aaaaaaaalocalapp"
FN_ID = "ocid1.fnfunc.oc1.us-chicago-1.aaaaaaaalocalfunction"
REGION = "us-chicago-1"
PROJECT = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaalocalproject"
FUNC_YAML = Path(__file__).resolve().parent.parent.parent / "func.yaml"


def function_memory_mb(func_yaml: Path = FUNC_YAML) -> str:
    """`memory:` from func.yaml: OCI Functions sets FN_MEMORY to the memory the function is deployed with."""
    found = re.search(r"^memory:\s*(\d+)\s*(?:#.*)?$", func_yaml.read_text(), re.MULTILINE)
    if found is None:
        raise ValueError(f"{func_yaml} declares no memory: (in MB)")
    return found.group(1)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(key: rsa.RSAPublicKey, kid: str) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kid": kid,
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "n": _b64url_uint(numbers.n),
        "e": _b64url_uint(numbers.e),
    }


class Issuer:
    """Plays OCI IAM's token service: issues RPSTs and checks them."""

    ISS = "authService.oracle.com"

    def __init__(self) -> None:
        self._key = new_rsa_key()
        #: The jti of every token issued, so a test can revoke them all at once.
        self.issued: list[str] = []
        #: SHA-256 of each Generative AI API key issued → what the key stands for (only hashes are kept).
        self._api_keys: dict[bytes, dict[str, Any]] = {}

    def issue_api_key(self, compartment: str = COMPARTMENT) -> str:
        """A Generative AI API key (a secret string, sent as `Authorization: Bearer <key>`), valid here only.

        Plays the Generative AI service's API keys (https://docs.oracle.com/iaas/Content/generative-ai/api-keys.htm):
        a service-specific secret, not an IAM signing key; Oracle's examples show it as `sk-…`.
        """
        key = "sk-" + secrets.token_urlsafe(36)
        self._api_keys[hashlib.sha256(key.encode()).digest()] = {
            "res_compartment": compartment,
            "jti": f"api-key-{len(self._api_keys) + 1}",
        }
        return key

    def api_key_claims(self, key: str) -> dict[str, Any]:
        """What an API key this issuer issued stands for; `SignatureError` (never quoting the key) otherwise."""
        digest = hashlib.sha256(key.encode(errors="replace")).digest()
        for known, claims in self._api_keys.items():
            if hmac.compare_digest(known, digest):
                return dict(claims)
        raise SignatureError("the API key is not valid")

    def issue(
        self,
        session_key: rsa.RSAPublicKey,
        *,
        tenancy: str,
        compartment: str,
        resource_id: str,
        lifetime_s: float,
        issued_at: float | None = None,
    ) -> str:
        now = int(issued_at if issued_at is not None else time.time())
        claims = {
            "iss": self.ISS,
            "aud": "oci",
            "sub": resource_id,
            "ttype": "res_prin",
            "res_type": "fnfunc",
            "res_id": resource_id,
            "res_tenant": tenancy,
            "res_compartment": compartment,
            "tenant": tenancy,
            # OCI carries the session key as a JSON string, not a nested object.
            "jwk": json.dumps(public_jwk(session_key, kid=uuid.uuid4().hex)),
            "iat": now,
            "exp": now + int(lifetime_s),
            "jti": uuid.uuid4().hex,
        }
        self.issued.append(str(claims["jti"]))
        return jwt.encode(claims, self._key, algorithm="RS256")

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if IAM issued it and it has not expired; `jwt.InvalidTokenError` otherwise."""
        return jwt.decode(token, self._key.public_key(), algorithms=["RS256"], audience="oci", issuer=self.ISS)

    def session_key(self, key_id: str, revoked: Container[str] = ()) -> tuple[dict[str, Any], rsa.RSAPublicKey]:
        """The claims and session key of a request signed by a resource principal (`keyId="ST$<token>"`).

        What an OCI service's front door checks before the signature itself
        (dev/local/signature.py); `SignatureError` says why a key id is refused.
        """
        if not key_id.startswith("ST$"):
            raise SignatureError("keyId is not a security token (ST$...)")
        try:
            claims = self.verify(key_id[3:])
        except jwt.ExpiredSignatureError:
            raise SignatureError("the security token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise SignatureError(f"the security token is invalid: {exc}") from None
        if claims.get("jti") in revoked:
            raise SignatureError("the security token has been revoked")
        jwk = json.loads(claims["jwk"])
        return claims, rsa.RSAPublicNumbers(_b64int(jwk["e"]), _b64int(jwk["n"])).public_key()

    def authenticate(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, revoked: Container[str] = ()
    ) -> dict[str, Any]:
        """The claims of a request signed with a session key this issuer issued; `SignatureError` says why not.

        What both emulated OCI endpoints (the Generative AI one and telemetry-ingestion) do at their front door.
        """
        found: dict[str, Any] = {}

        def resolve(key_id: str) -> rsa.RSAPublicKey:
            claims, key = self.session_key(key_id, revoked)
            found.update(claims)
            return key

        signature.verify(method, target, headers, body, resolve)
        return found


@dataclass(frozen=True)
class Identity:
    """Who the emulated function is."""

    tenancy: str = TENANCY
    compartment: str = COMPARTMENT
    app_id: str = APP_ID
    fn_id: str = FN_ID
    region: str = REGION
    app_name: str = "genai-app"
    fn_name: str = "genai-responses"


class ResourcePrincipal:
    """Plays the platform: writes the RPST and key files and rotates them on demand.

    Use as a context manager; the private folder is removed on exit.
    """

    def __init__(
        self,
        issuer: Issuer,
        identity: Identity = Identity(),
        *,
        lifetime_s: float = 3600,
        directory: str | None = None,
    ) -> None:
        self.issuer = issuer
        self.identity = identity
        self.lifetime_s = lifetime_s
        self._own_directory = directory is None
        # mkdtemp creates the folder with mode 0700: only this user can read the key.
        self.directory = directory or tempfile.mkdtemp(prefix="genai-rp-")
        self.rpst_path = os.path.join(self.directory, "rpst")
        self.pem_path = os.path.join(self.directory, "private.pem")
        self.token = ""
        self.rotations = 0
        self.rotate()

    def rotate(self, *, lifetime_s: float | None = None, issued_at: float | None = None) -> str:
        """Replace both files with a new key and a new token; returns the token."""
        key = new_rsa_key()
        token = self.issuer.issue(
            key.public_key(),
            tenancy=self.identity.tenancy,
            compartment=self.identity.compartment,
            resource_id=self.identity.fn_id,
            lifetime_s=self.lifetime_s if lifetime_s is None else lifetime_s,
            issued_at=issued_at,
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Key first, then token: a reader that sees the new token also sees its key.
        self._replace(self.pem_path, pem)
        # No trailing newline: the oci SDK signs with the file's bytes as they are.
        self._replace(self.rpst_path, token.encode())
        self.token = token
        self.rotations += 1
        return token

    def environ(self) -> dict[str, str]:
        """The variables OCI Functions sets in a function container."""
        i = self.identity
        return {
            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
            "OCI_RESOURCE_PRINCIPAL_RPST": self.rpst_path,
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": self.pem_path,
            "OCI_RESOURCE_PRINCIPAL_REGION": i.region,
            "OCI_REGION_METADATA": json.dumps(
                {
                    "realmKey": "oc1",
                    "realmDomainComponent": "oraclecloud.com",
                    "regionKey": "ORD",
                    "regionIdentifier": i.region,
                }
            ),
            "FN_APP_ID": i.app_id,
            "FN_FN_ID": i.fn_id,
            "FN_APP_NAME": i.app_name,
            "FN_FN_NAME": i.fn_name,
            "FN_MEMORY": function_memory_mb(),
            "FN_TYPE": "sync",
        }

    def _replace(self, path: str, content: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def close(self) -> None:
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ResourcePrincipal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _b64int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def claims_of(token: str) -> Mapping[str, Any]:
    """The claims of a token, unverified (what the oci SDK itself does)."""
    return jwt.decode(token, options={"verify_signature": False})
