"""A local OCI Generative AI Responses API that checks requests as OCI would.

A real HTTP server (aiohttp) on 127.0.0.1 serving `/openai/v1/responses`:
create (JSON or server-sent events), retrieve and delete. Before anything else
every request must pass the checks OCI's front door makes: a valid draft-cavage
signature by a key whose resource-principal token IAM issued and has not
expired or revoked (else 401 NotAuthenticated), and an `OpenAI-Project` equal
to the configured project, for a principal whose compartment a policy
authorises (else 404 NotAuthorizedOrNotFound). Every error carries an
`opc-request-id`.

Answers are deterministic and reflect the input ("Echo: <input>"), so tests can
assert on them, with word-count `usage`. Faults are injected either per run
(`Emulator.inject("503", times=2)`, or `POST /_emulator/faults`) or per request,
by putting `[[fault:NAME]]` in the input text. Fault names: 429, 429-no-retry-after,
500, 503, slow, hang, drop, malformed, truncate, 401-until-rotate.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from . import signature
from .credentials import PROJECT, Issuer
from .server import BackgroundServer

KNOWN_MODELS = frozenset(
    {
        "openai.gpt-oss-120b",
        "openai.gpt-oss-20b",
        "xai.grok-4",
        "meta.llama-3.3-70b-instruct",
        "cohere.command-a-03-2025",
    }
)
FAULTS = (
    "429",
    "429-no-retry-after",
    "500",
    "503",
    "slow",
    "hang",
    "drop",
    "malformed",
    "truncate",
    "401-until-rotate",
)
_FAULT_MARK = re.compile(r"\[\[fault:([a-z0-9-]+)(?::([0-9.]+))?\]\]")
PREFIX = "/openai/v1"


@dataclass
class Fault:
    kind: str
    times: int = 1
    #: Seconds: retry-after for 429, delay for slow.
    value: float = 1.0


@dataclass
class Call:
    """One request the emulator received, for tests to inspect."""

    method: str
    path: str
    status: int
    fault: str = ""
    jti: str = ""
    reason: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    #: Time the emulator itself spent on the request (also sent as x-emulator-service-ms).
    service_ms: float = 0.0


class Emulator:
    """The emulated service; a context manager that runs it on a free port."""

    def __init__(
        self,
        issuer: Issuer,
        *,
        project: str = PROJECT,
        authorized_compartments: Iterable[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.issuer = issuer
        self.project = project
        #: None: any compartment may call (a policy for the whole tenancy).
        self.authorized_compartments = set(authorized_compartments) if authorized_compartments else None
        self.host = host
        self.port = 0
        self.calls: list[Call] = []
        self.responses: dict[str, dict[str, Any]] = {}
        self._faults: deque[Fault] = deque()
        self._revoked: set[str] = set()
        self._lock = threading.Lock()
        self._server = BackgroundServer("genai-emulator", host)
        self._stopping: asyncio.Event | None = None

    # -- control ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{PREFIX}"

    def inject(self, kind: str, *, times: int = 1, value: float = 1.0) -> None:
        """Make the next `times` model requests fail with fault `kind`."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            if kind == "401-until-rotate":
                self._revoked.update(self.issuer.issued)
            else:
                self._faults.append(Fault(kind, times, value))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._revoked.clear()

    def start(self) -> Emulator:
        def make_app() -> web.Application:
            self._stopping = asyncio.Event()
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/_emulator/faults", self._control)
            app.router.add_route("*", PREFIX + "/{tail:.*}", self._handle)
            return app

        self._server.start(make_app)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._stopping is not None:
            # Release hanging requests first, so that the server can shut down.
            self._server.call_soon(self._stopping.set)
        self._server.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling ------------------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.clear_faults()
            return web.json_response({"faults": []})
        try:
            spec = await request.json()
            self.inject(str(spec["kind"]), times=int(spec.get("times", 1)), value=float(spec.get("value", 1.0)))
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": str(exc), "faults": FAULTS}, status=400)
        return web.json_response({"queued": spec})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        body = await request.read()
        call = Call(request.method, request.path, 0)
        self.calls.append(call)
        request["call"] = call
        try:
            claims = self._authenticate(request, body)
            call.jti = claims.get("jti", "")
            self._authorize(request, claims)
            payload = _json(body) if body else {}
            call.body = payload if isinstance(payload, dict) else {}
            fault = self._fault_for(call.body)
            call.fault = fault.kind if fault else ""
            if fault:
                early = await self._apply_fault(request, fault, call)
                if early is not None:
                    return early
            response = await self._route(request, call.body)
        except _Refusal as refusal:
            call.reason = refusal.message
            response = refusal.response()
        call.service_ms = (time.perf_counter() - started) * 1000
        if isinstance(response, web.Response):
            response.headers["x-emulator-service-ms"] = f"{call.service_ms:.3f}"
        call.status = response.status
        return response

    def _authenticate(self, request: web.Request, body: bytes) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def resolve(key_id: str) -> rsa.RSAPublicKey:
            if not key_id.startswith("ST$"):
                raise signature.SignatureError("keyId is not a security token (ST$...)")
            try:
                claims = self.issuer.verify(key_id[3:])
            except jwt.ExpiredSignatureError:
                raise signature.SignatureError("the security token has expired") from None
            except jwt.InvalidTokenError as exc:
                raise signature.SignatureError(f"the security token is invalid: {exc}") from None
            if claims.get("jti") in self._revoked:
                raise signature.SignatureError("the security token has been revoked")
            found.update(claims)
            jwk = json.loads(claims["jwk"])
            return rsa.RSAPublicNumbers(_b64int(jwk["e"]), _b64int(jwk["n"])).public_key()

        try:
            signature.verify(request.method, request.path_qs, request.headers, body, resolve)
        except signature.SignatureError as exc:
            raise _Refusal(
                401,
                "NotAuthenticated",
                f"The required information to complete authentication was not provided or was incorrect: {exc}",
            ) from None
        return found

    def _authorize(self, request: web.Request, claims: dict[str, Any]) -> None:
        project = request.headers.get("OpenAI-Project", "")
        allowed = self.authorized_compartments is None or claims.get("res_compartment") in self.authorized_compartments
        if project != self.project or not allowed:
            why = "no such project" if project != self.project else "no policy allows this principal"
            raise _Refusal(
                404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found ({why})."
            )

    def _fault_for(self, payload: dict[str, Any]) -> Fault | None:
        mark = _FAULT_MARK.search(_input_text(payload.get("input")))
        if mark and mark.group(1) in FAULTS:
            return Fault(mark.group(1), 1, float(mark.group(2) or 1.0))
        with self._lock:
            if self._faults:
                fault = self._faults[0]
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.popleft()
                return Fault(fault.kind, 1, fault.value)
        return None

    async def _apply_fault(self, request: web.Request, fault: Fault, call: Call) -> web.StreamResponse | None:
        kind = fault.kind
        if kind == "429":
            raise _Refusal(
                429, "TooManyRequests", "Too many requests for this tenancy.", {"retry-after": f"{fault.value:g}"}
            )
        if kind == "429-no-retry-after":
            raise _Refusal(429, "TooManyRequests", "Too many requests for this tenancy.")
        if kind in ("500", "503"):
            raise _Refusal(
                int(kind), "InternalServerError" if kind == "500" else "ServiceUnavailable", "The service failed."
            )
        if kind == "slow":
            await asyncio.sleep(fault.value)
            return None
        if kind == "hang":
            assert self._stopping is not None
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=600)
            except TimeoutError:
                pass
            raise _Refusal(503, "ServiceUnavailable", "hung")
        if kind == "drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        if kind == "malformed":
            return web.Response(status=200, body=b'{"id": "resp_trunc', content_type="application/json")
        if kind == "truncate":
            response = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            await response.write(b'event: response.created\ndata: {"type":"response.created"')
            assert request.transport is not None
            request.transport.abort()
            return response
        return None

    async def _route(self, request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        tail = request.match_info["tail"].rstrip("/")
        if tail == "responses" and request.method == "POST":
            return await self._create(request, payload)
        match = re.fullmatch(r"responses/([^/]+)", tail)
        if match and request.method in ("GET", "DELETE"):
            stored = self.responses.get(match.group(1))
            if stored is None:
                raise _OpenAIRefusal(404, f"Response with id '{match.group(1)}' not found.", "response_id", "not_found")
            if request.method == "DELETE":
                del self.responses[match.group(1)]
                return _json_response({"id": stored["id"], "object": "response", "deleted": True})
            return _json_response(stored)
        raise _Refusal(404, "NotFound", f"No route for {request.method} {request.path}")

    async def _create(self, request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        model = payload.get("model")
        if not isinstance(model, str) or model not in KNOWN_MODELS:
            raise _OpenAIRefusal(
                400, f"The model {model!r} does not exist or is not supported.", "model", "model_not_found"
            )
        if "input" not in payload or not _input_text(payload["input"]).strip():
            raise _OpenAIRefusal(400, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
        previous = payload.get("previous_response_id")
        if previous is not None and previous not in self.responses:
            raise _OpenAIRefusal(
                400,
                f"Previous response with id '{previous}' not found.",
                "previous_response_id",
                "previous_response_not_found",
            )
        response = _build_response(payload, self.responses.get(previous) if previous else None)
        if payload.get("store", True):
            self.responses[response["id"]] = response
        if payload.get("stream"):
            return await _stream(request, response)
        return _json_response(response)


class _Refusal(Exception):
    """An OCI-native error answer: {"code", "message"} with an opc-request-id."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> web.Response:
        return _json_response({"code": self.code, "message": self.message}, self.status, self.headers)


class _OpenAIRefusal(_Refusal):
    """An OpenAI-shaped error answer, as the Responses API gives for bad requests."""

    def __init__(self, status: int, message: str, param: str, code: str) -> None:
        super().__init__(status, code, message)
        self.param = param

    def response(self) -> web.Response:
        error = {"message": self.message, "type": "invalid_request_error", "param": self.param, "code": self.code}
        return _json_response({"error": error}, self.status)


def _json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        data, status=status, headers={"opc-request-id": uuid.uuid4().hex.upper(), **(headers or {})}
    )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise _OpenAIRefusal(400, "We could not parse the JSON body of your request.", "body", "invalid_json") from None


def _b64int(value: str) -> int:
    import base64

    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _input_text(value: Any) -> str:
    """The text of a Responses API `input`: a string or a list of message items."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    texts: list[str] = []
    for item in value:
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return " ".join(texts)


def _build_response(payload: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    text = _FAULT_MARK.sub("", _input_text(payload["input"])).strip()
    answer = f"Echo: {text}"
    if previous is not None:
        answer += f" (after: {_output_text(previous)})"
    words = answer.split()
    limit = payload.get("max_output_tokens")
    incomplete = isinstance(limit, int) and len(words) > limit
    if incomplete:
        words = words[:limit]
    output = " ".join(words)
    instructions = payload.get("instructions") if isinstance(payload.get("instructions"), str) else None
    input_tokens = len(text.split()) + len((instructions or "").split())
    if previous is not None:
        input_tokens += previous["usage"]["total_tokens"]
    now = int(time.time())
    return {
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": now,
        "completed_at": now,
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "error": None,
        "model": payload["model"],
        "instructions": instructions,
        "previous_response_id": payload.get("previous_response_id"),
        "max_output_tokens": limit,
        "temperature": payload.get("temperature", 1.0),
        "top_p": 1.0,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "store": bool(payload.get("store", True)),
        "metadata": payload.get("metadata") or {},
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "output": [
            {
                "id": f"msg_{uuid.uuid4().hex}",
                "type": "message",
                "role": "assistant",
                "status": "incomplete" if incomplete else "completed",
                "content": [{"type": "output_text", "text": output, "annotations": [], "logprobs": []}],
            }
        ],
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": len(words),
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + len(words),
        },
    }


def _output_text(response: dict[str, Any]) -> str:
    return "".join(part["text"] for item in response["output"] for part in item["content"])


def stream_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The server-sent events of a streamed create, in the Responses API's order."""
    message = response["output"][0]
    text = message["content"][0]["text"]
    started = {**response, "status": "in_progress", "output": [], "usage": None, "completed_at": None}
    empty_item = {**message, "status": "in_progress", "content": []}
    item_id = message["id"]
    deltas = [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))]
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {"type": "response.output_item.added", "output_index": 0, "item": empty_item},
        {
            "type": "response.content_part.added",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        },
        *(
            {
                "type": "response.output_text.delta",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "delta": d,
                "logprobs": [],
            }
            for d in deltas
        ),
        {
            "type": "response.output_text.done",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "text": text,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "part": message["content"][0],
        },
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {
            "type": "response.completed" if response["status"] == "completed" else "response.incomplete",
            "response": response,
        },
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


async def _stream(request: web.Request, response: dict[str, Any]) -> web.StreamResponse:
    reply = web.StreamResponse(
        status=200,
        headers={"Content-Type": "text/event-stream; charset=utf-8", "opc-request-id": uuid.uuid4().hex.upper()},
    )
    # Recorded before the first byte: once the client has the stream, a reader of `calls` must see it.
    request["call"].status = reply.status
    await reply.prepare(request)
    async for chunk in _frames(stream_events(response)):
        await reply.write(chunk)
    await reply.write_eof()
    return reply


async def _frames(events: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for event in events:
        yield f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
