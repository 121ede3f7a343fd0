"""What a function container holds between calls: its settings and its client.

Built once, when fdk first imports func.py. A configuration problem does not
stop the container: every call answers with the error naming the bad setting,
which is far easier to act on than a crash loop in the platform's logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import errors, logs
from .deadline import Budget
from .failover import Failover
from .limits import Limits
from .logs import CallRecord
from .settings import Settings, SettingsError
from .upstream import Answer, Outbound, Upstream

if TYPE_CHECKING:
    import openai


class Service:
    """The container's settings (validated) and its one upstream client."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.settings: Settings | None = None
        self.problem: SettingsError | None = None
        self._upstream: Upstream | None = None
        #: Only with GENAI_FALLBACK_REGIONS set; otherwise every call goes to `_upstream` as it always has.
        self._failover: Failover | None = None
        #: Only when a token limit is configured (genai_fn/limits/); its store is reached on the first limited call.
        self.limits: Limits | None = None
        try:
            self.settings = Settings.from_environ(environ)
        except SettingsError as exc:
            self.problem = exc
        logs.configure(self.settings.log_level if self.settings else "INFO")
        if self.settings:
            self._upstream = Upstream(self.settings, environ)
            if self.settings.fallback_regions:
                self._failover = Failover(self.settings, environ, self._upstream)
            if self.settings.limits is not None:
                upstream = self._upstream
                self.limits = Limits(self.settings.limits, lambda: upstream.http().auth)
            logs.event("start", {**self.settings.summary(), "auth_mode": self._upstream.auth_mode()})
        else:
            logs.event("start", {"problems": self.problem.problems if self.problem else {}}, logging.ERROR)

    @property
    def log_prompts(self) -> bool:
        return bool(self.settings and self.settings.log_prompts)

    def settings_or_raise(self) -> Settings:
        """The settings for a call, or the 502 that names the bad setting."""
        if self.settings is None:
            raise errors.misconfigured(str(self.problem))
        return self.settings

    def upstream(self) -> Upstream:
        """The home region's signed client, or the 502 that names the bad setting.

        Calls go through `send` (which fails over) and `openai`; this is for what measures or tests the client.
        """
        if self._upstream is None:
            raise errors.misconfigured(str(self.problem))
        return self._upstream

    @property
    def fails_over(self) -> bool:
        """Whether regional failover is on (GENAI_FALLBACK_REGIONS)."""
        return self._failover is not None

    def send(self, out: Outbound, budget: Budget, record: CallRecord, *, portable: bool = False) -> Answer:
        """Send `out` upstream; `portable` (it stores nothing) lets it fail over to another region."""
        if self._failover is None:
            return self.upstream().send(out, budget, record)
        return self._failover.send(out, budget, record, portable=portable)

    def openai(self) -> openai.OpenAI:
        """The OpenAI SDK client, signed by the function's identity, built on first use (custom logic)."""
        return self.upstream().openai()

    def warm_up(self) -> None:
        """Build the client and sign one offline request now, not on the first call.

        Called at import when GENAI_EAGER_START is on (see `genai_fn.boot`). A
        failure is logged and left for the first call to report to its caller,
        as a configuration problem is: the container still starts.
        """
        if self._upstream is None:
            return
        started = time.monotonic()
        try:
            self._upstream.warm_up()
        except errors.ApiError as exc:
            logs.event("warm_up", {"ok": False, "error": exc.code}, logging.ERROR)
            return
        logs.event("warm_up", {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)})
