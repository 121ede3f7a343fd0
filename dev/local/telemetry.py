"""An emulated Monitoring telemetry-ingestion endpoint: PostMetricData, signature checked, datapoints recorded.

`POST /20180401/metrics` with `{"metricData": [...], "batchAtomicity": ...}`,
as the usage-metrics function (usage_metrics/) sends it through the oci SDK.
The request must be signed by a resource principal whose token the emulated
IAM (`Issuer`) issued, checked by dev/local/signature.py as the Generative AI
emulator does (else 401 NotAuthenticated). Then what PostMetricData refuses
("Publishing Custom Metrics", https://docs.oracle.com/iaas/Content/Monitoring/Tasks/publishingcustommetrics.htm;
the API reference's per-call limits, https://docs.oracle.com/iaas/api/#/en/monitoring/20180401/MetricData/PostMetricData):

- more than 50 metric streams in one request, or none: 400 InvalidParameter;
- per stream: a namespace that is not lowercase letters, digits and `_` or
  starts with `oci_`/`oracle_`, no compartment, a bad name, no dimensions
  (at least 1, at most 20) or an empty dimension value, no datapoints, a
  datapoint older than two hours or more than ten minutes ahead, a value that
  is not a finite number. With `NON_ATOMIC` such a stream is listed in
  `failedMetrics` and the others are kept (a request with none to keep is a
  400); with `ATOMIC` the request is a 400 and nothing is kept.

Kept datapoints are in `datapoints` and, when `record` is given, appended to
that file one JSON object a line (`python -m dev.local.metrics` sums it).
`inject(status, times, delay_s)` makes the next requests fail (a 500, a 429)
or answer late, for the tests of the function's retries, its deadline and the
connector's redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web

from . import signature
from .credentials import Issuer
from .server import BackgroundServer

PATH = "/20180401/metrics"
MAX_STREAMS = 50
MAX_DIMENSIONS = 20
MAX_AGE = timedelta(hours=2)
MAX_AHEAD = timedelta(minutes=10)
_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.$-]{0,254}$")


@dataclass
class Post:
    """One request the emulator received."""

    status: int
    streams: int = 0
    failed: int = 0
    reason: str = ""
    jti: str = ""


@dataclass
class TelemetryEmulator:
    """The telemetry-ingestion endpoint on a free 127.0.0.1 port; a context manager."""

    issuer: Issuer
    record: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    posts: list[Post] = field(default_factory=list)
    #: Every datapoint kept: namespace, compartmentId, name, dimensions, timestamp, value.
    datapoints: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        #: (status, seconds to wait before answering) of the next requests; status 0 answers normally after the wait.
        self._faults: deque[tuple[int, float]] = deque()
        self._stopping: asyncio.Event | None = None
        self._lock = threading.Lock()
        self._server = BackgroundServer("telemetry-emulator", self.host, self.port)

    @property
    def base_url(self) -> str:
        """What USAGE_METRICS_ENDPOINT should be for the function to post here."""
        return f"http://{self.host}:{self.port}"

    def inject(self, status: int, *, times: int = 1, delay_s: float = 0.0) -> None:
        """Answer the next `times` requests with `status` (after checking their signature), each `delay_s` late.

        `status` 0 with a delay: a slow Monitoring that answers normally in the end (or not before it stops).
        """
        with self._lock:
            self._faults.extend([(status, delay_s)] * times)

    def start(self) -> TelemetryEmulator:
        def make_app() -> web.Application:
            self._stopping = asyncio.Event()
            app = web.Application(client_max_size=16 * 1024 * 1024)
            app.router.add_post(PATH, self._post)
            app.router.add_route("*", "/{tail:.*}", self._unknown)
            return app

        self._server.start(make_app)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._stopping is not None:
            self._server.call_soon(self._stopping.set)  # release delayed answers, so the server can stop
        self._server.stop()

    def __enter__(self) -> TelemetryEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _unknown(self, request: web.Request) -> web.Response:
        return _error(404, "NotAuthorizedOrNotFound", f"No route for {request.method} {request.path}")

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.read()
        post = Post(0)
        self.posts.append(post)
        try:
            claims = self.issuer.authenticate(request.method, request.path_qs, request.headers, body)
        except signature.SignatureError as exc:
            return _refuse(
                post,
                401,
                "NotAuthenticated",
                f"The required information to complete authentication was not provided or was incorrect: {exc}",
            )
        post.jti = str(claims.get("jti", ""))
        with self._lock:
            status, delay_s = self._faults.popleft() if self._faults else (0, 0.0)
        if delay_s and self._stopping is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay_s)
        if status:
            return _refuse(post, status, "InternalServerError" if status >= 500 else "TooManyRequests", "injected")
        try:
            payload = json.loads(body)
            streams = payload["metricData"]
            atomic = payload.get("batchAtomicity", "ATOMIC") == "ATOMIC"
            if not isinstance(streams, list):
                raise TypeError("metricData is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            return _refuse(post, 400, "InvalidParameter", f"unreadable PostMetricData body: {exc}")
        post.streams = len(streams)
        if not 1 <= len(streams) <= MAX_STREAMS:
            return _refuse(post, 400, "InvalidParameter", f"{len(streams)} metric streams: 1 to {MAX_STREAMS} allowed")
        now = datetime.now(timezone.utc)
        problems = [problem(stream, now) for stream in streams]
        failed = [{"metricData": s, "message": p} for s, p in zip(streams, problems, strict=True) if p]
        # ATOMIC: every stream must pass; NON_ATOMIC ("a partial pass"): at least one.
        if failed and (atomic or len(failed) == len(streams)):
            return _refuse(post, 400, "InvalidParameter", failed[0]["message"])
        kept = [
            {**{k: s[k] for k in ("namespace", "compartmentId", "name", "dimensions")}, **point}
            for s, p in zip(streams, problems, strict=True)
            if not p
            for point in s["datapoints"]
        ]
        self._keep(kept)
        post.status, post.failed = 200, len(failed)
        return web.json_response({"failedMetricsCount": len(failed), "failedMetrics": failed})

    def _keep(self, points: list[dict[str, Any]]) -> None:
        with self._lock:
            self.datapoints.extend(points)
            if self.record is not None and points:
                self.record.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, "".join(json.dumps(p) + "\n" for p in points).encode())
                finally:
                    os.close(fd)


def problem(stream: Any, now: datetime) -> str:
    """Why PostMetricData would refuse this metric stream; "" when it would keep it."""
    if not isinstance(stream, dict):
        return "a metric stream is not an object"
    namespace, name = stream.get("namespace"), stream.get("name")
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace) or namespace.startswith(("oci_", "oracle_")):
        return f"invalid namespace {namespace!r}"
    if not isinstance(stream.get("compartmentId"), str) or not stream["compartmentId"]:
        return "compartmentId is required"
    if not isinstance(name, str) or not _NAME.match(name):
        return f"invalid metric name {name!r}"
    dimensions = stream.get("dimensions")
    if not isinstance(dimensions, dict) or not 1 <= len(dimensions) <= MAX_DIMENSIONS:
        return f"a metric needs 1 to {MAX_DIMENSIONS} dimensions"
    if any(not isinstance(v, str) or not v or len(v) > 512 for v in dimensions.values()):
        return "dimension values must be 1 to 512 characters"
    points = stream.get("datapoints")
    if not isinstance(points, list) or not points:
        return "datapoints are required"
    for point in points:
        if not isinstance(point, dict):
            return "a datapoint is not an object"
        value = point.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"invalid datapoint value {value!r}"
        try:
            moment = datetime.fromisoformat(str(point.get("timestamp")).replace("Z", "+00:00"))
        except ValueError:
            return f"invalid timestamp {point.get('timestamp')!r}"
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        if not now - MAX_AGE < moment < now + MAX_AHEAD:
            return f"timestamp {point['timestamp']} is not within the past two hours and the next ten minutes"
    return ""


def _refuse(post: Post, status: int, code: str, message: str) -> web.Response:
    post.status, post.reason = status, message
    return _error(status, code, message)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)
