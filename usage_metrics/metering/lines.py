"""The main function's per-call log line (genai_fn/logs.py), as the usage report and the metrics read it.

One set of rules for `make usage` (ops/usage.py) and the usage-metrics
function, so that both count the same calls: a line is counted when it is a
JSON object with `"event": "invocation"`, an integer `status`, a string (or
absent) `model` and `client`, and token counts that are absent, null or
non-negative integers (a `model` of null is unreadable, as ops/usage.py
always had it). Anything else that claims to be an invocation line is
unreadable (counted as such by the callers); lines without the word are not
ours (fdk's own lines, the platform's "Received function invocation request").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: Cheap test before parsing: every invocation line has it; most other lines of an invoke log do not.
MARK = '"invocation"'


@dataclass(frozen=True)
class Invocation:
    """What the usage report and the metrics need of one call."""

    #: The gateway's client name (X-GenAI-Client), "" when the line has none.
    client: str
    #: "" when the call named no model (or failed before one was chosen).
    model: str
    status: int
    input_tokens: int
    output_tokens: int

    @property
    def error(self) -> bool:
        return self.status >= 400


def is_candidate(message: str) -> bool:
    """Whether `message` may be an invocation line (else it is someone else's line, not ours to count)."""
    return MARK in message


def parse(message: str) -> Invocation | None:
    """The call that `message` records; None when it is not an invocation line we can count."""
    try:
        record = json.loads(message)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("event") != "invocation":
        return None
    model, client, status = record.get("model", ""), record.get("client"), record.get("status")
    if not isinstance(model, str) or not isinstance(client, str | None) or not _is_int(status):
        return None
    assert isinstance(status, int)
    tokens = [record.get("input_tokens"), record.get("output_tokens")]
    if any(value is not None and not (_is_int(value) and value >= 0) for value in tokens):
        return None
    return Invocation(client or "", model, status, tokens[0] or 0, tokens[1] or 0)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
