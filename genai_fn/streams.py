"""Buffered server-sent event streams: is this one whole, and what did it end with?

OCI Functions answers each call with one body, so a `stream: true` request is
collected upstream and passed on in one piece (the client's SSE parser reads it
as a stream that arrived at once). A stream is passed on only when it is
whole: a caller must never get 200 with half an answer.

- A Responses stream is whole when its last event is `response.completed`,
  `response.incomplete` (the model stopped early, e.g. at `max_output_tokens`:
  a whole answer that says so) or `response.failed`. A stream that just stops,
  or ends with an `error` event, is not.
- A Chat Completions stream is whole when it ends with `data: [DONE]`.

Both checks look at the end of the buffer only, without splitting or copying it.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

#: The events that end a Responses API stream, each carrying the whole response.
RESPONSES_FINAL_EVENTS = (b'"response.completed"', b'"response.incomplete"', b'"response.failed"')
_DONE = b"data: [DONE]"
#: The last event of a stream is far shorter than this, except the final Responses
#: event, which repeats the whole response: that one is found by searching backwards.
_TAIL = 4096


class Kind(enum.Enum):
    """Which API's event stream a route answers with."""

    RESPONSES = "responses"
    CHAT = "chat"


@dataclass(frozen=True)
class Ending:
    """How a buffered stream ended."""

    whole: bool
    #: The final event's JSON (Responses: the `response` object; Chat: the last chunk with data).
    final: dict[str, Any] | None = None
    #: Why it is not whole, for the caller's error and the log line.
    problem: str = ""
    #: The upstream's own message, when the stream ended with an `error` event.
    upstream_message: str = ""


def ending(kind: Kind, content: bytes | bytearray) -> Ending:
    """Check `content`, a whole buffered event stream, for its final event."""
    if kind is Kind.CHAT:
        return _chat_ending(content)
    return _responses_ending(content)


def _responses_ending(content: bytes | bytearray) -> Ending:
    line = _last_data_line(content)
    if line is None:
        return Ending(False, problem="the stream is empty")
    if any(event in line[:200] for event in RESPONSES_FINAL_EVENTS):
        data = _loads(line[5:])
        response = data.get("response") if isinstance(data, dict) else None
        if isinstance(response, dict):
            return Ending(True, final=response)
        return Ending(False, problem="its final event is not valid JSON")
    data = _loads(line[5:])
    if isinstance(data, dict) and data.get("type") == "error":
        return _error_ending(data.get("error") or data)
    return Ending(False, problem="it ended before its final event (response.completed)")


def _chat_ending(content: bytes | bytearray) -> Ending:
    tail = bytes(content[-_TAIL:]).rstrip()
    if not tail.endswith(_DONE):
        data = _loads((_last_data_line(content) or b"data:")[5:])
        if isinstance(data, dict) and "error" in data:
            return _error_ending(data["error"])
        return Ending(False, problem="it ended before data: [DONE]")
    # The chunk before [DONE] carries usage when the client asked for it (stream_options.include_usage).
    before = _last_data_line(content, end=content.rfind(_DONE))
    data = _loads(before[5:]) if before else None
    return Ending(True, final=data if isinstance(data, dict) else None)


def _error_ending(error: Any) -> Ending:
    message = error.get("message", "") if isinstance(error, dict) else error
    return Ending(False, problem="it ended with an error event", upstream_message=str(message)[:500])


def _last_data_line(content: bytes | bytearray, end: int | None = None) -> bytes | None:
    """The last `data:` line before `end`, found from the back without splitting the buffer."""
    stop = len(content) if end is None else end
    while True:
        start = content.rfind(b"data:", 0, stop)
        if start < 0:
            return None
        if start == 0 or content[start - 1] in b"\r\n":
            finish = content.find(b"\n", start, stop)
            line = bytes(content[start : stop if finish < 0 else finish]).rstrip(b"\r")
            return line
        stop = start


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
