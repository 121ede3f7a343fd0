"""An aiohttp application served from its own thread and event loop, on a 127.0.0.1 port.

The emulator and the gateway both need to run beside synchronous code (tests,
the `make run` console) and to stop cleanly; this is that one piece of code.

It also replaces aiohttp's answer to a request it cannot parse. aiohttp's
default (web_protocol.RequestHandler.handle_error) answers 400 with the
parser's message, which quotes the offending raw line, and logs that message
with a traceback: a stray CR or control character in `Authorization: Bearer
<key>` would put the key in the answer and on stderr. Here a malformed
request gets a fixed JSON body in API Gateway's shape, and logs name only the
exception type and where it was raised, never its message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger("genai-local-server")


def error_body(status: int) -> bytes:
    """API Gateway's shape for its own refusals: {"code": 400, "message": "Bad Request"}."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return json.dumps({"code": status, "message": phrase}).encode()


def _describe(exc: BaseException | None) -> str:
    """The exception's type and the frames it went through, without its message (which may quote a header)."""
    if exc is None:
        return "no exception"
    frames = "".join(traceback.format_tb(exc.__traceback__)) if exc.__traceback__ else ""
    return f"{type(exc).__module__}.{type(exc).__qualname__}\n{frames}".rstrip()


class QuietRequestHandler(RequestHandler):
    """aiohttp's connection handler, with error answers and logs that never quote the request."""

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            log.error("answered %d: %s", status, _describe(exc))
        else:
            log.warning("refused a malformed request with %d (%s)", status, type(exc).__name__ if exc else "-")
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        response = web.Response(status=status, body=error_body(status), content_type="application/json")
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc_info = kw.get("exc_info")
        exc = exc_info if isinstance(exc_info, BaseException) else None
        log.error("%s: %s", args[0] if args else "error", _describe(exc))


class _Site(web.SockSite):
    """A SockSite whose connections are served by QuietRequestHandler."""

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()

        def handler() -> RequestHandler:
            # What web.Server.__call__ does, with our handler class.
            return QuietRequestHandler(server, loop=loop, **server._kwargs)

        self._server = await loop.create_server(handler, sock=self._sock, backlog=self._backlog)


class BackgroundServer:
    """Runs `make_app()` (called on the server's own loop) until `stop()`."""

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, make_app: Callable[[], web.Application]) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.loop = loop
            runner = web.AppRunner(make_app(), access_log=None, handle_signals=False)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(_Site(runner, sock).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{self.name} did not start within 10 s")

    def call_soon(self, callback: Callable[[], object]) -> None:
        if self.loop:
            self.loop.call_soon_threadsafe(callback)

    def stop(self) -> None:
        if self.loop and self._thread:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self._thread = None
