"""Hostile batches for the usage-metrics function's reader (usage_metrics/metering/entries.py).

Any bytes: the reader never raises, and every entry whose end it found is either read, unreadable or oversized.
Any JSON array: it reads exactly the messages `json.loads` of the whole body would give (the reference), entry by
entry, without parsing the whole body.

FUZZ_EXAMPLES sets the examples per test: 300 by default (CI-sized), FUZZ_EXAMPLES=10000 for the full run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.support import FUZZ
from usage_metrics.metering import entries

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
)
TIMES = st.none() | st.integers(min_value=0, max_value=4_000_000_000_000) | st.text(max_size=30) | SCALARS
ENTRIES = st.builds(
    lambda message, time, wrapped, extra: (
        {"logContent": {"data": {"message": message}, "time": time, **extra}}
        if wrapped
        else {"data": {"message": message}, "time": time, **extra}
    ),
    st.text(max_size=50) | st.just('{"event":"invocation","status":200} "\\]}'),
    TIMES,
    st.booleans(),
    st.dictionaries(st.sampled_from(["id", "oracle", "type"]), VALUES, max_size=2),
)


def reference(entry: Any) -> tuple[datetime | None, str] | None:
    """What reading `entry` should give, decided on the whole body's `json.loads`."""
    if len(json.dumps(entry)) > entries.MAX_ENTRY_CHARS or not isinstance(entry, dict):
        return None
    content = entry.get("logContent", entry)
    data = content.get("data") if isinstance(content, dict) else None
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str) or len(message) > entries.MAX_MESSAGE_CHARS:
        return None
    try:
        return entries.entry_time(content.get("time")), message  # type: ignore[union-attr]
    except ValueError:
        return None


@FUZZ
@given(st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode()[:-1], VALUES))
def test_any_bytes_are_read_without_raising_and_every_entry_is_accounted_for(body: bytes) -> None:
    tally = entries.Tally()
    read = list(entries.read(body, tally))
    assert len(read) + tally.unreadable + tally.oversized == tally.entries


@FUZZ
@given(st.lists(ENTRIES | VALUES, max_size=8))
def test_any_json_array_gives_exactly_the_messages_a_whole_parse_would(batch: list[Any]) -> None:
    tally = entries.Tally()
    got = [(e.time, e.message) for e in entries.read(json.dumps(batch).encode(), tally)]
    expected = [found for found in map(reference, batch) if found is not None]
    assert got == expected
    assert tally.entries == len(batch) and not tally.truncated
