"""The time a call may still spend, from the `Fn-Deadline` header.

fdk does not enforce the deadline: the platform simply kills a call that runs
past it, and the caller gets a platform error instead of ours. So every call
works out its own budget and gives the upstream request (retries included) only
what is left, minus a safety margin for building and sending the answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

#: What fdk assumes when no deadline arrives (fdk.constants.DEFAULT_DEADLINE).
DEFAULT_BUDGET_S = 30.0


@dataclass(frozen=True)
class Budget:
    """A point on the monotonic clock after which the call must have answered."""

    expires_at: float

    @classmethod
    def from_fn_deadline(cls, deadline: str | None, margin_s: float, *, now: datetime | None = None) -> Budget:
        """Budget for a call whose `Fn-Deadline` header is `deadline` (RFC 3339).

        A missing or unreadable header gets fdk's own default of 30 s.
        """
        seconds = DEFAULT_BUDGET_S
        if deadline:
            try:
                expires = datetime.fromisoformat(deadline.strip())
            except ValueError:
                expires = None
            if expires is not None:
                if expires.tzinfo is None:
                    expires = expires.replace(tzinfo=timezone.utc)
                seconds = (expires - (now or datetime.now(timezone.utc))).total_seconds()
        return cls(time.monotonic() + seconds - margin_s)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.expires_at - time.monotonic())
