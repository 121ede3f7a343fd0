"""The emulator's front door: signature and project checks, faults, the call record, and the route table.

Every request under `/openai/v1` passes the checks OCI's front door makes
before anything else: a valid draft-cavage signature by a key whose
resource-principal token IAM issued and has not expired or revoked, or
`Authorization: Bearer <a Generative AI API key the issuer issued>` (else 401
NotAuthenticated, the same answer for both; the key is never quoted), and an
`OpenAI-Project` equal to the configured project, for a principal whose compartment a policy authorises (else 404
NotAuthorizedOrNotFound). Each project has its own `State`
(`states`, `add_project`): a request sees only its project's objects. Only then is the route looked up, so an unsigned
request to an unknown path is a 401, as at OCI. Every answer carries an
`opc-request-id`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .. import signature
from ..credentials import PROJECT, Issuer
from ..server import BackgroundServer
from . import chat, conversations, file_batches, responses, storage
from .state import KNOWN_MODELS, MAX_FILE_BYTES, MAX_STORED_BYTES, State, StoredConversation
from .table import Route
from .wire import FAULT_MARK, Refusal, Request, parse_json

#: Faults that change a stream's ending; they apply only to streamed creates (`"stream": true`).
STREAM_FAULTS = ("partial-stream", "error-event", "no-done")
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
    *STREAM_FAULTS,
)
PREFIX = "/openai/v1"
#: The control plane's prefix (on its own host at OCI, generativeai.<region>.oci.<domain>): vector store
#: management, with the compartment in `opc-compartment-id` (genai_fn/settings.py, Oracle's QuickStart table).
CONTROL_PREFIX = "/20231130/openai/v1"


@dataclass
class Fault:
    kind: str
    times: int = 1
    #: Seconds: retry-after for 429, delay for slow.
    value: float = 1.0
    #: Only requests whose path (below /openai/v1) starts with this, e.g. "/chat/completions".
    path: str = ""
    #: Only requests with this method ("" for any).
    method: str = ""


@dataclass
class Call:
    """One request the emulator received, for tests to inspect."""

    method: str
    path: str
    status: int
    fault: str = ""
    jti: str = ""
    reason: str = ""
    #: The JSON body when it was a JSON object ({} for multipart, binary or no body).
    body: dict[str, Any] = field(default_factory=dict)
    #: The request body exactly as it arrived.
    raw_body: bytes = b""
    #: Time the emulator itself spent on the request (also sent as x-emulator-service-ms).
    service_ms: float = 0.0
    query: str = ""
    #: The OpenAI-Project and opc-compartment-id the request carried (which client's scope it was in).
    project: str = ""
    compartment: str = ""


class Emulator:
    """The emulated service; a context manager that runs it on a free port."""

    def __init__(
        self,
        issuer: Issuer,
        *,
        project: str = PROJECT,
        authorized_compartments: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        max_file_bytes: int = MAX_FILE_BYTES,
        max_stored_bytes: int = MAX_STORED_BYTES,
        models: Iterable[str] = KNOWN_MODELS,
    ) -> None:
        self.issuer = issuer
        self.project = project
        #: None: any compartment may call (a policy for the whole tenancy).
        self.authorized_compartments = set(authorized_compartments) if authorized_compartments else None
        self.host = host
        self.port = 0
        #: What the emulated service holds for `project`; the route handlers work on it. Its models and
        #: limits are the region's: every other project's State takes them from it on each request.
        self.state = State(max_file_bytes, max_stored_bytes, frozenset(models))
        #: One State per project the emulated region has (`add_project`); vector stores are shared (state.py).
        self.states: dict[str, State] = {project: self.state}
        self.calls: list[Call] = []
        self._faults: deque[Fault] = deque()
        self._revoked: set[str] = set()
        self._lock = threading.Lock()
        self._server = BackgroundServer("genai-emulator", host)
        self._stopping: asyncio.Event | None = None
        self.routes: tuple[Route, ...] = (
            *responses.ROUTES,
            *chat.ROUTES,
            *conversations.ROUTES,
            *storage.ROUTES,
            *file_batches.ROUTES,
        )

    # The state's stores most used from outside (the benchmark and the soak test keep them flat).

    @property
    def responses(self) -> dict[str, dict[str, Any]]:
        return self.state.responses

    @property
    def input_items(self) -> dict[str, list[dict[str, Any]]]:
        return self.state.input_items

    @property
    def conversations(self) -> dict[str, StoredConversation]:
        return self.state.conversations

    def add_project(self, project: str) -> State:
        """Make `project` exist here (Terraform creates one per client), with nothing in it yet; its State."""
        with self._lock:
            if project not in self.states:
                self.states[project] = State(vector_stores=self.state.vector_stores)
            return self.states[project]

    # -- control ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{PREFIX}"

    @property
    def control_base_url(self) -> str:
        """What GENAI_CONTROL_BASE_URL should be for the function to use this emulator's control plane."""
        return f"http://{self.host}:{self.port}{CONTROL_PREFIX}"

    def inject(self, kind: str, *, times: int = 1, value: float = 1.0, path: str = "", method: str = "") -> None:
        """Make the next `times` requests fail with fault `kind`.

        `path` (below /openai/v1, e.g. "/files") and `method` narrow which
        requests take it; the others pass untouched and leave it queued. A
        stream fault waits for a streamed create ("no-done" for a Chat
        Completions one).
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            if kind == "401-until-rotate":
                self._revoked.update(self.issuer.issued)
            else:
                self._faults.append(Fault(kind, times, value, path, method.upper()))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._revoked.clear()

    def start(self) -> Emulator:
        def make_app() -> web.Application:
            self._stopping = asyncio.Event()
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/_emulator/faults", self._control)
            app.router.add_route("GET", "/_emulator/calls", self._calls)
            app.router.add_route("*", PREFIX + "/{tail:.*}", self._handle)
            app.router.add_route("*", CONTROL_PREFIX + "/{tail:.*}", self._handle)
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

    async def _calls(self, request: web.Request) -> web.Response:
        """The call record, for a test in another process than the emulator's (`make run`'s)."""
        fields = ("method", "path", "status", "fault", "jti", "reason", "body", "query")
        return web.json_response({"calls": [{f: getattr(c, f) for f in fields} for c in list(self.calls)]})

    async def _control(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.clear_faults()
            return web.json_response({"faults": []})
        try:
            spec = await request.json()
            self.inject(
                str(spec["kind"]),
                times=int(spec.get("times", 1)),
                value=float(spec.get("value", 1.0)),
                path=str(spec.get("path", "")),
                method=str(spec.get("method", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": str(exc), "faults": FAULTS}, status=400)
        return web.json_response({"queued": spec})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        body = await request.read()
        call = Call(
            request.method,
            request.path,
            0,
            raw_body=body,
            query=request.query_string,
            project=request.headers.get("OpenAI-Project", ""),
            compartment=request.headers.get("opc-compartment-id", ""),
        )
        self.calls.append(call)
        try:
            claims = self._authenticate(request, body)
            call.jti = claims.get("jti", "")
            plane = "control" if request.path.startswith(CONTROL_PREFIX + "/") else "inference"
            state = self._authorize(request, claims, plane)
            tail = "/" + request.match_info["tail"].rstrip("/")
            found, params = self._match(request.method, tail, plane)
            payload: Any = {}
            if (
                body
                and not request.content_type.startswith("multipart/")
                and "octet-stream" not in request.content_type
            ):
                payload = parse_json(body)
            call.body = payload if isinstance(payload, dict) else {}
            streaming = bool(found and found.stream and call.body.get("stream") is True)
            fault = self._fault_for(request.method, tail, body, found.stream if streaming and found else "")
            call.fault = fault.kind if fault else ""
            if fault:
                early = await self._apply_fault(request, fault)
                if early is not None:
                    return early
            if found is None:
                # GET /models included: Oracle's pages for the OpenAI-compatible endpoint do not
                # list it (the function answers it): https://docs.oracle.com/en-us/iaas/Content/generative-ai/openai-compatible-api.htm
                raise Refusal(404, "NotFound", f"No route for {request.method} {request.path}")
            stream_fault = fault.kind if fault and fault.kind in STREAM_FAULTS else ""
            if streaming:
                # Recorded before the first byte: once the client has the stream, a reader of `calls` must see it.
                call.status = 200
            response = await found.handler(state, Request(request, body, call.body, params, stream_fault))
        except Refusal as refusal:
            call.reason = refusal.message
            response = refusal.response()
        call.service_ms = (time.perf_counter() - started) * 1000
        if isinstance(response, web.Response):
            response.headers["x-emulator-service-ms"] = f"{call.service_ms:.3f}"
        call.status = response.status
        return response

    def _match(self, method: str, tail: str, plane: str) -> tuple[Route | None, dict[str, str]]:
        path_found = False
        for candidate in self.routes:
            matched = candidate.pattern.fullmatch(tail) if candidate.plane == plane else None
            if matched:
                path_found = True
                if candidate.method == method:
                    return candidate, matched.groupdict()
        if path_found:
            raise Refusal(405, "MethodNotAllowed", f"{method} is not allowed on {tail}")
        return None, {}

    def _authenticate(self, request: web.Request, body: bytes) -> dict[str, Any]:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() == "bearer":  # an API key (OCI_AUTH=api_key), not a signature
                return self.issuer.api_key_claims(key.strip())
            return self.issuer.authenticate(request.method, request.path_qs, request.headers, body, self._revoked)
        except signature.SignatureError as exc:
            raise Refusal(
                401,
                "NotAuthenticated",
                f"The required information to complete authentication was not provided or was incorrect: {exc}",
            ) from None

    def _authorize(self, request: web.Request, claims: dict[str, Any], plane: str) -> State:
        """The State the request works on: its project's (the control plane's: the project it names, if any)."""
        project = request.headers.get("OpenAI-Project", "")
        state = self.states.get(project)
        if plane == "control":
            compartment = request.headers.get("opc-compartment-id", "")
            if not compartment:
                raise Refusal(400, "MissingParameter", "The opc-compartment-id header is required.")
            if self.authorized_compartments is not None and compartment not in self.authorized_compartments:
                raise Refusal(404, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found.")
            return self._regional(state or self.state)
        allowed = self.authorized_compartments is None or claims.get("res_compartment") in self.authorized_compartments
        if state is None or not allowed:
            why = "no such project" if state is None else "no policy allows this principal"
            raise Refusal(
                404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found ({why})."
            )
        return self._regional(state)

    def _regional(self, state: State) -> State:
        """`state`, with the region's models and limits (set on `self.state`, by tests too)."""
        if state is not self.state:
            state.models = self.state.models
            state.max_file_bytes, state.max_stored_bytes = self.state.max_file_bytes, self.state.max_stored_bytes
        return state

    def _fault_for(self, method: str, tail: str, body: bytes, stream: str) -> Fault | None:
        """This request's fault: a `[[fault:NAME]]` mark in its body first, else the first queued one that fits."""

        def fits(kind: str) -> bool:
            if kind not in STREAM_FAULTS:
                return True
            return bool(stream) and (kind != "no-done" or stream == "chat")

        mark = FAULT_MARK.search(body.decode("utf-8", "replace")) if b"[[fault:" in body else None
        if mark and mark.group(1) in FAULTS and fits(mark.group(1)):
            return Fault(mark.group(1), 1, float(mark.group(2) or 1.0))
        with self._lock:
            for fault in self._faults:
                if tail.startswith(fault.path) and fault.method in ("", method) and fits(fault.kind):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return Fault(fault.kind, 1, fault.value)
        return None

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        kind = fault.kind
        if kind == "429":
            raise Refusal(
                429, "TooManyRequests", "Too many requests for this tenancy.", {"retry-after": f"{fault.value:g}"}
            )
        if kind == "429-no-retry-after":
            raise Refusal(429, "TooManyRequests", "Too many requests for this tenancy.")
        if kind in ("500", "503"):
            raise Refusal(
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
            raise Refusal(503, "ServiceUnavailable", "hung")
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
        # Stream faults are applied by the route as it writes the stream.
        return None
