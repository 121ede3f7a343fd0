"""When a failed upstream attempt may be tried again, and how long to wait first.

Two questions, answered separately so each can be tested as a table:

- **May it be retried?** That depends on the failure *and* on what the request
  does. A read or a delete can be repeated at will. A create cannot be, unless
  the failure proves the service never acted on it: a refused connection (the
  request never left) or a 429 (the service turned it away unprocessed). A
  500, a timeout or a dropped connection after the request was sent may have
  created the conversation, file or stored response already; repeating it
  would create a second one. A generation that stores nothing (`store: false`,
  no `conversation`) creates nothing, so it is retried like a read.
- **How long to wait?** The service's own `retry-after-ms` or `retry-after`
  (seconds or an HTTP date) when it gives one, else exponential backoff with
  jitter. The upstream's value is bounded before use: NaN, a negative value or
  one that cannot be read counts as not given (backoff applies), and anything
  longer than `MAX_RETRY_AFTER_S` (infinity included) is that long, so a
  wait never overflows and never skips the backoff.

Written here rather than taken from a library (tenacity, the OpenAI SDK's
loop): every attempt must fit the function's `Fn-Deadline` budget, which
neither knows about, and the rule above is specific to this API.
"""

from __future__ import annotations

import email.utils
import enum
import random
import time
from collections.abc import Callable, Mapping

#: Statuses that say "try again later" rather than "this request is wrong".
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: The longest wait taken from the upstream's headers (s); longer values are clamped to it. No call
#: can wait that long (300 s is OCI Functions' longest timeout): such a wait ends the retries.
MAX_RETRY_AFTER_S = 3600.0
#: Header values longer than this are not read (a number or an HTTP date is far shorter).
_MAX_HEADER_CHARS = 64
#: The one status that proves the service did not act on the request.
UNPROCESSED_STATUSES = frozenset({429})


class Rule(enum.Enum):
    """What a route's request may be repeated after: a row's `repeat` (genai_fn/route.py) and what is sent."""

    #: Reads, deletes, updates: any transient failure.
    IDEMPOTENT = "idempotent"
    #: Creates: only failures that show the service never acted on the request.
    UNSENT_ONLY = "unsent_only"
    #: A model answer: IDEMPOTENT when it stores nothing, else UNSENT_ONLY. A row's rule only: each
    #: request resolves it to one of the two (`Route.rule_for`) before anything is sent.
    GENERATE = "generate"


class Failure(enum.Enum):
    """How an attempt failed."""

    #: The connection could not be made: the request never reached the service.
    CONNECT = "connect"
    #: The service answered with an error status (see `may_retry`'s `status`).
    STATUS = "status"
    #: No answer in time, after the request was sent.
    TIMEOUT = "timeout"
    #: The connection broke after the request was sent.
    DROPPED = "dropped"
    #: A stream ended without its final event, or with an error event.
    INCOMPLETE_STREAM = "incomplete_stream"
    #: The answer is larger than the platform can deliver: asking again gives the same answer.
    TOO_LARGE = "too_large"
    #: The answer could not be read (an encoding not asked for, a body that does not decode).
    MALFORMED = "malformed"


def may_retry(rule: Rule, failure: Failure, status: int | None = None) -> bool:
    """Whether an attempt that failed this way may be repeated under `rule`."""
    if rule is Rule.GENERATE:
        raise ValueError("GENERATE is a row's rule: resolve it for the request first (Route.rule_for)")
    if failure is Failure.CONNECT:
        return True
    if failure in (Failure.TOO_LARGE, Failure.MALFORMED):
        return False
    if failure is Failure.STATUS:
        if status is None:
            raise ValueError("a STATUS failure needs its status")
        if rule is Rule.UNSENT_ONLY:
            return status in UNPROCESSED_STATUSES
        return status in RETRYABLE_STATUSES
    return rule is Rule.IDEMPOTENT


def retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the service asked us to wait (`retry-after-ms` first, then `retry-after`), if any.

    Always a finite number from 0 to `MAX_RETRY_AFTER_S`, or None (no usable value: back off instead).
    """
    millis = _seconds(headers.get("retry-after-ms", ""), scale=1000)
    if millis is not None:
        return millis
    value = headers.get("retry-after", "").strip()
    seconds = _seconds(value)
    if seconds is not None or not value or len(value) > _MAX_HEADER_CHARS:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
        return _bounded(when.timestamp() - now())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _seconds(value: str, scale: float = 1.0) -> float | None:
    """A header's number of seconds (`value / scale`), bounded; None if it is not a usable number."""
    value = value.strip()
    if not value or len(value) > _MAX_HEADER_CHARS:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return _bounded(number / scale)


def _bounded(seconds: float) -> float | None:
    if seconds != seconds or seconds < 0:  # NaN, or a time in the past: no usable value
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def backoff(attempts: int, *, jitter: Callable[[float, float], float] = random.uniform) -> float:
    """Exponential backoff with jitter after `attempts` attempts: ~0.5 s, 1 s, 2 s … capped at 8 s."""
    base: float = min(8.0, 0.5 * 2 ** (max(1, attempts) - 1))
    return base * jitter(0.75, 1.0)
