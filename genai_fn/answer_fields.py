"""What the function reads from an upstream answer, with a bound on size and work, never by parsing it whole.

Answers pass to the caller as the bytes that came. The function reads only a
few fields for its log line (the response id, token usage) and, for the simple
route, the output text; for error answers, the message and code. A document of
up to 6 MB may cost far more once parsed (`[{},{},…]`: a 64-byte dict for every
3 bytes, ~200 MiB for 5.9 MB) or be nested past the interpreter's recursion
limit, so nothing here calls `json.loads` on a document. Instead a scanner
walks the document's structure with one regular expression (strings, brackets,
commas, colons), without recursion and without building values, and decodes
only the small values it was asked for: a string, an integer.

Bounds (each one a reason to stop reading, never an error by itself):
  MAX_TOKENS      structural tokens scanned per answer (a real Responses object has
                  hundreds; `[{},{},…]` of 6 MB has four million). Only the tokens of
                  the object or array being read count: a child's own contents (an
                  echoed `tools` list, say) are jumped over in one match (`_container`)
  JUMP_DEPTH      nesting that jump follows; a deeper child is walked token by token
  MAX_DEPTH       nesting followed by the scanner's depth counter (no recursion at any depth)
  MAX_VALUE_BYTES a field other than the output text (id, model, token count, message)

Why not a library: `json` parses whole documents only; a streaming parser
(ijson) would be a new compiled dependency in the trimmed image, and its
pure-Python backend is slower than this scan; neither bounds the work.
This scanner is not a validator: `read` reports an answer that is cut short
(its top-level value never closes), not every malformed one.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

#: The longest output text the simple route answers with, in characters: far more than any model's
#: output-token limit writes (128k tokens are about 500k characters), at most 4 MiB as a Python string,
#: and its JSON reply fits OCI Functions' 6 MB. A longer text is not decoded past this (502, see
#: errors.simple_text_too_long); …/v1/responses passes such an answer on as it came.
SIMPLE_TEXT_LIMIT = 1_000_000
#: Structural tokens scanned per answer, all reads of one answer together.
MAX_TOKENS = 100_000
#: Nesting the scanner follows; deeper and it stops reading (it never recurses).
MAX_DEPTH = 128
#: The longest id, model name, token count or error code decoded.
MAX_VALUE_BYTES = 512
#: The longest upstream error message decoded (it is cut to 500 characters for the caller).
MAX_MESSAGE_BYTES = 4096

#: A JSON string, or one structural character. The string may be unterminated (it then runs to the end
#: and the value does not close: `Malformed`): a string pattern that can fail would be tried again from
#: every quote inside it, quadratic in the answer (`"\",\",\",…` of 6 MB would never finish). Possessive
#: quantifiers and DOTALL leave it nothing to backtrack into.
_TOKEN = re.compile(rb'(?s)"[^"\\]*+(?:\\.[^"\\]*+)*+\\?(?:"|\Z)|[\[\]{},:]')
_WS = b" \t\r\n"
#: Nesting a child's jump (`_container`) follows; a deeper child is walked token by token, within the budget.
JUMP_DEPTH = 32
_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'


@functools.cache
def _container() -> re.Pattern[bytes]:
    """A closed JSON object or array nested at most JUMP_DEPTH deep: where a child ends, found in one match.

    Without it, a member the log line does not need (a Responses object's echoed `tools`, `metadata`,
    `input`) costs a token of the budget per bracket, comma and string inside it, and 60,000 echoed tools
    spend the budget before `usage`, which comes after them: the call's tokens would go unrecorded. The
    match runs in the regular-expression engine, linear in the child's bytes (possessive quantifiers: no
    backtracking, so nothing to retry when it fails) and without memory that grows with the input: 6 MB
    of `[{},{},…]` in about 0.25 s, 60,000 tools (7.9 MB) in about 0.12 s, peak RSS unchanged (2 cores).
    Built on first use: compiling it costs a few milliseconds that a cold start need not pay.
    """
    inner = rb'(?:[^\[\]{}"]++|' + _STRING + rb")*+"
    for _ in range(JUMP_DEPTH - 1):
        inner = rb'(?:[^\[\]{}"]++|' + _STRING + rb"|[\[{]" + inner + rb"[\]}])*+"
    return re.compile(rb"[\[{]" + inner + rb"[\]}]")


#: The first byte that is not JSON whitespace (a search forward: linear, however long the whitespace).
_NON_WS = re.compile(rb"[^ \t\r\n]")
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE, _COMMA, _COLON = ord('"'), ord(","), ord(":")
_INT = re.compile(rb"-?[0-9]{1,18}")
#: Whitespace allowed around a short value before it counts as too long to decode.
_PADDING = 64

Span = tuple[int, int]


class Unreadable(Exception):
    """A bound stopped the reading: the answer may be fine, the function does not know."""


class Malformed(Exception):
    """The answer is cut short or is not a JSON object or array where one must be."""


class Scanner:
    """Walks one buffer's JSON structure within a shared budget of `MAX_TOKENS` tokens."""

    def __init__(self, buffer: bytes | bytearray, tokens: int = MAX_TOKENS) -> None:
        self.buffer = buffer
        self.left = tokens

    def children(self, span: Span) -> Iterator[tuple[Span | None, Span]]:
        """(key span or None, value span) of each direct child of the object or array at `span`.

        `Malformed` when the value at `span` is not an object or array, or does not
        close inside it; `Unreadable` when the budget or `MAX_DEPTH` runs out.
        """
        buffer = self.buffer
        start, end = _first(buffer, span), span[1]
        if start >= end or buffer[start] not in _OPEN:
            raise Malformed
        depth = 0
        key: Span | None = None
        last_string: Span | None = None
        child = start + 1
        position = start
        while (match := _TOKEN.search(buffer, position, end)) is not None:
            position = match.end()
            self.left -= 1
            if self.left < 0:
                raise Unreadable
            char = buffer[match.start()]
            if char in _OPEN:
                if depth == 1:
                    # A child's own contents are not this walk's: jumped over in one match, not token by token.
                    whole = _container().match(buffer, match.start(), end)
                    if whole is not None:
                        position = whole.end()
                        continue
                depth += 1
                if depth > MAX_DEPTH:
                    raise Unreadable
            elif char in _CLOSE:
                depth -= 1
                if depth == 0:
                    if _first(buffer, (child, match.start())) < match.start():
                        yield key, (child, match.start())
                    if _first(buffer, (match.end(), end)) < end:
                        raise Malformed  # something after the value
                    return
            elif depth == 1:
                if char == _QUOTE:
                    last_string = match.span()
                elif char == _COLON:
                    key, child = last_string, match.end()
                elif char == _COMMA:
                    yield key, (child, match.start())
                    key, child = None, match.end()
        raise Malformed

    def members(self, span: Span, wanted: frozenset[str]) -> dict[str, Span]:
        """The value spans of an object's members named in `wanted` (the first of each name)."""
        found: dict[str, Span] = {}
        for key, value in self.children(span):
            name = self.string(key, MAX_VALUE_BYTES) if key else None
            if name in wanted and name not in found:
                found[name] = value
        return found

    def leading_members(self, span: Span, wanted: frozenset[str]) -> tuple[dict[str, Span], bool]:
        """Like `members`, but what was found before a bound stopped the reading, and whether it got to the end.

        `name` in the result means the member was read whole; a member the bound cut is left out.
        """
        found: dict[str, Span] = {}
        try:
            for key, value in self.children(span):
                name = self.string(key, MAX_VALUE_BYTES) if key else None
                if name in wanted and name not in found:
                    found[name] = value
        except Unreadable:
            return found, False
        return found, True

    def whole(self, span: Span) -> None:
        """Check that the object or array at `span` closes (within the budget)."""
        for _ in self.children(span):
            pass

    def string(self, span: Span | None, limit: int) -> str | None:
        """The JSON string at `span`, if it is one of at most `limit` bytes."""
        if span is None or span[1] - span[0] > limit + _PADDING:
            return None
        start, end = _strip(self.buffer, span)
        if end - start > limit or end - start < 2 or self.buffer[start] != _QUOTE:
            return None
        try:
            value = json.loads(bytes(self.buffer[start:end]))
        except ValueError:
            return None
        return value if isinstance(value, str) else None

    def integer(self, span: Span | None) -> int | None:
        if span is None or span[1] - span[0] > MAX_VALUE_BYTES:
            return None
        start, end = _strip(self.buffer, span)
        match = _INT.fullmatch(self.buffer, start, end)
        return int(match.group()) if match else None


@dataclass
class Fields:
    """What was read from a model answer; None where the answer did not say, or a bound stopped the reading."""

    id: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    #: The output text, read up to the `text_limit` given to `read` (see `text_cut`).
    output_text: str | None = None
    #: True when the output text is longer than the limit (and `output_text` holds only its start).
    text_cut: bool = False
    #: False when a bound stopped the reading before every field was found.
    complete: bool = True


_MODEL_FIELDS = frozenset({"id", "model", "usage", "output", "choices"})
_USAGE_FIELDS = frozenset(
    {"input_tokens", "output_tokens", "total_tokens", "prompt_tokens", "completion_tokens"}
)  # fmt: skip


def check_whole(content: bytes | bytearray) -> None:
    """`Malformed` if a JSON answer is cut short or is not an object or array; silent when a bound stops the check."""
    try:
        Scanner(content).whole((0, len(content)))
    except Unreadable:
        pass


def read(content: bytes | bytearray, span: Span | None = None, *, text_limit: int) -> Fields:
    """The id, model, token usage and output text of the Responses object or chat completion at `span`.

    `Malformed` when the object is cut short (or is not an object); a bound that
    stops the reading leaves the remaining fields None and `complete` False.
    Output text past `text_limit` characters is not decoded (`text_cut`).
    """
    scan = Scanner(content)
    fields = Fields()
    where = span or (0, len(content))
    try:
        if not is_object(content, where):
            raise Malformed
        # The members read before a bound stopped the scan still count (the id comes first).
        found, fields.complete = scan.leading_members(where, _MODEL_FIELDS)
        fields.id = scan.string(found.get("id"), MAX_VALUE_BYTES)
        fields.model = scan.string(found.get("model"), MAX_VALUE_BYTES)
        if "usage" in found and is_object(content, found["usage"]):
            usage = scan.members(found["usage"], _USAGE_FIELDS)
            fields.input_tokens = scan.integer(usage.get("input_tokens", usage.get("prompt_tokens")))
            fields.output_tokens = scan.integer(usage.get("output_tokens", usage.get("completion_tokens")))
            fields.total_tokens = scan.integer(usage.get("total_tokens"))
        if "output" in found:
            _responses_text(scan, found["output"], fields, text_limit)
        elif "choices" in found:
            _chat_text(scan, found["choices"], fields, text_limit)
    except Unreadable:
        fields.complete = False
    return fields


def error_fields(content: bytes | bytearray, span: Span | None = None) -> tuple[str, str]:
    """The message and code of an upstream error body, OpenAI-shaped (`{"error": {…}}`) or OCI-native
    (`{"code", "message"}`), each bounded; ("", "") when the body says neither, or a bound stops the reading."""
    scan = Scanner(content)
    try:
        found = scan.members(span or (0, len(content)), frozenset({"error", "message", "code"}))
        if "error" in found:
            error = found["error"]
            if not is_object(content, error):
                return (scan.string(error, MAX_MESSAGE_BYTES) or "")[:500], ""
            found = scan.members(error, frozenset({"message", "code"}))
        message = scan.string(found.get("message"), MAX_MESSAGE_BYTES) or ""
        code = scan.string(found.get("code"), MAX_VALUE_BYTES) or ""
    except (Malformed, Unreadable):
        return "", ""
    return message[:500], code[:100]


def _responses_text(scan: Scanner, output: Span, fields: Fields, limit: int) -> None:
    """The text of every `output_text` part of every `message` item, as the OpenAI SDK's `output_text` joins it."""
    if not is_array(scan.buffer, output):
        return
    parts: list[str] = []
    size = 0
    for _, item in scan.children(output):
        if not is_object(scan.buffer, item):
            continue
        members = scan.members(item, frozenset({"type", "content"}))
        if scan.string(members.get("type"), MAX_VALUE_BYTES) != "message" or "content" not in members:
            continue
        if not is_array(scan.buffer, members["content"]):
            continue
        for _, part in scan.children(members["content"]):
            if not is_object(scan.buffer, part):
                continue
            found = scan.members(part, frozenset({"type", "text"}))
            if scan.string(found.get("type"), MAX_VALUE_BYTES) != "output_text":
                continue
            text = _bounded_text(scan, found.get("text"), limit - size, fields)
            if text is None:
                continue
            parts.append(text)
            size += len(text)
            if fields.text_cut:
                break
        if fields.text_cut:
            break
    fields.output_text = "".join(parts)


def _chat_text(scan: Scanner, choices: Span, fields: Fields, limit: int) -> None:
    """The first choice's message content (a chat completion)."""
    if not is_array(scan.buffer, choices):
        return
    for _, choice in scan.children(choices):
        if is_object(scan.buffer, choice):
            message = scan.members(choice, frozenset({"message"})).get("message")
            if message is not None and is_object(scan.buffer, message):
                content = scan.members(message, frozenset({"content"})).get("content")
                fields.output_text = _bounded_text(scan, content, limit, fields)
        return


def _bounded_text(scan: Scanner, span: Span | None, room: int, fields: Fields) -> str | None:
    """A JSON string of at most `room` characters; longer ones are cut (and `text_cut` set) before decoding.

    A JSON string of n characters takes at least n bytes, so only `room * 12` bytes
    (the longest escape, `\\ud83d\\ude00`, is 12 bytes for 2 characters) are decoded.
    """
    if span is None:
        return None
    start = _first(scan.buffer, span)
    token = _TOKEN.match(scan.buffer, start, span[1])
    if token is None or scan.buffer[start] != _QUOTE:
        return None
    end = token.end()
    if end - start - 2 <= room:
        return scan.string((start, end), end - start)
    window = max(0, room) * 12
    if end - start - 2 > window:
        # Decode a window from the start (a partial escape at its end is dropped), then cut to `room`.
        text = _decode_prefix(bytes(scan.buffer[start + 1 : start + 1 + window]))
    else:
        text = scan.string((start, end), end - start) or ""
    if len(text) > room:
        fields.text_cut = True
        text = text[: max(0, room)]
    return text


def _decode_prefix(raw: bytes) -> str:
    """The characters a JSON string's first bytes stand for, with a partial escape at the end dropped."""
    for drop in range(0, 12):
        try:
            value = json.loads(b'"' + raw[: len(raw) - drop] + b'"')
        except ValueError:
            continue
        return value if isinstance(value, str) else ""
    return ""


def _first(buffer: bytes | bytearray, span: Span) -> int:
    """Where the value in `span` starts (past leading whitespace); `span[1]` if it holds only whitespace."""
    found = _NON_WS.search(buffer, span[0], span[1])
    return found.start() if found else span[1]


def _strip(buffer: bytes | bytearray, span: Span) -> Span:
    """`span` without surrounding whitespace: for short spans only (it steps byte by byte)."""
    start, end = span
    while start < end and buffer[start] in _WS:
        start += 1
    while end > start and buffer[end - 1] in _WS:
        end -= 1
    return start, end


def is_object(buffer: bytes | bytearray, span: Span) -> bool:
    start = _first(buffer, span)
    return start < span[1] and buffer[start] == ord("{")


def is_array(buffer: bytes | bytearray, span: Span) -> bool:
    start = _first(buffer, span)
    return start < span[1] and buffer[start] == ord("[")
