"""Buffered server-sent event streams: is this one whole, and what did it end with?

OCI Functions answers each call with one body, so a `stream: true` request is
collected upstream and passed on in one piece (the client's SSE parser reads it
as a stream that arrived at once). A stream is passed on only when it is
whole: a caller must never get 200 with half an answer.

- A Responses stream is whole when its last event is `response.completed`,
  `response.incomplete` (the model stopped early, e.g. at `max_output_tokens`:
  a whole answer that says so) or `response.failed`. A stream that just stops,
  or ends with an `error` event, is not.
- A Chat Completions stream is whole when it ends with `data: [DONE]`. Its last
  chunk before that carries the usage the function asked for (`ask_chat_usage`),
  taken out again when the client did not ask (`without_usage_chunk`).

Both checks look at the end of the buffer only, without splitting or copying it,
and read the last event with `answer_fields`' bounded scanner: its `type` is a
member of its JSON like any other, found wherever it stands, not looked for in
the line's first bytes; the final event repeats the whole response (megabytes,
possibly hostile) and is never parsed whole.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from . import answer_fields
from .answer_fields import Malformed, Scanner, Span

#: The events that end a Responses API stream, each carrying the whole response.
RESPONSES_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_DONE = b"data: [DONE]"
#: The last event of a chat stream ends this close to the end of the buffer (its trailing blank lines).
_TAIL = 4096


class Kind(enum.Enum):
    """Which API's event stream a route answers with."""

    RESPONSES = "responses"
    CHAT = "chat"


@dataclass(frozen=True)
class Ending:
    """How a buffered stream ended."""

    whole: bool
    #: Where in the buffer the final event's JSON is (Responses: its `response` object; Chat: the
    #: last chunk with data), for `answer_fields.read`; None when there is none.
    final: Span | None = None
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
    # The event's type is read as a member of its JSON, wherever it stands, within the scanner's bounds: the
    # final event repeats the whole response, so it may be megabytes long, and is never parsed whole. When a
    # bound stops the reading, the type counts if it came before (OpenAI and OCI write it first): the stream
    # is whole, and its response (not read) is passed on as it came, like any answer too large to read.
    scan = Scanner(content)
    try:
        found, read_whole = scan.leading_members(line, frozenset({"type", "response"}))
    except Malformed:
        return Ending(False, problem="it ended before its final event (response.completed)")
    kind = scan.string(found.get("type"), answer_fields.MAX_VALUE_BYTES)
    if kind is None and not read_whole:
        return Ending(False, problem="its last event is larger or deeper than the function reads")
    if kind in RESPONSES_FINAL_EVENTS:
        response = found.get("response")
        if response is not None and answer_fields.is_object(content, response):
            return Ending(True, final=response)
        if not read_whole:
            return Ending(True)
        return Ending(False, problem="its final event carries no response object")
    if kind == "error":
        message, _ = answer_fields.error_fields(content, line)
        return _error_ending(message)
    return Ending(False, problem="it ended before its final event (response.completed)")


def _chat_ending(content: bytes | bytearray) -> Ending:
    tail = bytes(content[-_TAIL:]).rstrip()
    if not tail.endswith(_DONE):
        line = _last_data_line(content)
        if line is not None:
            message, code = answer_fields.error_fields(content, line)
            if message or code:
                return _error_ending(message)
        return Ending(False, problem="it ended before data: [DONE]")
    # The chunk before [DONE] carries usage: the function asks for it (`ask_chat_usage`) whatever the client asked.
    before = _last_data_line(content, end=content.rfind(_DONE))
    return Ending(True, final=before)


def ask_chat_usage(payload: dict[str, Any]) -> bool:
    """Ask for a chat stream's usage chunk (`stream_options.include_usage`) whatever the client asked.

    Without it a chat stream carries no token counts, and the call's tokens would be missing from its log
    line, the token metrics and the budget alarm. Returns True when the client did not ask: the function
    then takes the usage-only chunk out of the answer (`without_usage_chunk`), so that the client gets
    the stream it would have got from OpenAI. A `stream_options` that is not an object is left for the
    service to refuse.
    """
    options = payload.get("stream_options")
    if options is None:
        options = payload["stream_options"] = {}
    elif not isinstance(options, dict):
        return False
    if options.get("include_usage") is True:
        return False
    options["include_usage"] = True
    return True


def without_usage_chunk(content: bytes | bytearray, end: Ending) -> bytes | bytearray:
    """`content`, a whole chat stream, without its usage-only chunk (`choices: []` and `usage`) before
    `data: [DONE]`; unchanged when its last chunk is not one. A bytearray is changed in place (no copy)."""
    if not end.whole or end.final is None:
        return content
    scan = Scanner(content)
    try:
        found = scan.members(end.final, frozenset({"choices", "usage"}))
    except (Malformed, answer_fields.Unreadable):
        return content
    choices = found.get("choices")
    if "usage" not in found or choices is None or not answer_fields.is_array(content, choices):
        return content
    try:
        if next(scan.children(choices), None) is not None:
            return content  # a chunk with a choice is part of the answer
    except (Malformed, answer_fields.Unreadable):
        return content
    line = end.final[0] - len(b"data:")
    done = content.rfind(_DONE)
    if isinstance(content, bytearray):
        del content[line:done]
        return content
    return content[:line] + content[done:]


def _error_ending(message: str) -> Ending:
    return Ending(False, problem="it ended with an error event", upstream_message=message[:500])


def _last_data_line(content: bytes | bytearray, end: int | None = None) -> Span | None:
    """Where the JSON of the last `data:` line before `end` is, found from the back without copying."""
    stop = len(content) if end is None else end
    while True:
        start = content.rfind(b"data:", 0, stop)
        if start < 0:
            return None
        if start == 0 or content[start - 1] in b"\r\n":
            finish = content.find(b"\n", start, stop)
            return start + 5, stop if finish < 0 else finish
        stop = start
