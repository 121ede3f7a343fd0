"""The local stack's Connector Hub: invocation lines → the usage-metrics function → emulated Monitoring.

    invocations.jsonl (FnRunner appends each call's line in Logging's envelope)
      → LocalConnector (new complete lines, in batches: a JSON array of log entries)
      → usage_metrics/func.py under the real fdk, signed by its own emulated resource principal
      → TelemetryEmulator (PostMetricData, signature checked) → metrics.jsonl

As Connector Hub does for a Functions target, a batch the function fails
(non-2xx) is delivered again, and the lines after it wait: the connector's
read position moves only past a batch the function took. `deliver()` sends
what is there now and returns (the tests call it); `UsageMetrics` also runs
it every `interval_s` in a thread for `make run`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from .credentials import COMPARTMENT, Identity, Issuer, ResourcePrincipal
from .runner import ROOT, FnRunner, PlatformResponse
from .telemetry import TelemetryEmulator

FUNC = ROOT / "usage_metrics" / "func.py"
#: The Functions payload limit (request body), less room for the array's brackets and commas.
MAX_BATCH_BYTES = 6_000_000 - 64 * 1024
IDENTITY = Identity(fn_id="ocid1.fnfunc.oc1.us-chicago-1.aaaaaaaalocalusagemetrics", fn_name="genai-usage-metrics")


@dataclass
class LocalConnector:
    """Reads new lines of `source` and hands them to `invoke` in batches, at least once each."""

    source: Path
    invoke: Callable[[bytes], PlatformResponse]
    #: Log entries per batch, at most.
    batch_entries: int = 1000
    max_batch_bytes: int = MAX_BATCH_BYTES
    #: Byte offset in `source` of the first line not yet taken by the function.
    offset: int = 0
    #: Batches the function took, and those it failed (each is delivered again on the next pass).
    delivered: int = 0
    failed: int = 0
    #: Lines of `source` that are not JSON (the connector's source is Logging: it never sends such a line).
    skipped_lines: int = 0
    answers: list[PlatformResponse] = field(default_factory=list)

    def deliver(self) -> bool:
        """Send every complete line written since the last batch the function took; False if a batch failed."""
        while True:
            batch, end = self._next_batch()
            if not batch:
                return True
            answer = self.invoke(b"[" + b",".join(batch) + b"]")
            self.answers.append(answer)
            if not 200 <= answer.status < 300:
                self.failed += 1
                return False
            self.delivered += 1
            self.offset = end

    def _next_batch(self) -> tuple[list[bytes], int]:
        """The next batch's entries and the offset after them."""
        if not self.source.exists():
            return [], self.offset
        batch: list[bytes] = []
        size, position = 0, self.offset
        with self.source.open("rb") as lines:
            lines.seek(self.offset)
            for line in lines:
                if not line.endswith(b"\n"):
                    break  # still being written
                entry = line.strip()
                if entry and size + len(entry) + 1 > self.max_batch_bytes and batch:
                    break
                position += len(line)
                if not entry:
                    continue
                try:
                    json.loads(entry)
                except ValueError:
                    self.skipped_lines += 1
                    continue
                batch.append(entry)
                size += len(entry) + 1
                if len(batch) == self.batch_entries:
                    break
        return batch, position


class UsageMetrics:
    """The telemetry emulator, the usage-metrics function and the connector feeding it; a context manager.

    `source` is the invocation log the stack's containers append to; `record`
    the file the emulator appends kept datapoints to; `principal` the
    function's identity (default: one `issuer`, the emulator's IAM, issued). With `interval_s`, a
    thread delivers every `interval_s` seconds (Connector Hub's batch window);
    without it, call `connector.deliver()`.
    """

    def __init__(
        self,
        issuer: Issuer,
        source: Path,
        *,
        record: Path | None = None,
        interval_s: float | None = None,
        echo_logs: bool = False,
        config: dict[str, str] | None = None,
        principal: ResourcePrincipal | None = None,
        skip_existing: bool = False,
    ) -> None:
        self.issuer = issuer
        #: The function's identity; handed in (and left alone) or made here from `issuer`.
        self.principal = principal
        #: Start after what `source` holds already (`make run`: earlier runs' lines were counted then).
        self.skip_existing = skip_existing
        self.source = source
        self.record = record
        self.interval_s = interval_s
        self.echo_logs = echo_logs
        self.config = config or {}
        self.telemetry = TelemetryEmulator(issuer, record=record)
        self._exit = ExitStack()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runner: FnRunner | None = None
        self.connector: LocalConnector | None = None

    def start(self) -> UsageMetrics:
        try:
            self._exit.enter_context(self.telemetry)
            principal = self.principal or self._exit.enter_context(ResourcePrincipal(self.issuer, IDENTITY))
            env = {
                **principal.environ(),
                "USAGE_METRICS_COMPARTMENT_OCID": COMPARTMENT,
                "USAGE_METRICS_ENDPOINT": self.telemetry.base_url,
                **self.config,
            }
            self.runner = self._exit.enter_context(
                FnRunner(func_path=FUNC, code_root=ROOT, env=env, echo_logs=self.echo_logs)
            )
            runner = self.runner
            # Connector Hub invokes the function directly (no API Gateway): no Fn-Http-* headers.
            self.connector = LocalConnector(
                self.source,
                lambda body: runner.invoke(
                    "POST", "/", body=body, gateway=False, headers={"Content-Type": "application/json"}
                ),
                offset=self.source.stat().st_size if self.skip_existing and self.source.exists() else 0,
            )
            if self.interval_s:
                self._thread = threading.Thread(target=self._run, name="local-connector", daemon=True)
                self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self) -> None:
        assert self.connector is not None and self.interval_s
        while not self._stop.wait(self.interval_s):
            self.connector.deliver()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)
            self._thread = None
        self._exit.close()

    def __enter__(self) -> UsageMetrics:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
