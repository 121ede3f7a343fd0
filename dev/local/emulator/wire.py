"""What every resource family of the emulator shares: errors, JSON answers, ids, pages, text, multipart.

Imports nothing else of the emulator: every other module builds on it.

Shapes follow the openai SDK's types (openai/types/...), so that the SDK's
pydantic models validate every body the emulator sends.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.multipart import BodyPartReader, MultipartReader

FAULT_MARK = re.compile(r"\[\[fault:([a-z0-9-]+)(?::([0-9.]+))?\]\]")


class Refusal(Exception):
    """An OCI-native error answer: {"code", "message"} with an opc-request-id."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> web.Response:
        return json_response({"code": self.code, "message": self.message}, self.status, self.headers)


class OpenAIRefusal(Refusal):
    """An OpenAI-shaped error answer, as the OpenAI-compatible API gives for bad requests."""

    def __init__(self, status: int, message: str, param: str | None, code: str | None) -> None:
        super().__init__(status, code or "", message)
        self.param = param
        self.openai_code = code

    def response(self) -> web.Response:
        error = {
            "message": self.message,
            "type": "invalid_request_error",
            "param": self.param,
            "code": self.openai_code,
        }
        return json_response({"error": error}, self.status)


def not_found(kind: str, ident: str, param: str) -> OpenAIRefusal:
    """A 404 naming what is missing: `kind` in the message, as an identifier in the code ("container_not_found")."""
    return OpenAIRefusal(404, f"{kind} with id '{ident}' not found.", param, not_found_code(kind))


def not_found_code(kind: str) -> str:
    return kind.lower().replace(" ", "_") + "_not_found"


def missing(param: str) -> OpenAIRefusal:
    return OpenAIRefusal(400, f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def invalid(param: str, message: str) -> OpenAIRefusal:
    return OpenAIRefusal(400, message, param, "invalid_value")


def request_id() -> str:
    return uuid.uuid4().hex.upper()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers={"opc-request-id": request_id(), **(headers or {})})


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise OpenAIRefusal(400, "We could not parse the JSON body of your request.", "body", "invalid_json") from None


def words(text: str) -> list[str]:
    return text.split()


def strip_marks(text: str) -> str:
    return FAULT_MARK.sub("", text).strip()


def content_text(content: Any) -> str:
    """The text of a message's `content`: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def page(
    items: Sequence[dict[str, Any]],
    query: Mapping[str, str],
    *,
    default_limit: int = 20,
    max_limit: int = 100,
    default_order: str = "desc",
    id_key: str = "id",
    with_ids: bool = True,
) -> dict[str, Any]:
    """A cursor page (`after`, `before`, `limit`, `order`) over items kept in creation order."""
    order = query.get("order", default_order)
    if order not in ("asc", "desc"):
        raise invalid("order", f"Invalid value for 'order': {order!r}; expected 'asc' or 'desc'.")
    try:
        limit = int(query.get("limit", default_limit))
    except ValueError:
        raise invalid("limit", "Invalid value for 'limit': not an integer.") from None
    if not 1 <= limit <= max_limit:
        raise invalid("limit", f"Invalid value for 'limit': must be between 1 and {max_limit}.")
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [item[id_key] for item in ordered]
    if "after" in query:
        ordered = ordered[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
    elif "before" in query:
        ordered = ordered[: ids.index(query["before"])] if query["before"] in ids else []
    data = ordered[:limit]
    result: dict[str, Any] = {"object": "list", "data": data, "has_more": len(ordered) > limit}
    if with_ids:
        result["first_id"] = data[0][id_key] if data else None
        result["last_id"] = data[-1][id_key] if data else None
    return result


# -- multipart/form-data -----------------------------------------------------------


class _BytesContent:
    """The part of aiohttp's StreamReader that MultipartReader uses, over bytes already read.

    The emulator reads the whole body first (the signature covers it), so the
    multipart reader cannot read the request stream again.
    """

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._pending = b""

    def at_eof(self) -> bool:
        return not self._pending and self._pos >= len(self._data)

    def unread_data(self, data: bytes) -> None:
        self._pending = bytes(data) + self._pending

    async def read(self, n: int = -1) -> bytes:
        if self._pending:
            chunk = self._pending if n < 0 else self._pending[:n]
            self._pending = self._pending[len(chunk) :]
            return chunk
        end = len(self._data) if n < 0 else min(len(self._data), self._pos + n)
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk

    async def readline(self, *, max_line_length: int | None = None) -> bytes:
        line = b""
        if self._pending:
            cut = self._pending.find(b"\n")
            if cut >= 0:
                line, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
                return line
            line, self._pending = self._pending, b""
        rest = self._data[self._pos :]
        cut = bytes(rest[: 64 * 1024]).find(b"\n")
        end = self._pos + (cut + 1 if cut >= 0 else min(len(rest), 64 * 1024))
        line += bytes(self._data[self._pos : end])
        self._pos = end
        return line


class Upload:
    """One file part of a multipart body, with the form's other fields."""

    def __init__(self, fields: dict[str, str], filename: str, content_type: str, data: bytes) -> None:
        self.fields, self.filename, self.content_type, self.data = fields, filename, content_type, data


async def read_multipart(request: web.Request, body: bytes, max_file_bytes: int) -> Upload:
    """Parse a multipart/form-data body with aiohttp's reader: the `file` part and the text fields."""
    if not request.content_type.startswith("multipart/"):
        raise OpenAIRefusal(400, "This endpoint expects multipart/form-data with a 'file' part.", "file", None)
    reader = MultipartReader(request.headers, _BytesContent(body))  # type: ignore[arg-type]
    fields: dict[str, str] = {}
    upload: Upload | None = None
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "file":
                data = await part.read(decode=False)
                if len(data) > max_file_bytes:
                    raise OpenAIRefusal(413, f"File is larger than {max_file_bytes} bytes.", "file", "file_too_large")
                kind = part.headers.get("Content-Type", "application/octet-stream")
                upload = Upload(fields, part.filename or "upload", kind, bytes(data))
            elif part.name:
                fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")
    except (ValueError, AssertionError, RuntimeError) as exc:
        raise OpenAIRefusal(400, f"Malformed multipart body: {exc}", "file", None) from None
    if upload is None:
        raise missing("file")
    return upload


async def sse_response(http: web.Request, frames: Sequence[str]) -> web.StreamResponse:
    """An event stream written frame by frame, as OCI sends one (each frame a complete `event:`/`data:` block)."""
    reply = web.StreamResponse(
        status=200, headers={"Content-Type": "text/event-stream; charset=utf-8", "opc-request-id": request_id()}
    )
    await reply.prepare(http)
    for frame in frames:
        await reply.write(f"{frame}\n\n".encode())
    await reply.write_eof()
    return reply


def binary_response(data: bytes, content_type: str) -> web.Response:
    return web.Response(body=data, headers={"Content-Type": content_type, "opc-request-id": request_id()})


@dataclass
class Request:
    """What a route handler gets: the request, its body read and parsed, the path's parameters."""

    http: web.Request
    body: bytes
    payload: dict[str, Any]
    params: dict[str, str]
    #: A stream fault to apply to this streamed answer (core.STREAM_FAULTS), or "".
    stream_fault: str = ""

    @property
    def query(self) -> dict[str, str]:
        return dict(self.http.query)
