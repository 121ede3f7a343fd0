"""Token limits that hold across every function container: per-minute and per-period quotas on shared counters.

A function container keeps nothing across containers, so the counters live in
a shared store: OCI Cache (managed Valkey/Redis) in the cloud, a real Valkey
beside `make run`. One job per module:

  windows.py   fixed windows aligned to the calendar (UTC), their keys, OpenAI's reset format
  identity.py  the cache user's short-lived password: CreateIdentityToken, signed by the resource principal
  store.py     the connection and the two Lua scripts (reserve, settle)

The numbers a limit may take are genai_fn/bounds.py's, with every other bound of the configuration.

A generating call of a limited client (`Spend`): before the model is called,
its possible spend (the output cap plus an estimate of its input) is reserved
atomically in every window of the client, in one round trip; a window already
spent refuses it with 429 `token_limit_exceeded` and nothing is reserved.
After the answer, the reservation is settled to the usage the answer reports
(streams included); a failed call releases it. docs/clients.md states how far
concurrent calls can overshoot a limit, and tests/integration/test_token_limits.py
checks it.

What the store must allow the function's cache user (the ACL Terraform writes):
keys `~genai:limits:*` and the commands EVALSHA and EVAL, and inside the
scripts GET, INCRBY, PEXPIRE and EXISTS. Nothing else is sent: no HELLO (the
connection speaks RESP2), no CLIENT SETINFO, no SCRIPT LOAD, no PING.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from .. import errors, logs
from . import windows

if TYPE_CHECKING:
    from ..clients import Policy
    from ..deadline import Budget
    from ..logs import CallRecord
    from ..settings import LimitSettings
    from .identity import IdentityToken
    from .store import Store

#: The ACL's command list (Terraform's cache user), for the docs and the local stack's user.
ACL_COMMANDS = ("evalsha", "eval", "get", "incrby", "pexpire", "exists")
ACL_KEYS = windows.PREFIX + "*"
#: Values of the log line's `limit` field (an alarm matches "store_unavailable").
OK, EXCEEDED, STORE_UNAVAILABLE, SETTLE_FAILED = "ok", "exceeded", "store_unavailable", "settle_failed"
#: Bytes of request body per input token, for the reservation's estimate: OpenAI's rule of thumb for
#: English text (about four characters a token). JSON framing makes it high for most bodies; stored
#: context (previous_response_id, conversation) and scripts with more tokens than bytes/4 make it low.
#: Either way the settle replaces it with what the answer reports.
BYTES_PER_TOKEN = 4
#: Identity token requests may take longer than a store round trip (an HTTPS call to OCI's API).
IDENTITY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ClientLimits:
    """One client's effective limits: its policy's, else the deployment's defaults."""

    client: str
    tokens_per_minute: int | None
    token_quota: int | None
    token_quota_period: str | None

    def windows(self, now: float) -> list[tuple[windows.Window, int]]:
        found = []
        if self.tokens_per_minute is not None:
            found.append((windows.window("minute", now), self.tokens_per_minute))
        if self.token_quota is not None and self.token_quota_period is not None:
            found.append((windows.window(self.token_quota_period, now), self.token_quota))
        return found


class Limits:
    """The container's limiter: built when settings name a limit; its store is connected on first use."""

    def __init__(self, config: LimitSettings, auth: Callable[[], httpx.Auth | None]) -> None:
        from .identity import IdentityToken
        from .store import Store

        self.config = config
        self.token: IdentityToken = IdentityToken(
            endpoint=config.identity_endpoint,
            cluster_id=config.cluster_id,
            user_id=config.user_id,
            auth=auth,
            on_renewed=lambda: self.store.close(),
        )
        self.store: Store = Store(
            address=config.store,
            tls=config.tls,
            user=config.user,
            password=self.token.password,
            timeout_s=config.timeout_s,
        )

    def for_client(self, client: str, policy: Policy | None) -> ClientLimits | None:
        c = self.config
        tpm = policy.tokens_per_minute if policy and policy.tokens_per_minute is not None else c.tokens_per_minute
        quota: int | None = c.token_quota
        period: str | None = c.token_quota_period
        if policy is not None and policy.token_quota is not None:
            quota, period = policy.token_quota, policy.token_quota_period
        if tpm is None and quota is None:
            return None
        return ClientLimits(client or "-", tpm, quota, period)

    def round_trip(self, script: str, keys: list[str], args: list[int], budget: Budget) -> list[int]:
        """One script on the store within the call's budget; StoreError when it cannot be done in time."""
        from .identity import IdentityError
        from .store import StoreError

        if budget.remaining() < self.config.timeout_s:
            raise StoreError("not enough of the call's deadline left for a store round trip")
        try:
            # Fetched here, within the budget, so that connecting never waits for it.
            self.token.password(min(IDENTITY_TIMEOUT_S, budget.remaining() - self.config.timeout_s))
        except IdentityError as exc:
            raise StoreError(str(exc)) from None
        return self.store.run(script, keys, args)


@dataclass
class Spend:
    """A generating call's reservation: `with` it around the model call; `headers` go on the answer."""

    limits: Limits | None = None
    client: ClientLimits | None = None
    record: CallRecord | None = None
    budget: Budget | None = None
    reserved: int = 0
    keys: list[str] = field(default_factory=list)
    caps: list[tuple[windows.Window, int]] = field(default_factory=list)
    #: The x-ratelimit-* headers: on every answer (errors too) to a generating call of a limited client.
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        limits: Limits | None,
        client: str,
        policy: Policy | None,
        *,
        through_gateway: bool,
        output_cap: int,
        body_bytes: int,
        record: CallRecord,
        budget: Budget,
    ) -> Spend:
        """Reserve this call's possible spend, or raise 429 (window spent) / 503 (store down, closed mode).

        A no-op without limits, for a direct invocation (not limited), or for a client without a limit.
        """
        mine = limits.for_client(client, policy) if limits is not None and through_gateway else None
        if limits is None or mine is None:
            return cls()
        from .store import RESERVE, StoreError

        now = time.time()
        caps = mine.windows(now)
        amount = output_cap + math.ceil(body_bytes / BYTES_PER_TOKEN)
        spend = cls(limits, mine, record, budget, 0, [w.key(mine.client) for w, _ in caps], caps)
        args = [amount]
        for w, limit in caps:
            args += [limit, w.ttl_ms(now)]
        try:
            answer = limits.round_trip(RESERVE, spend.keys, args, budget)
        except StoreError as exc:
            spend._store_unavailable(exc, "reserve")
            return cls()
        counters = answer[1:]
        spend.headers = _headers(caps, counters, now)
        if answer[0] != 1:
            record.limit = EXCEEDED
            record.tokens_remaining = 0
            wait = max(w.seconds_left(now) for (w, limit), used in zip(caps, counters, strict=True) if used >= limit)
            raise errors.token_limit_exceeded(
                _refusal(caps, counters), {**spend.headers, "Retry-After": str(max(1, math.ceil(wait)))}
            )
        spend.reserved = amount
        record.limit = OK
        return spend

    def _store_unavailable(self, exc: Exception, step: str) -> None:
        assert self.limits is not None and self.record is not None
        self.record.limit = STORE_UNAVAILABLE
        logs.event(
            "limit_store_unavailable",
            {"step": step, "client": self.record.client, "problem": str(exc), "mode": self.limits.config.failure_mode},
            logging.WARNING,
        )
        if self.limits.config.failure_mode == "closed":
            raise errors.limit_store_unavailable()

    def __enter__(self) -> Spend:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.limits is None or not self.reserved:
            return
        assert self.record is not None and self.budget is not None
        record = self.record
        known = record.input_tokens is not None or record.output_tokens is not None
        if known:
            actual = (record.input_tokens or 0) + (record.output_tokens or 0)
        elif exc is not None:
            actual = 0  # a failed call releases its reservation
        else:
            actual = self.reserved  # an answer without usage keeps what it reserved
        self._settle(actual - self.reserved)
        if isinstance(exc, errors.ApiError):
            exc.headers.update(self.headers)

    def _settle(self, delta: int) -> None:
        from .store import SETTLE, StoreError

        assert self.limits is not None and self.record is not None and self.budget is not None
        if delta == 0:
            return
        try:
            counters = self.limits.round_trip(SETTLE, self.keys, [delta], self.budget)
        except StoreError as exc:
            self.record.limit = SETTLE_FAILED
            logs.event(
                "limit_settle_failed",
                {"client": self.record.client, "delta": delta, "keys": self.keys, "problem": str(exc)},
                logging.WARNING,
            )
            return
        now = time.time()
        kept = [(w, limit, used) for (w, limit), used in zip(self.caps, counters, strict=True) if used >= 0]
        if kept:
            self.headers = _headers([(w, lim) for w, lim, _ in kept], [u for _, _, u in kept], now)
            self.record.tokens_remaining = int(self.headers["x-ratelimit-remaining-tokens"])


def _headers(caps: list[tuple[windows.Window, int]], counters: list[int], now: float) -> dict[str, str]:
    """OpenAI's x-ratelimit-*-tokens for the window closest to refusing the client (the least left)."""
    (w, limit), used = min(zip(caps, counters, strict=True), key=lambda c: (c[0][1] - c[1], c[0][0].end))
    return {
        "x-ratelimit-limit-tokens": str(limit),
        "x-ratelimit-remaining-tokens": str(max(0, limit - used)),
        "x-ratelimit-reset-tokens": windows.reset_text(w.seconds_left(now)),
    }


def _refusal(caps: list[tuple[windows.Window, int]], counters: list[int]) -> str:
    spent = [f"{limit} tokens per {w.period}" for (w, limit), used in zip(caps, counters, strict=True) if used >= limit]
    return f"This client has used its {' and '.join(spent)}."
