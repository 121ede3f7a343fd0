"""Regional failover for calls that store nothing, with a circuit breaker per region.

OCI Generative AI throttles on-demand models dynamically and serves each model
in a few regions only. With GENAI_FALLBACK_REGIONS set, a call that stores
nothing (a Chat Completion; a Responses create with `store: false` and no
`previous_response_id` or `conversation`) goes to the next region when the
home region answers 429 or 5xx, times out, drops the connection, or its
circuit is open: the error says which failures are the region's own
(`ApiError.region_failure`, set by the constructors in genai_fn/errors.py).
Anything stored (responses, conversations, files, vector stores, containers)
lives in one project in one region, so such a call always goes to the home
region. docs/failover.md says what it costs.

Each region has one `Upstream` (its own base URL, project and connection pool)
and one `Breaker`. The time budget is split so that a fallback still fits: a
region with another one after it gets `GENAI_FAILOVER_SHARE` (default half) of
what remains; the last region gets all that is left. A region's own retries
(genai_fn/retry.py) happen inside its share.

Written here rather than taken from a library (pybreaker, purgatory): the
breaker must answer "may this region be tried now" on an injectable clock and
never hold a call past its `Fn-Deadline`, which is a dozen lines; a library
would bring its own notion of calls, threads and storage.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import errors, logs
from .deadline import Budget
from .logs import CallRecord
from .settings import Settings
from .upstream import MIN_ATTEMPT_S, Answer, Outbound, Upstream

#: Keys in a request body that point at something stored in the home region's project: such a call
#: stays home even when it stores nothing itself (the other region's project cannot see them).
_STORED_REFERENCES = frozenset({"file_id", "vector_store_ids", "container", "previous_response_id", "conversation"})


def references_stored(payload: Any) -> bool:
    """Whether a parsed request body names a stored object (a file, vector store, container, response,
    conversation) by one of those keys, at any depth.

    The decoded keys, not the body's bytes: `"previous_response_\\u0069d"` is the same key to the service.
    Depth-first with one iterator per open container (the body was bounded in values and depth when parsed,
    genai_fn/http.py): memory grows with the depth, not the size.
    """
    stack: list[Iterator[Any]] = [iter((payload,))]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, dict):
            if not _STORED_REFERENCES.isdisjoint(item):
                return True
            stack.append(iter(item.values()))
        elif isinstance(item, list):
            stack.append(iter(item))
    return False


_END = object()


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    """One region's circuit: closed → open → half-open → closed (or open again).

    - closed: calls go through; `failures` consecutive region failures open it.
    - open: calls skip the region until `cooldown_s` has passed since it opened.
    - half-open: one trial call goes through (the others still skip the region);
      its success closes the circuit, its failure opens it for another cool-down.
    """

    def __init__(self, failures: int, cooldown_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._state = State.CLOSED
        self._consecutive = 0
        self._opened_at = 0.0
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> State:
        with self._lock:
            if self._state is State.OPEN and self._clock() - self._opened_at >= self.cooldown_s:
                return State.HALF_OPEN
            return self._state

    def admits(self) -> bool:
        """Whether a call may be sent to the region now, without taking the half-open trial."""
        state = self.state
        return state is State.CLOSED or (state is State.HALF_OPEN and not self._trial)

    def allow(self) -> bool:
        """Whether a call may be sent now; in half-open, the first caller takes the one trial."""
        with self._lock:
            if self._state is State.CLOSED:
                return True
            if self._state is State.OPEN and self._clock() - self._opened_at >= self.cooldown_s:
                self._state = State.HALF_OPEN
                self._trial = False
            if self._state is State.HALF_OPEN and not self._trial:
                self._trial = True
                return True
            return False

    def success(self) -> State:
        """The region answered (a client error counts: the region is up). Returns the new state."""
        with self._lock:
            self._state, self._consecutive, self._trial = State.CLOSED, 0, False
            return self._state

    def failure(self) -> State:
        """The region failed (429, 5xx, timeout, dropped connection). Returns the new state."""
        with self._lock:
            self._consecutive += 1
            if self._state is State.HALF_OPEN or self._consecutive >= self.failures:
                self._state, self._opened_at, self._trial = State.OPEN, self._clock(), False
            return self._state


@dataclass
class Region:
    name: str
    upstream: Upstream
    breaker: Breaker
    #: `None`: serves what the home region serves.
    models: frozenset[str] | None = None

    def serves(self, model: str) -> bool:
        return self.models is None or not model or model in self.models


class Failover:
    """The home region and its fallbacks; sends a call to the first region that answers."""

    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        home: Upstream,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.share = settings.failover_share

        def breaker() -> Breaker:
            return Breaker(settings.breaker_failures, settings.breaker_cooldown_s, clock=clock)

        self.home = Region(settings.region or "home", home, breaker())
        self.fallbacks = [
            Region(
                f.region,
                # Only the inference endpoint: nothing that fails over uses the control plane.
                Upstream(
                    dataclasses.replace(
                        settings, region=f.region, project_ocid=f.project_ocid, base_url=f.base_url, control_base_url=""
                    ),
                    environ,
                ),
                breaker(),
                f.models,
            )
            for f in settings.fallback_regions
        ]

    def send(self, out: Outbound, budget: Budget, record: CallRecord, *, portable: bool) -> Answer:
        """Send `out`: to the home region only unless `portable`, else to the first region that answers."""
        if not portable:
            # Stored things live in the home project: never elsewhere, whatever the circuit says.
            return self._try(self.home, out, budget, record)
        candidates = [self.home, *(r for r in self.fallbacks if r.serves(record.model))]
        if len(candidates) == 1:
            return self._try(self.home, out, budget, record)
        admitted = [r for r in candidates if r.breaker.admits()]
        # Every circuit open: still try, in order, rather than refuse a call untried.
        order = admitted or candidates
        last: errors.ApiError | None = None
        for index, region in enumerate(order):
            remaining = budget.remaining()
            if remaining < MIN_ATTEMPT_S:
                break
            if admitted and not region.breaker.allow():
                continue  # another call took the half-open trial meanwhile
            later = len(order) - index - 1
            share = Budget(time.monotonic() + remaining * self.share) if later else budget
            try:
                return self._try(region, out, share, record)
            except errors.ApiError as exc:
                if not exc.region_failure:  # the request's own fault: another region would say the same
                    raise
                last = exc
        if last is None:
            raise errors.deadline_exceeded(f"{record.attempts} attempt(s) made")
        raise last

    def _try(self, region: Region, out: Outbound, budget: Budget, record: CallRecord) -> Answer:
        """One region's attempts (its own retries included); the outcome feeds its breaker."""
        record.region = region.name
        if region is not self.home and out.project:
            # A client's own project exists in the home region only. What fails over stores nothing and
            # names nothing stored (`references_stored`), so the fallback region's project serves it.
            out = dataclasses.replace(out, project="")
        before = region.breaker.state
        try:
            answer = region.upstream.send(out, budget, record)
        except errors.ApiError as exc:
            after = region.breaker.failure() if exc.region_failure else region.breaker.success()
            _log_change(region.name, before, after)
            raise
        _log_change(region.name, before, region.breaker.success())
        return answer


def _log_change(region: str, before: State, after: State) -> None:
    if after is not before and not (before is State.HALF_OPEN and after is State.HALF_OPEN):
        logs.event("circuit", {"region": region, "from": before.value, "to": after.value})
