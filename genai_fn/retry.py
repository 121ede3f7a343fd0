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
  jitter.

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
#: The one status that proves the service did not act on the request.
UNPROCESSED_STATUSES = frozenset({429})


class Rule(enum.Enum):
    """What a route's request may be repeated after."""

    #: Reads and deletes: any transient failure.
    IDEMPOTENT = "idempotent"
    #: Creates: only failures that show the service never acted on the request.
    UNSENT_ONLY = "unsent_only"


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


def may_retry(rule: Rule, failure: Failure, status: int | None = None) -> bool:
    """Whether an attempt that failed this way may be repeated under `rule`."""
    if failure is Failure.CONNECT:
        return True
    if failure is Failure.TOO_LARGE:
        return False
    if failure is Failure.STATUS:
        assert status is not None, "a STATUS failure needs its status"
        if rule is Rule.UNSENT_ONLY:
            return status in UNPROCESSED_STATUSES
        return status in RETRYABLE_STATUSES
    return rule is Rule.IDEMPOTENT


def retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the service asked us to wait (`retry-after-ms` first, then `retry-after`), if any."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def backoff(attempts: int, *, jitter: Callable[[float, float], float] = random.uniform) -> float:
    """Exponential backoff with jitter after `attempts` attempts: ~0.5 s, 1 s, 2 s … capped at 8 s."""
    base: float = min(8.0, 0.5 * 2 ** (max(1, attempts) - 1))
    return base * jitter(0.75, 1.0)
