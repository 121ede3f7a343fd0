"""Calls and tokens per (minute, client, model), as PostMetricData's metric streams.

One metric stream is one metric name with one set of dimensions (`client`,
`model`), carrying a datapoint per minute. Counting per minute, not per
call, keeps a batch of thousands of calls to a few streams, and is the
resolution Monitoring's queries and alarms use at the finest (`[1m]`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .lines import Invocation

#: The metrics (names and dimensions are the contract with terraform/: the budget alarm queries TotalTokens).
METRICS = ("Calls", "ErrorCalls", "InputTokens", "OutputTokens", "TotalTokens")
#: What a dimension says when the line has no value for it (Monitoring refuses empty dimension values).
NONE = "-"
#: Monitoring's longest dimension value (MetricDataDetails.dimensions); longer ones are cut to it.
MAX_DIMENSION_CHARS = 512
#: PostMetricData refuses datapoints older than two hours or more than ten minutes ahead ("Publishing
#: Custom Metrics"). An entry outside is dropped and counted rather than sent, because one refused
#: datapoint would fail its whole stream. The margin keeps a datapoint that is just inside when read
#: from being outside by the time its request (retries included) arrives.
MAX_AGE = timedelta(hours=2)
MAX_AHEAD = timedelta(minutes=10)
MARGIN = timedelta(minutes=5)
#: PostMetricData's limit of metric streams (MetricDataDetails) per request.
STREAMS_PER_REQUEST = 50
#: Distinct (client, model) pairs a batch posts, at most: each is len(METRICS) streams. Calls of pairs past
#: it are counted under (OTHER, OTHER), so totals (and the per-deployment budget) stay right while the
#: batch's streams, requests, memory and time stay bounded whatever its lines name. The main function logs
#: only names the deployment serves (a refused model is `(refused)`), so a batch reaching this is not one
#: of its own: 250 pairs is 1,250 streams, 25 requests.
MAX_PAIRS = 250
#: The dimension value of the calls counted past MAX_PAIRS.
OTHER = "(other)"


@dataclass
class Sums:
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def values(self) -> tuple[int, int, int, int, int]:
        """In METRICS' order."""
        total = self.input_tokens + self.output_tokens
        return (self.calls, self.errors, self.input_tokens, self.output_tokens, total)


@dataclass
class Aggregate:
    """The sums of a batch, with what was left out because Monitoring would refuse it."""

    now: datetime
    #: (client, model) → minute → sums.
    series: dict[tuple[str, str], dict[datetime, Sums]] = field(default_factory=dict)
    too_old: int = 0
    ahead: int = 0
    counted: int = 0
    #: Calls counted under (OTHER, OTHER): their pair came after MAX_PAIRS others.
    folded: int = 0

    def add(self, moment: datetime | None, call: Invocation) -> None:
        """Count `call` in the minute of `moment` (now when the entry has no time)."""
        moment = moment or self.now
        if moment < self.now - MAX_AGE + MARGIN:
            self.too_old += 1
            return
        if moment > self.now + MAX_AHEAD - MARGIN:
            self.ahead += 1
            return
        minute = moment.replace(second=0, microsecond=0)
        key = ((call.client or NONE)[:MAX_DIMENSION_CHARS], (call.model or NONE)[:MAX_DIMENSION_CHARS])
        if key not in self.series and len(self.series) >= MAX_PAIRS:
            key = (OTHER, OTHER)
            self.folded += 1
        sums = self.series.setdefault(key, {}).setdefault(minute, Sums())
        sums.calls += 1
        sums.errors += call.error
        sums.input_tokens += call.input_tokens
        sums.output_tokens += call.output_tokens
        self.counted += 1

    def streams(self) -> Iterator[Stream]:
        """One metric stream per (client, model, metric), a datapoint per minute, oldest first."""
        for (client, model), minutes in sorted(self.series.items()):
            ordered = sorted(minutes.items())
            for index, name in enumerate(METRICS):
                yield Stream(name, client, model, [(minute, float(sums.values()[index])) for minute, sums in ordered])


@dataclass(frozen=True)
class Stream:
    """One metric (`name`) for one (client, model): PostMetricData's MetricDataDetails, less where it goes."""

    name: str
    client: str
    model: str
    #: (minute, value), oldest first.
    points: list[tuple[datetime, float]]

    @property
    def dimensions(self) -> dict[str, str]:
        return {"client": self.client, "model": self.model}


def chunks(streams: Iterable[Stream], size: int = STREAMS_PER_REQUEST) -> Iterator[list[Stream]]:
    """`streams` in requests of at most `size` streams each."""
    chunk: list[Stream] = []
    for stream in streams:
        chunk.append(stream)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
