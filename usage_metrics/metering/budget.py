"""The time a call may still spend, from its `Fn-Deadline` header.

fdk does not enforce the deadline; the platform kills a call that runs past
it, and the connector then sees a failure it did not need to. The same idea
as the main function's genai_fn/deadline.py, copied rather than imported:
importing genai_fn would put the main function's package (and its
dependencies) into this function's image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

#: What fdk assumes when no deadline arrives (fdk.constants.DEFAULT_DEADLINE).
DEFAULT_BUDGET_S = 30.0


@dataclass(frozen=True)
class Budget:
    """A point on the monotonic clock by which the call must have answered."""

    expires_at: float

    @classmethod
    def from_fn_deadline(cls, deadline: str | None, margin_s: float, *, now: datetime | None = None) -> Budget:
        """The budget of a call whose `Fn-Deadline` is `deadline` (RFC 3339); fdk's 30 s when unreadable."""
        seconds = DEFAULT_BUDGET_S
        try:
            expires = datetime.fromisoformat(deadline.strip().replace("Z", "+00:00")) if deadline else None
        except ValueError:
            expires = None
        if expires is not None:
            expires = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
            seconds = (expires - (now or datetime.now(timezone.utc))).total_seconds()
        return cls(time.monotonic() + seconds - margin_s)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.expires_at - time.monotonic())
