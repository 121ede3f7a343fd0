"""The request as the gateway sent it, and the reply the function gives back.

fdk hands the handler an `InvokeContext` and a byte stream; for calls that came
through API Gateway the client's method, URL and headers arrive as `Fn-Http-*`
headers, which fdk has already decoded. `Request.from_fdk` turns that into one
plain value, and never raises: a request we cannot make sense of still gets an
answer.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from . import errors

JSON_TYPES = ("application/json",)
#: The Fn platform's header namespace (Fn-Intent, Fn-Deadline, Fn-Http-*): never taken from a client.
FN_PREFIX = "fn-"
#: Every answer carries the call id (Fn-Call-Id, the log line's `call_id`) here: the header OpenAI's own API
#: answers with and its SDKs read (openai-python `response._request_id`).
REQUEST_ID_HEADER = "x-request-id"
#: Deeper than this is no real request. Well below the interpreter's recursion limit, so that a body
#: json.loads accepted cannot fail later, when it is serialised again (a model alias, a token cap).
MAX_JSON_DEPTH = 128
#: More JSON values than this are refused before parsing. Each parsed value costs 50-100 bytes of
#: Python objects however few bytes it took in the body (`[{},{},…]`: 3 bytes, a 64-byte dict), so
#: the body-size limit alone does not bound memory: 1 MiB of `{}` would be ~24 MiB parsed. 100,000 is
#: far beyond real requests (2,000 chat messages of role and content count ~10,000) and parses in
#: < 10 MiB (tests/reliability/test_memory.py: 98,000 counted values, +8 MiB).
MAX_JSON_VALUES = 100_000
#: A JSON string, escapes included, or an unterminated one up to the end of the body. A pattern that can
#: fail would be tried again from every quote inside the string: `{"a":"\",\",\",…` took 5 s at 24 kB
#: and would never finish at 6 MB. Possessive quantifiers and DOTALL leave nothing to backtrack into.
_JSON_STRING = re.compile(rb'(?s)"[^"\\]*+(?:\\.[^"\\]*+)*+\\?(?:"|\Z)')


@dataclass(frozen=True)
class Request:
    """One invocation as the client made it."""

    call_id: str
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    deadline: str | None
    #: False for direct invocations (`fn invoke`, the OCI SDK): no HTTP route, just a body.
    through_gateway: bool = True

    @classmethod
    def from_fdk(cls, ctx: Any, data: io.BytesIO | bytes | None) -> Request:
        # For gateway calls fdk merges the client's headers (Fn-Http-H-*) over the
        # call's own, so Content-Type is there whichever way the agent sent it.
        headers = {str(k).lower(): _last(v) for k, v in (ctx.Headers() or {}).items()}
        client_headers = {str(k).lower() for k in (ctx.HTTPHeaders() or {})}
        # fdk decapsulates client headers only when the platform's own Fn-Intent said httprequest, before the
        # merge: that, not the merged Fn-Intent (a client's header of that name wins the merge), is the decision.
        through_gateway = bool(client_headers) or headers.get("fn-intent") == "httprequest"
        if client_headers:
            _keep_platform_intent(ctx)
            # A client's Fn-* header is not the platform's: the function reads no such value from a client.
            headers = {k: v for k, v in headers.items() if not (k.startswith(FN_PREFIX) and k in client_headers)}
        # Not urlsplit: a path that starts with // would be read as a host name.
        path, _, query = (ctx.RequestURL() or "/").partition("#")[0].partition("?")
        if isinstance(data, (bytes, bytearray)):
            body = bytes(data)
        elif data is not None:
            body = data.read()
        else:
            body = b""
        return cls(
            call_id=ctx.CallID() or "",
            method=(ctx.Method() or "POST").upper() if through_gateway else "POST",
            path=path or "/",
            query=parse_qs(query, keep_blank_values=True),
            headers=headers,
            body=body,
            deadline=ctx.Deadline(),
            through_gateway=through_gateway,
        )

    @property
    def content_type(self) -> str:
        """The media type, lower-case and without parameters ('' when absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json_body(self) -> Any:
        """The body as JSON, or a 400/413 that says what is wrong with it.

        The number of values is bounded before parsing (see `MAX_JSON_VALUES`).
        """
        if _values_upper_bound(self.body, MAX_JSON_VALUES) > MAX_JSON_VALUES:
            raise errors.too_many_values(MAX_JSON_VALUES)
        try:
            value = json.loads(
                self.body, parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys
            )
        except DuplicateKey as exc:
            raise errors.bad_request(
                f"The request body has the key {exc.key[:100]!r} more than once in one object; send each key once.",
                param=exc.key[:100],
                code="duplicate_key",
            ) from None
        except UnicodeDecodeError:
            raise errors.bad_request("The request body is not valid UTF-8.", code="invalid_json") from None
        except RecursionError:
            raise errors.bad_request("The request body is nested too deeply.", code="invalid_json") from None
        except ValueError as exc:
            raise errors.bad_request(f"The request body is not valid JSON: {exc}", code="invalid_json") from None
        _check_parsed(value)
        return value


@dataclass
class Reply:
    """What the function answers: status, body and headers."""

    status: int
    #: A bytearray is handed to fdk as it is: an upstream answer is never copied.
    body: bytes | bytearray
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str = ""

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
        try:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:
            # A lone surrogate (from a \udXXX escape) has no UTF-8 form: escape it instead of failing.
            body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def error(cls, error: errors.ApiError, call_id: str = "") -> Reply:
        headers = dict(error.headers)
        if call_id:
            headers["X-Call-Id"] = call_id
        reply = cls.json(error.status, error.body(), headers)
        reply.error_code = error.code
        return reply


def _keep_platform_intent(ctx: Any) -> None:
    """Put the platform's Fn-Intent back where fdk reads it when it answers.

    fdk 0.1.128 merges the client's headers over the call's own (`fdk/headers.py` decap_headers) and then,
    when the handler answers, decides from the merged Fn-Intent whether to wrap the status and headers as
    Fn-Http-Status and Fn-Http-H-* (`fdk/context.py` SetResponseHeaders): a client's `Fn-Intent: x` made a
    403 or 429 reach the client as 200 with its Retry-After dropped. The call did come through the gateway
    (fdk decapsulated its headers only because the platform said so), so that intent is restored.
    `ctx.Headers()` is fdk's own dict; tests/integration/test_accounting.py checks this through real fdk.
    """
    try:
        merged = ctx.Headers()
        if isinstance(merged, dict):
            for key in [k for k in merged if str(k).lower() == "fn-intent"]:
                del merged[key]
            merged["fn-intent"] = "httprequest"
    except Exception:  # noqa: BLE001 - from_fdk never raises; a fdk without this dict has nothing to restore
        pass


def _last(value: Any) -> str:
    # fdk turns a repeated header into a list; like the Fn agent, keep the last value.
    if isinstance(value, list):
        value = value[-1] if value else ""
    return "" if value is None else str(value)


class DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object with each key once. json keeps the last of a repeated key, other parsers the first: a body
    such as `{"model": "<refused>", "model": "<allowed>"}` would pass the checks here and be sent on as it
    came (unchanged bodies go byte for byte) for the service to read the other way. Refused instead.

    The standard library's hook: called once per object, from the C scanner, with that object's pairs
    only (tests/reliability/test_memory.py keeps its cost on 6 MB bodies in view).
    """
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _structural(body: bytes, start: int, end: int) -> int:
    # bytes.count with bounds: no slice is copied.
    return sum(body.count(c, start, end) for c in (b",", b":", b"[", b"{"))


def _values_upper_bound(body: bytes, limit: int) -> int:
    """About how many values `json.loads(body)` would build: separators and openers outside strings.

    Each value but the first of a container follows a `,`, each member's value a
    `:`, each container starts with `[` or `{`. Counted without parsing and
    without copying: first over the whole body (strings included, an upper
    bound, enough for almost every request); only if that exceeds `limit`,
    again between the strings, stopping as soon as `limit` is passed.
    """
    rough = _structural(body, 0, len(body))
    if rough <= limit:
        return rough
    count, position = 0, 0
    for string in _JSON_STRING.finditer(body):
        count += _structural(body, position, string.start())
        if count > limit:
            return count
        position = string.end()
    return count + _structural(body, position, len(body))


def _check_parsed(value: Any) -> None:
    """400 for a parsed body that no later step could send on: too deep, or with a lone surrogate.

    Depth-first with one iterator per open container: memory grows with the
    depth (at most MAX_JSON_DEPTH), not with the number of values.
    """
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, str):
            if not item.isascii() and not _utf8_ok(item):
                raise errors.bad_request(
                    "The request body contains an unpaired surrogate escape (\\ud800-\\udfff).",
                    code="invalid_json",
                )
        elif isinstance(item, (dict, list)):
            if len(stack) > MAX_JSON_DEPTH:
                raise errors.bad_request("The request body is nested too deeply.", code="invalid_json")
            stack.append(itertools.chain.from_iterable(item.items()) if isinstance(item, dict) else iter(item))


_END = object()


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
