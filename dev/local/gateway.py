"""A local stand-in for the OCI API Gateway deployment in front of the function.

An HTTP server (aiohttp) on 127.0.0.1 with the deployment's routes under its
path prefix (`ROUTES`, read from terraform/routes.json, the file
terraform/apigateway.tf builds its routes from, generated from the function's
route table by `make routes`), the same caller
authentication the Terraform deploys (every route but `/health` needs
`Authorization: Bearer <key>`, checked by the authorizer), a request size
limit, and the Functions backend: each request is handed to a free function
container (`FnRunner`), as the platform spreads calls over containers, and the
container's answer is returned as the platform returns it, bytes and content
type untouched.

As the deployment does:
- a request with several `Authorization` headers is refused: API Gateway hands
  the authorizer a list, which authorizer/func.py refuses;
- the client's `Authorization` header never reaches the function: every route
  blocks it with `header_transformations.filter_headers` (type BLOCK), see
  https://docs.oracle.com/iaas/Content/APIGateway/Tasks/apigatewayheadertransformations.htm;
- bodies are passed through as they came (JSON, multipart, binary) up to the
  limit: 6 MB, OCI Functions' own limit on a request body (`oci fn function invoke --body`:
  https://docs.oracle.com/iaas/tools/oci-cli/latest/oci_cli_docs/cmdref/fn/function/invoke.html).

- every authenticated route sets `X-GenAI-Client` to the authenticated client's
  name, over any value the client sent, and the anonymous route drops it
  (set_headers OVERWRITE / filter_headers BLOCK, terraform/apigateway.tf): the
  function's per-client policy (genai_fn/clients.py) trusts only this value;
- a failed key check answers what the deployment's validation_failure_policy is
  configured to answer (terraform/gateway.json: status, message as the body,
  headers); whether API Gateway sends the message as the whole body is not
  documented, so that exact body is unverifiable here;
- with CORS origins (`cors_allowed_origins`), a preflight (OPTIONS with Origin and
  Access-Control-Request-Method) from a listed origin is answered with the CORS
  policy of terraform/gateway.json, and answers to a listed origin carry
  Access-Control-Allow-Origin and the exposed headers; an unlisted origin gets no
  CORS headers (the browser then refuses), as a CORS policy is assumed to do.

A client that goes away while its call runs (its own timeout, shorter than the
function's) does not stop the call: the container finishes and logs its answer,
as the platform gives the function no sign of it (genai_fn/delivery.py). The
local gateway then logs `client gone before the answer` with the call id, status
and time, and keeps the call id in `undelivered`: the answer was paid for and
thrown away (docs/clients.md, "Whole answers and client timeouts").

Other gateway-level refusals (404 no route, 405, 413, 429) cannot be shaped in a
deployment and look like API Gateway's own: `{"code": 404, "message": "Not
Found"}` and so on, not like the function's OpenAI-shaped errors. No
refusal and no log line quotes a header value; a request aiohttp cannot parse
is answered by server.QuietRequestHandler, which does not quote it either.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from aiohttp import web

from genai_fn.bounds import FUNCTIONS_PAYLOAD_LIMIT
from genai_fn.clients import CLIENT_HEADER

from .runner import FnRunner, PlatformResponse
from .server import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent.parent
#: The deployment's routes relative to its path prefix, generated from genai_fn/routes.py by `make routes`.
ROUTES_FILE = ROOT / "terraform" / "routes.json"
#: What OCI Functions accepts, so that the local gateway refuses what the platform would.
DEFAULT_MAX_BODY_BYTES = FUNCTIONS_PAYLOAD_LIMIT
#: What the deployment's own policies answer (the 401, CORS): terraform/clients.tf reads the same file.
GATEWAY_POLICIES = json.loads((ROOT / "terraform" / "gateway.json").read_text())

log = logging.getLogger("genai-gateway")
#: Client headers named Fn-* are dropped before the backend: the Fn platform's own headers (Fn-Intent,
#: Fn-Http-*) share that namespace. What OCI's API Gateway does with them is not documented (its list of
#: protected headers names none, and a filter takes header names, not a prefix), so the function does not
#: depend on this: it reads the platform's headers only from the platform (genai_fn/http.py).
CLIENT_FN_PREFIX = "fn-"

#: Returns the client's name for an accepted request, None to refuse it.
Authenticator = Callable[[Mapping[str, str]], "str | None"]


class Route:
    def __init__(self, template: str, methods: Sequence[str], anonymous: bool) -> None:
        self.template, self.methods, self.anonymous = template, tuple(m.upper() for m in methods), anonymous

    def matches(self, path: str) -> bool:
        """API Gateway's matching: `{name}` is one non-empty segment; `{name*}`, last, is the rest of the
        path, zero or more segments (https://docs.oracle.com/en-us/iaas/Content/APIGateway/Tasks/apigatewayaddingparamswildcards.htm),
        so `/v1/files/{rest*}` takes `/v1/files/` and `/v1/files/a/b`, not `/v1/files` nor `/v1/files//b`."""
        want, got = self.template.split("/"), path.split("/")
        if want[-1].startswith("{") and want[-1].endswith("*}"):
            head = len(want) - 1
            # The rest may end with a `/` (an empty last segment), but has no empty segment before it.
            return len(got) > head and _segments_match(want[:head], got[:head]) and all(got[head:-1])
        return len(want) == len(got) and _segments_match(want, got)


def _segments_match(want: list[str], got: list[str]) -> bool:
    return all(w == g or (w.startswith("{") and bool(g)) for w, g in zip(want, got, strict=True))


def load_routes(path: Path = ROUTES_FILE) -> tuple[Route, ...]:
    """The deployment's routes, from terraform/routes.json (what apigateway.tf builds them from)."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: `make routes` writes it from genai_fn/routes.py") from None
    return tuple(
        Route(r["path"], r["methods"], kind == "anonymous")
        for kind in ("authenticated", "anonymous")
        for r in raw.get(kind, [])
    )


ROUTES = load_routes()


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
        routes: Sequence[Route] = ROUTES,
        cors_allowed_origins: Sequence[str] = (),
    ) -> None:
        if not runners:
            raise ValueError("the gateway needs at least one function container")
        self.runners = list(runners)
        self.authenticate = authenticate
        self.prefix = prefix.rstrip("/")
        self.max_body_bytes = max_body_bytes
        self.host = host
        self.port = port
        self.routes = tuple(routes)
        self.cors_allowed_origins = tuple(cors_allowed_origins)
        self.served = 0
        #: Call ids of answers whose client had gone when they were ready (see the module's docstring).
        self.undelivered: list[str] = []
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
        cors = self._cors_headers(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return self._preflight(request, cors)
        answer = await self._answer(request)
        answer.headers.update(cors)
        return answer

    def _cors_headers(self, request: web.Request) -> dict[str, str]:
        """The CORS headers of an answer to this request's Origin; none for an unlisted one."""
        origin = request.headers.get("Origin", "")
        if not origin or not ("*" in self.cors_allowed_origins or origin in self.cors_allowed_origins):
            return {}
        policy = GATEWAY_POLICIES["cors"]
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": ", ".join(policy["exposed_headers"]),
            "Vary": "Origin",
        }

    def _preflight(self, request: web.Request, cors: dict[str, str]) -> web.Response:
        """A browser's preflight: answered by the CORS policy, before authentication (it carries no key)."""
        if not cors:
            return web.Response(status=204)
        policy = GATEWAY_POLICIES["cors"]
        asked = request.headers.get("Access-Control-Request-Headers", "")
        allowed = asked if policy["allowed_headers"] == ["*"] else ", ".join(policy["allowed_headers"])
        return web.Response(
            status=204,
            headers={
                **cors,
                "Access-Control-Allow-Methods": ", ".join(policy["allowed_methods"]),
                "Access-Control-Allow-Headers": allowed,
                "Access-Control-Max-Age": str(policy["max_age_in_seconds"]),
            },
        )

    async def _answer(self, request: web.Request) -> web.Response:
        route = self._route(request.method, request.path)
        if route is None:
            return _refuse(404, "Not Found")
        if route == "method":
            return _refuse(405, "Method Not Allowed")
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return _refuse(413, "Payload Too Large")
        assert isinstance(route, Route)
        client: str | None = None
        if not route.anonymous and self.authenticate is not None:
            if len(request.headers.getall("Authorization", [])) > 1:
                # API Gateway passes repeated headers to the authorizer as a list; authorizer/func.py
                # (extract_header) accepts exactly one value.
                return _unauthorized()
            try:
                client = await asyncio.get_running_loop().run_in_executor(
                    None, self.authenticate, dict(request.headers)
                )
            except Exception as exc:  # noqa: BLE001 - the authorizer failing, whatever the cause, is a 502
                # As API Gateway answers when the authorizer function fails (authorizer/func.py);
                # the exception's message is not logged, it may quote the header.
                log.error("the authenticator failed (%s): answering 502", type(exc).__name__)
                return _refuse(502, "Bad Gateway")
            if client is None:
                return _unauthorized()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(413, "Payload Too Large")
        if len(body) > self.max_body_bytes:
            return _refuse(413, "Payload Too Large")
        # Every route's header_transformations block Authorization before the backend, and the client's
        # own X-GenAI-Client: authenticated routes set it from authentication, the anonymous one drops it.
        dropped = ("authorization", CLIENT_HEADER.lower())
        # And every client header in the Fn platform's namespace (Fn-Intent, Fn-Http-*): see CLIENT_FN_PREFIX.
        forwarded = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in dropped and not k.lower().startswith(CLIENT_FN_PREFIX)
        }
        if not route.anonymous and client is not None:
            forwarded[CLIENT_HEADER] = client

        assert self._idle is not None
        runner = await self._idle.get()
        try:
            answer: PlatformResponse = await asyncio.get_running_loop().run_in_executor(
                None, lambda: runner.invoke(request.method, request.path_qs, headers=forwarded, body=body)
            )
        finally:
            self._idle.put_nowait(runner)
        self.served += 1
        if request.transport is None or request.transport.is_closing():
            self.undelivered.append(answer.call_id)
            log.warning(
                "client gone before the answer: call %s, %s %s → %s after %.0f ms, thrown away",
                answer.call_id,
                request.method,
                request.path,
                answer.status,
                answer.elapsed_s * 1000,
            )
        headers = {k: v for k, v in answer.headers.items() if k not in ("content-length", "transfer-encoding")}
        headers["opc-request-id"] = uuid.uuid4().hex.upper()
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    def _route(self, method: str, path: str) -> Route | str | None:
        """The matched route, "method" for a path served with other methods, or None."""
        if self.prefix:
            if not (path == self.prefix or path.startswith(self.prefix + "/")):
                return None
            path = path[len(self.prefix) :] or "/"
        found_path = False
        for route in self.routes:
            if route.matches(path):
                found_path = True
                if method in route.methods:
                    return route
        return "method" if found_path else None


def _unauthorized() -> web.Response:
    """What the deployment's validation_failure_policy answers a failed key check (terraform/gateway.json)."""
    policy = GATEWAY_POLICIES["unauthorized"]
    return web.Response(
        status=policy["status"],
        body=policy["message"].encode(),
        headers={"opc-request-id": uuid.uuid4().hex.upper(), **policy["headers"]},
    )


def _refuse(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"code": status, "message": message},
        status=status,
        headers={"opc-request-id": uuid.uuid4().hex.upper(), **(headers or {})},
    )
