"""Fixed windows aligned to the calendar in UTC, the keys that count them, and OpenAI's header format.

Fixed windows, not sliding ones: a window's counter is one integer under one
key that names the window's start, so a reservation is one INCRBY per
window, keys expire by themselves a little after their window ends, and the
reset time a client is told is exact (the window's end). The price is the
usual one of fixed windows: a client may spend a minute's limit at the end of
one minute and again at the start of the next. Quota periods are the calendar's
(an hour, a UTC day, an ISO week from Monday, a calendar month), which is
what a budget is usually written in.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

#: Every key starts with this; the cache user's ACL allows no other (genai_fn/limits/__init__.py).
PREFIX = "genai:limits:"
#: How long a key outlives its window: enough for a late settle of a call that started in it.
KEY_SLACK_S = 360


@dataclass(frozen=True)
class Window:
    """One counting window: its period's name and its bounds in epoch seconds."""

    period: str
    start: int
    end: int

    def key(self, client: str) -> str:
        # `{client}` is a hash tag: a call's windows share one slot, so one script may touch both.
        return f"{PREFIX}{{{client}}}:{self.period}:{self.start}"

    def ttl_ms(self, now: float) -> int:
        return max(1, math.ceil((self.end - now + KEY_SLACK_S) * 1000))

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.end - now)


def window(period: str, now: float) -> Window:
    """The window of `period` ("minute", "hour", "day", "week", "month") that contains `now` (epoch seconds)."""
    if period == "minute":
        start = int(now // 60 * 60)
        return Window(period, start, start + 60)
    if period == "hour":
        start = int(now // 3600 * 3600)
        return Window(period, start, start + 3600)
    day = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        begin, end = day, day + timedelta(days=1)
    elif period == "week":
        begin = day - timedelta(days=day.weekday())  # ISO weeks start on Monday
        end = begin + timedelta(days=7)
    elif period == "month":
        begin = day.replace(day=1)
        end = begin + timedelta(days=calendar.monthrange(begin.year, begin.month)[1])
    else:
        raise ValueError(f"unknown period {period!r}")
    return Window(period, int(begin.timestamp()), int(end.timestamp()))


def reset_text(seconds: float) -> str:
    """A duration as OpenAI writes x-ratelimit-reset-tokens: "1s", "6m0s", "1h2m3s", "250ms"."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    total = math.ceil(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
