"""One connector batch in, metrics posted, one summary line out: what the function's handler does.

    batch (JSON array of log entries) → entries.read → lines.parse → Aggregate (per minute, client, model)
    → chunks of 50 streams → post (PostMetricData, NON_ATOMIC, retried within the deadline)

The answer is 200 when every chunk was posted (streams Monitoring refused
inside a chunk are logged, not retried: they would be refused again), and
502 when a chunk could not be posted, or the configuration is bad, so that
Connector Hub delivers the batch again (fdk passes on only 200, 502 and 504).
Delivery is therefore at least once: the chunks that did go through the first
time are counted again when the batch comes back. A batch posts at most
`aggregate.MAX_PAIRS` (client, model) pairs.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import aggregate, entries, lines, post
from .budget import Budget
from .config import Config, ConfigError

log = logging.getLogger("usage_metrics")
#: Seconds kept from the deadline for writing the log line and the answer.
MARGIN_S = 2.0
#: Libraries that fdk's DEBUG root logger would make write several lines per request.
NOISY_LOGGERS = ("oci", "urllib3", "asyncio")


@dataclass
class Summary:
    """The one line logged per batch (`"event": "usage_metrics"`), also the answer's body."""

    entries: int = 0
    #: Invocation lines counted in the metrics.
    counted: int = 0
    #: Other lines of the log (fdk's, the platform's, this function's own): not ours to count.
    ignored: int = 0
    #: Entries or invocation lines that could not be read (not JSON, wrong types, no data.message).
    unreadable: int = 0
    oversized: int = 0
    truncated: bool = False
    #: Calls older than Monitoring accepts (two hours) or too far ahead (ten minutes): not posted.
    too_old: int = 0
    ahead: int = 0
    #: Calls counted under the `(other)` client and model: the batch named more pairs than it posts.
    folded: int = 0
    streams: int = 0
    chunks: int = 0
    failed_chunks: int = 0
    failed_metrics: int = 0
    attempts: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class App:
    """The function's state for a container: its configuration (or what is wrong with it) and its client."""

    config: Config | None
    config_error: str = ""
    new_client: Callable[[Config], Any] = post.new_client
    _client: Any = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **options: Any) -> App:
        """Read and check the configuration now; a bad one is logged now and answered on every call."""
        configure_logging()
        try:
            return cls(Config.from_environ(environ), **options)
        except ConfigError as exc:
            log.error(json.dumps({"event": "usage_metrics_config_error", "error": str(exc)}))
            return cls(None, str(exc), **options)

    def handle(self, body: bytes, deadline: str | None, *, now: datetime | None = None) -> tuple[int, dict[str, Any]]:
        """(status, summary) for one batch; never raises."""
        if self.config is None:
            # 502, not 500: fdk passes on only 200, 502 and 504 (fdk/constants.py FN_ENFORCED_RESPONSE_CODES)
            # and answers 200 for any other status, so a 500 would tell Connector Hub the batch was delivered.
            return 502, {"error": self.config_error}
        budget = Budget.from_fn_deadline(deadline, MARGIN_S)
        counts, summary = count(body, now or datetime.now(timezone.utc))
        chunks = list(aggregate.chunks(counts.streams()))
        summary.streams = sum(len(chunk) for chunk in chunks)
        if chunks:
            try:
                outcome = post.post(self.client(), self.config, chunks, budget)
            except Exception as exc:  # noqa: BLE001 - the signer or the SDK failed before any answer
                outcome = post.Outcome(chunks=len(chunks), failed_chunks=len(chunks), failures=[repr(exc)[:300]])
            summary.chunks, summary.failed_chunks, summary.failed_metrics = (
                outcome.chunks,
                outcome.failed_chunks,
                outcome.failed_metrics,
            )
            summary.attempts, summary.failures = outcome.attempts, outcome.failures
        status = 502 if summary.failed_chunks else 200
        line = {"event": "usage_metrics", "status": status, **asdict(summary)}
        log.log(logging.WARNING if status != 200 or summary.failed_metrics else logging.INFO, json.dumps(line))
        return status, line

    def client(self) -> Any:
        """The MonitoringClient, built on the first batch that has something to post and kept."""
        if self._client is None:
            assert self.config is not None
            self._client = self.new_client(self.config)
        return self._client


def count(body: bytes, now: datetime) -> tuple[aggregate.Aggregate, Summary]:
    """The batch's invocation lines summed, and what was skipped and why."""
    counts, summary, tally = aggregate.Aggregate(now), Summary(), entries.Tally()
    for entry in entries.read(body, tally):
        if not lines.is_candidate(entry.message):
            summary.ignored += 1
            continue
        call = lines.parse(entry.message)
        if call is None:
            summary.unreadable += 1
            continue
        counts.add(entry.time, call)
    summary.entries, summary.oversized, summary.truncated = tally.entries, tally.oversized, tally.truncated
    summary.unreadable += tally.unreadable
    summary.counted, summary.too_old, summary.ahead = counts.counted, counts.too_old, counts.ahead
    summary.folded = counts.folded
    return counts, summary


def configure_logging() -> None:
    """Bare JSON lines on stderr (the invoke log), and the chatty libraries held at WARNING."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now, not what it was when configured (as genai_fn/logs.py's does:
    test runners and some hosts replace it after start-up)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass
