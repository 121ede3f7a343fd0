"""Posting metric streams to Monitoring (PostMetricData), signed by the function's resource principal.

With the oci SDK's MonitoringClient, on the telemetry-ingestion endpoint
(PostMetricData is not served by the `telemetry` endpoint the SDK would
derive). Requests are NON_ATOMIC: a stream Monitoring refuses is reported in
`failedMetrics` and the others are kept, so one bad datapoint does not lose a
chunk; the refused ones are logged and counted, not resent (they would be
refused again), as is a chunk refused whole (400).

Retries are ours, not the SDK's retry strategy: a 429, a 5xx or a failed
connection is retried with backoff while the call's budget (from Fn-Deadline)
lasts, and each attempt's read timeout is cut to what is left of it, which the
SDK's strategy (it bounds the time between attempts, not an attempt) does not
do. A chunk that still fails is reported to the caller, which fails the
invocation so that the connector delivers the batch again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import oci

from .aggregate import Stream
from .budget import Budget
from .config import Config

log = logging.getLogger("usage_metrics")

#: Attempts per chunk at most, the deadline permitting.
MAX_ATTEMPTS = 4
#: First backoff (doubled each time, with jitter), and the longest one.
BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
#: Seconds an attempt needs at least; with less left, the chunk is given up.
MIN_ATTEMPT_S = 1.0
CONNECT_TIMEOUT_S = 5.0
#: The refused streams named in the log, at most (their count is always logged).
LOGGED_FAILURES = 5
RETRIED_STATUSES = frozenset({409, 429}) | frozenset(range(500, 600))
#: What `_post_chunk` returns for a chunk Monitoring refused as invalid (400): not retried, not failed.
REFUSED: Any = object()


@dataclass
class Outcome:
    """What posting a batch's chunks did."""

    chunks: int = 0
    failed_chunks: int = 0
    #: Streams Monitoring refused (NON_ATOMIC: the rest of their chunk was kept).
    failed_metrics: int = 0
    attempts: int = 0
    #: The first refusals' messages, for the log.
    failures: list[str] = field(default_factory=list)


def new_client(config: Config, signer: Any | None = None) -> Any:
    """A MonitoringClient for `config.endpoint`, signed by the resource principal unless `signer` is given."""
    return oci.monitoring.MonitoringClient(
        {},
        signer=signer or oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=config.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        # Retries and failures are counted per invocation here; an SDK breaker would fail batches it never sent.
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
    )


def details(config: Config, chunk: list[Stream]) -> Any:
    models = oci.monitoring.models
    return models.PostMetricDataDetails(
        batch_atomicity="NON_ATOMIC",
        metric_data=[
            models.MetricDataDetails(
                namespace=config.namespace,
                compartment_id=config.compartment_id,
                name=stream.name,
                dimensions=stream.dimensions,
                datapoints=[
                    models.Datapoint(timestamp=minute, value=value, count=1) for minute, value in stream.points
                ],
            )
            for stream in chunk
        ],
    )


def post(
    client: Any,
    config: Config,
    chunks: list[list[Stream]],
    budget: Budget,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Post every chunk, each retried while the budget lasts; never raises for Monitoring's answers."""
    outcome = Outcome(chunks=len(chunks))
    for chunk in chunks:
        answer = _post_chunk(client, details(config, chunk), budget, outcome, sleep)
        if answer is REFUSED:
            # 400: Monitoring read the request and took none of it; the same batch would be refused again.
            outcome.failed_metrics += len(chunk)
            continue
        if answer is None:
            outcome.failed_chunks += 1
            continue
        outcome.failed_metrics += answer.failed_metrics_count or 0
        for failed in (answer.failed_metrics or [])[: LOGGED_FAILURES - len(outcome.failures)]:
            metric = failed.metric_data
            outcome.failures.append(f"{metric.name} {metric.dimensions}: {failed.message}")
    return outcome


def _post_chunk(client: Any, body: Any, budget: Budget, outcome: Outcome, sleep: Callable[[float], None]) -> Any:
    """The chunk's PostMetricDataResponseDetails; REFUSED for a 400; None when it failed (or the budget ran out)."""
    backoff = BACKOFF_S
    for attempt in range(1, MAX_ATTEMPTS + 1):
        left = budget.remaining()
        if left < MIN_ATTEMPT_S:
            _note(outcome, f"chunk given up: {left:.1f} s left of the call's deadline")
            return None
        client.base_client.timeout = (min(CONNECT_TIMEOUT_S, left), left)
        outcome.attempts += 1
        try:
            return client.post_metric_data(body).data
        except oci.exceptions.ServiceError as exc:
            why = f"{exc.status} {exc.code}: {exc.message}"
            if exc.status == 400:
                _note(outcome, f"chunk refused: {why}")
                return REFUSED
            if exc.status not in RETRIED_STATUSES:
                # 401/404: the function may not post (IAM); failing lets the connector deliver it again once fixed.
                _note(outcome, f"chunk not accepted: {why}")
                return None
        except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}"[:300]
        if attempt == MAX_ATTEMPTS:
            _note(outcome, f"chunk failed after {attempt} attempts: {why}")
            return None
        pause = min(backoff, MAX_BACKOFF_S) * random.uniform(0.5, 1.0)
        if pause > budget.remaining() - MIN_ATTEMPT_S:
            _note(outcome, f"chunk failed ({why}); no time left to retry before the deadline")
            return None
        log.warning("PostMetricData attempt %d failed (%s), retrying in %.1f s", attempt, why, pause)
        sleep(pause)
        backoff *= 2
    return None


def _note(outcome: Outcome, failure: str) -> None:
    if len(outcome.failures) < LOGGED_FAILURES:
        outcome.failures.append(failure)
