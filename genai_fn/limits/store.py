"""The shared counters: one Valkey/Redis connection per container and the two scripts that use it.

The client is `valkey` (the Valkey project's own Python client), imported on
the first limited call, never before: a deployment without limits never loads
it. Every round trip is bounded by GENAI_LIMIT_STORE_TIMEOUT_MS (connect, the
AUTH and each command); a call with less budget left than that does not try.
A dropped connection is tried again once on a new one (the cache may close
idle connections; a container thawed after a long pause finds its socket
gone); a timeout is not, so a slow store costs a call one timeout at most.

Each script runs by EVALSHA, and by EVAL when the server does not have it
yet (NOSCRIPT): one round trip either way, and no SCRIPT LOAD permission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

#: Reserve `amount` in every window unless one of them is spent already (its counter at or over its limit).
#: KEYS: the windows' keys; ARGV: amount, then limit and key lifetime (ms) per key.
#: Answers {1, counter after, ...} (reserved) or {0, counter, ...} (refused, nothing changed).
RESERVE = """
local amount = tonumber(ARGV[1])
local used = {}
for i = 1, #KEYS do
  used[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
end
for i = 1, #KEYS do
  if used[i] >= tonumber(ARGV[2 * i]) then
    return {0, unpack(used)}
  end
end
for i = 1, #KEYS do
  used[i] = redis.call('INCRBY', KEYS[i], amount)
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1])
end
return {1, unpack(used)}
"""

#: Add `delta` (actual spend minus the reservation; negative to release) to each window still there.
#: Answers the counters after (-1 for a window whose key has expired).
SETTLE = """
local out = {}
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    out[i] = redis.call('INCRBY', KEYS[i], ARGV[1])
  else
    out[i] = -1
  end
end
return out
"""


class StoreError(Exception):
    """The store could not answer in time, or refused; the message says which (never a password)."""


class Store:
    """One connection to the store, made on first use with the cache user's name and current token."""

    def __init__(
        self,
        *,
        address: str,
        tls: bool,
        user: str,
        password: Callable[[float], str],
        timeout_s: float,
    ) -> None:
        self._host, _, port = address.rpartition(":")
        self._port = int(port)
        self._tls = tls
        self._user = user
        self._password = password
        self.timeout_s = timeout_s
        self._client: Any = None
        self._sha = {script: hashlib.sha1(script.encode()).hexdigest() for script in (RESERVE, SETTLE)}

    def run(self, script: str, keys: Sequence[str], args: Sequence[int]) -> list[int]:
        """Run one of this module's scripts: one round trip (two when the server lacks it)."""
        client = self._connect()
        import valkey

        try:
            try:
                answer = client.evalsha(self._sha[script], len(keys), *keys, *args)
            except valkey.exceptions.NoScriptError:
                answer = client.eval(script, len(keys), *keys, *args)
        except valkey.exceptions.ValkeyError as exc:
            raise StoreError(_describe(exc)) from None
        except OSError as exc:
            raise StoreError(_describe(exc)) from None
        return [int(v) for v in answer]

    def close(self) -> None:
        """Drop the connections (the next command opens a new one, signing in with the current token)."""
        if self._client is not None:
            self._client.connection_pool.disconnect()

    def _connect(self) -> Any:
        if self._client is None:
            # Here, not at the top: only a deployment with a limit pays this import (docs/performance.md).
            import valkey
            from valkey.backoff import NoBackoff
            from valkey.credentials import CredentialProvider
            from valkey.retry import Retry

            store = self

            class Credentials(CredentialProvider):
                def get_credentials(self) -> tuple[str, str]:
                    # Already fetched within the call's budget (`Limits.round_trip`): this reads it.
                    return store._user, store._password(store.timeout_s)

            self._client = valkey.Valkey(
                host=self._host,
                port=self._port,
                ssl=self._tls,
                credential_provider=Credentials(),
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                # One more try on a new connection when the old one was dropped; never after a timeout.
                retry=Retry(NoBackoff(), 1, supported_errors=(valkey.exceptions.ConnectionError,)),
                retry_on_timeout=False,
                # No CLIENT SETINFO after connecting: one round trip less, one command fewer in the ACL.
                lib_name=None,
                lib_version=None,
                # A container serves one call at a time; more than two connections means a leak.
                max_connections=2,
            )
        return self._client


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
