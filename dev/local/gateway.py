"""A local stand-in for the OCI API Gateway deployment in front of the function.

An HTTP server (aiohttp) on 127.0.0.1 with the deployment's routes under its
path prefix, the same caller authentication the Terraform deploys (every route
but `/health` needs `Authorization: Bearer <key>`, checked by the authorizer),
a request size limit, and the Functions backend: each request is handed to a
free function container (`FnRunner`), as the platform spreads calls over
containers, and the container's answer is returned as the platform returns it.

Gateway-level refusals look like API Gateway's own: `{"code": 401, "message":
"Unauthorized"}` and so on, not like the function's OpenAI-shaped errors.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence

from aiohttp import web

from .runner import FnRunner, PlatformResponse
from .server import BackgroundServer

#: The deployment's routes, relative to its path prefix (terraform/apigateway.tf).
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/v1/responses"),
    ("GET", "/v1/responses/{id}"),
    ("DELETE", "/v1/responses/{id}"),
    ("POST", "/"),
    ("GET", "/health"),
)
ANONYMOUS = frozenset({"/health"})
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024

#: Returns the client's name for an accepted request, None to refuse it.
Authenticator = Callable[[Mapping[str, str]], "str | None"]


class Gateway:
    """The local API Gateway; a context manager serving on a free port."""

    def __init__(
        self,
        runners: Sequence[FnRunner],
        *,
        authenticate: Authenticator | None = None,
        prefix: str = "",
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not runners:
            raise ValueError("the gateway needs at least one function container")
        self.runners = list(runners)
        self.authenticate = authenticate
        self.prefix = prefix.rstrip("/")
        self.max_body_bytes = max_body_bytes
        self.host = host
        self.port = port
        self.served = 0
        self._server = BackgroundServer("genai-gateway", host, port)
        self._idle: asyncio.Queue[FnRunner] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.prefix}"

    def start(self) -> Gateway:
        def make_app() -> web.Application:
            self._idle = asyncio.Queue()
            for runner in self.runners:
                self._idle.put_nowait(runner)
            # Bodies over the limit are refused by us with API Gateway's answer, not by aiohttp.
            app = web.Application(client_max_size=self.max_body_bytes + 1)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            return app

        self._server.start(make_app)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        route = self._route(request.method, request.path)
        if route is None:
            return _refuse(404, "Not Found")
        if route == "method":
            return _refuse(405, "Method Not Allowed")
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return _refuse(413, "Payload Too Large")
        if route not in ANONYMOUS and self.authenticate is not None:
            client = await asyncio.get_running_loop().run_in_executor(None, self.authenticate, dict(request.headers))
            if client is None:
                return _refuse(401, "Unauthorized", {"WWW-Authenticate": 'Bearer realm="genai"'})
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(413, "Payload Too Large")
        if len(body) > self.max_body_bytes:
            return _refuse(413, "Payload Too Large")

        assert self._idle is not None
        runner = await self._idle.get()
        try:
            answer: PlatformResponse = await asyncio.get_running_loop().run_in_executor(
                None,
                lambda: runner.invoke(request.method, request.path_qs, headers=dict(request.headers), body=body),
            )
        finally:
            self._idle.put_nowait(runner)
        self.served += 1
        headers = {k: v for k, v in answer.headers.items() if k not in ("content-length", "transfer-encoding")}
        headers["opc-request-id"] = uuid.uuid4().hex.upper()
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    def _route(self, method: str, path: str) -> str | None:
        """The matched route template, "method" for a path served with other methods, or None."""
        if self.prefix:
            if not (path == self.prefix or path.startswith(self.prefix + "/")):
                return None
            path = path[len(self.prefix) :] or "/"
        found_path = False
        for route_method, template in ROUTES:
            if _matches(template, path):
                found_path = True
                if route_method == method:
                    return template
        return "method" if found_path else None


def _matches(template: str, path: str) -> bool:
    want, got = template.split("/"), path.split("/")
    if len(want) != len(got):
        return False
    return all(w == g or (w.startswith("{") and g) for w, g in zip(want, got, strict=True))


def _refuse(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"code": status, "message": message},
        status=status,
        headers={"opc-request-id": uuid.uuid4().hex.upper(), **(headers or {})},
    )
