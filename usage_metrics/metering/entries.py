"""The connector's batch: a JSON array of log entries, read one entry at a time.

Connector Hub hands a Functions target a JSON array of log entries. Each is
taken as `{"data": {"message": "<line>"}, "time": "<ISO 8601>", ...}`, or the
same wrapped as `{"logContent": {...}}` (the shape Logging search gives).

The body (up to the 6 MB Functions payload limit) is never parsed whole:
`json.loads` of it would build every entry's objects at once, and a hostile
6 MB of `[{},{},…]` is ~150 MB of Python objects, over the function's 128 MB.
Instead each entry's end is found first (brackets counted, strings skipped
whole) and only an entry under MAX_ENTRY_CHARS is handed
to `json.JSONDecoder.raw_decode`. The standard library's decoder, not a
streaming library such as ijson: entries are small and read whole anyway, so
an event parser would add a dependency (and its C extension) to the image to
build the same objects more slowly.

Nothing here raises on bad input: what cannot be read is counted in `Tally`
and skipped, and the rest of the batch is still read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

#: One log entry's JSON, at most: the main function's line is well under 4 KiB (prompt logging caps
#: prompt and output at 2,000 characters each, genai_fn/logs.py), its envelope a few hundred bytes.
MAX_ENTRY_CHARS = 64 * 1024
#: One `data.message`, at most.
MAX_MESSAGE_CHARS = 32 * 1024
# What it takes to find where a JSON value ends: brackets, and quotes (strings are skipped whole).
_STRUCTURE = re.compile(r'[\[\]{}"]')
_SPACE = re.compile(r"[ \t\n\r]*")
_SCALAR_END = re.compile(r"[,\]]")
_DECODER = json.JSONDecoder()


@dataclass
class Tally:
    """What the batch held, for the one summary line the function logs."""

    #: Entries whose end was found: each is read, unreadable or oversized.
    entries: int = 0
    #: Entries that are not a log entry with a string `data.message` (or not JSON at all).
    unreadable: int = 0
    #: Entries over MAX_ENTRY_CHARS, or messages over MAX_MESSAGE_CHARS.
    oversized: int = 0
    #: Whether the body ended before its array did (the rest of it could not be read).
    truncated: bool = False


@dataclass(frozen=True)
class Entry:
    """One log entry's time (None when it has none) and message."""

    time: datetime | None
    message: str


def read(body: bytes, tally: Tally) -> Iterator[Entry]:
    """The entries of a connector batch, in order; `tally` counts what was skipped.

    A body that is one object rather than an array is read as a batch of one.
    """
    text = body.decode("utf-8", errors="replace")
    pos = _SPACE.match(text).end()  # type: ignore[union-attr]
    if not text.startswith("[", pos):
        if pos < len(text):
            yield from _entry(text, pos, _value_end(text, pos), tally)
        return
    pos += 1
    while True:
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("]", pos):
            return
        end = _value_end(text, pos)
        if end is None:
            tally.truncated = True
            return
        yield from _entry(text, pos, end, tally)
        pos = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            tally.truncated = True  # neither another entry nor the array's end: the rest cannot be placed
            return


def _value_end(text: str, pos: int) -> int | None:
    """Where the JSON value starting at `pos` ends; None when the text ends first.

    Objects and arrays end where their brackets balance (strings skipped
    whole; whether the inside is JSON is raw_decode's to say), strings at
    their closing quote, anything else at the next `,` or `]`.
    """
    if text.startswith('"', pos):
        return _string_end(text, pos)
    if not text.startswith(("{", "["), pos):
        other = _SCALAR_END.search(text, pos)
        return other.start() if other else len(text)
    depth = 0
    while (found := _STRUCTURE.search(text, pos)) is not None:
        char, pos = found.group(), found.end()
        if char == '"':
            end = _string_end(text, found.start())
            if end is None:
                return None
            pos = end
        elif char in "[{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos
    return None


def _string_end(text: str, pos: int) -> int | None:
    """The end of the JSON string whose opening quote is at `pos`; None if it is not closed.

    With str.find, not a regular expression: `"(?:[^"\\]|\\.)*"` keeps state for
    every escape it repeats over, ~120 MB for a string of a million `\\u00e9`.
    """
    start = pos + 1
    while (quote := text.find('"', start)) >= 0:
        backslash = quote
        while backslash > pos + 1 and text[backslash - 1] == "\\":
            backslash -= 1
        if (quote - backslash) % 2 == 0:  # not escaped
            return quote + 1
        start = quote + 1
    return None


def _entry(text: str, start: int, end: int | None, tally: Tally) -> Iterator[Entry]:
    """The entry in text[start:end], if it is a log entry with a message; counted in `tally` either way."""
    if end is None:
        tally.truncated = True
        return
    tally.entries += 1
    if end - start > MAX_ENTRY_CHARS:
        tally.oversized += 1
        return
    try:
        value, stop = _DECODER.raw_decode(text[start:end])
    except (ValueError, RecursionError):
        tally.unreadable += 1
        return
    if stop != end - start:
        tally.unreadable += 1
        return
    content = value.get("logContent", value) if isinstance(value, dict) else None
    data = content.get("data") if isinstance(content, dict) else None
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str) or not isinstance(content, dict):
        tally.unreadable += 1
        return
    if len(message) > MAX_MESSAGE_CHARS:
        tally.oversized += 1
        return
    try:
        moment = entry_time(content.get("time"))
    except ValueError:
        tally.unreadable += 1
        return
    yield Entry(moment, message)


def entry_time(value: object) -> datetime | None:
    """A log entry's `time`: ISO 8601 (`Z` allowed; no zone is UTC) or epoch milliseconds.

    None when the entry has none; ValueError when it cannot be read.
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, timezone.utc)
        except (OverflowError, OSError) as exc:
            raise ValueError(f"time {value!r} is out of range") from exc
    if not isinstance(value, str):
        raise ValueError(f"time {value!r} is not a string or a number")
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
