"""The OCI Cache password of this container: a short-lived identity token, fetched with the function's own identity.

OCI Cache users in IAM mode sign in with a token, not a stored password
(Oracle's "IAM Authentication for OCI Cache",
https://docs.oracle.com/en-us/iaas/Content/ocicache/iam-authentication.htm):

1. CreateIdentityToken, an action on the cluster, names the cache user's OCID
   and a public key the caller holds; the request is signed like any OCI API
   call, here by the function's resource principal (the signer the model calls
   use, genai_fn/auth.py). The path and body are the oci SDK's
   (oci/redis/redis_identity_client.py `create_identity_token`,
   `POST /20220315/redisClusters/{redisClusterId}/actions/identityToken`;
   models/create_identity_token_details.py: `publicKey`, `redisUser`;
   models/identity_token_details_response.py: `identityToken`).
2. The caller signs the token with its private key, and signs in (`AUTH
   <user name> <password>`) with base64(base64(signature) + "|" + token).
   The token expires after one hour.

The key pair is made here, in memory, once per container: nothing is stored
or configured. Oracle's page says "generate the customer signature for the
token" without naming the algorithm; the token is a JWT whose header says
RS256 and whose `publicKey` claim carries the PEM the caller sent, so the
signature is RSASSA-PKCS1-v1_5 with SHA-256 over the token's bytes, with an
RSA-2048 key (the page's sample signature is 256 bytes). That choice is an
inference from the page's sample, not a documented statement.

The token is fetched on the first limited call of a container (the only call
that waits for it), then renewed ahead of expiry by a background thread, three
quarters into its life, so later calls never wait; a call that finds it
expired (a container idle for an hour) fetches it again itself.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

import httpx

from .. import errors

#: The token's lifetime when it does not say (Oracle's page: one hour).
DEFAULT_LIFETIME_S = 3600.0
#: Renewed when this share of its life has passed.
RENEW_AT = 0.75
#: Never used closer than this to its expiry.
EXPIRY_MARGIN_S = 30.0
#: The longest a background renewal may take.
RENEW_TIMEOUT_S = 10.0


class IdentityError(Exception):
    """The token could not be had; the message says why (never the token)."""


class IdentityToken:
    """The sign-in password for the cache user, fetched lazily and renewed ahead of expiry."""

    def __init__(
        self,
        *,
        endpoint: str,
        cluster_id: str,
        user_id: str,
        auth: Callable[[], httpx.Auth | None],
        on_renewed: Callable[[], None] = lambda: None,
    ) -> None:
        self._url = f"{endpoint}/redisClusters/{cluster_id}/actions/identityToken"
        self._user_id = user_id
        self._auth = auth
        #: Called after a background renewal: the store drops its connections, which signed in with the old one.
        self._on_renewed = on_renewed
        self._lock = threading.Lock()
        self._key: object | None = None
        self._public_pem = ""
        self._password = ""
        self._issued_at = 0.0
        self._expires_at = 0.0
        self._renewing = False
        #: Tokens fetched by this container (for the tests and the log line's start event).
        self.fetched = 0

    def password(self, timeout_s: float) -> str:
        """The current password: fetched now only when there is none or it has expired."""
        now = time.time()
        if self._password and now < self._usable_until():
            if now >= self._issued_at + (self._expires_at - self._issued_at) * RENEW_AT:
                self._renew_in_background()
            return self._password
        with self._lock:
            if not (self._password and time.time() < self._usable_until()):
                self._fetch(timeout_s)
            return self._password

    def _usable_until(self) -> float:
        # A tenth of its life at most: a short-lived token (the tests' local one) is still renewed ahead.
        return self._expires_at - min(EXPIRY_MARGIN_S, (self._expires_at - self._issued_at) / 10)

    def _renew_in_background(self) -> None:
        with self._lock:
            if self._renewing:
                return
            self._renewing = True

        def renew() -> None:
            try:
                with self._lock:
                    self._fetch(RENEW_TIMEOUT_S)
                self._on_renewed()
            except IdentityError:
                pass  # the next call tries again; the current token is still valid
            finally:
                self._renewing = False

        threading.Thread(target=renew, name="oci-cache-token", daemon=True).start()

    def _fetch(self, timeout_s: float) -> None:
        key = self._key_pair()
        body = {"publicKey": self._public_pem, "redisUser": self._user_id}
        try:
            auth = self._auth()
        except errors.ApiError as exc:  # the function's own credentials (genai_fn/auth.py): their message
            raise IdentityError(f"no credentials to sign CreateIdentityToken: {exc}") from None
        if auth is None:
            raise IdentityError("no signer for CreateIdentityToken")
        try:
            with httpx.Client(auth=auth, timeout=timeout_s) as client:
                answer = client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise IdentityError(f"CreateIdentityToken failed: {type(exc).__name__}") from None
        if answer.status_code != 200:
            code = _field(answer, "code")
            raise IdentityError(f"CreateIdentityToken answered {answer.status_code} {code}".strip())
        token = _field(answer, "identityToken")
        if not token:
            raise IdentityError("CreateIdentityToken answered without an identityToken")
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(token.encode(), padding.PKCS1v15(), hashes.SHA256())
        composite = base64.b64encode(signature) + b"|" + token.encode()
        now = time.time()
        self._password = base64.b64encode(composite).decode()
        self._issued_at = now
        self._expires_at = _expiry(token) or now + DEFAULT_LIFETIME_S
        self.fetched += 1

    def _key_pair(self) -> object:
        if self._key is None:
            # cryptography is already in the image (the oci SDK's dependency); imported here, on first use.
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._public_pem = (
                key.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
            self._key = key
        return self._key


def _field(answer: httpx.Response, name: str) -> str:
    try:
        value = answer.json().get(name, "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _expiry(token: str) -> float | None:
    """The JWT's `exp` claim, read without verifying (the cache verifies it; this only schedules renewal)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
    except (IndexError, ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
