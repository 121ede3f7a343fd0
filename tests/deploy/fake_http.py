"""A small HTTP server on 127.0.0.1 answering each (method, path) with a canned status and body."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any]


@contextmanager
def serve(
    answers: dict[tuple[str, str], Answer], default: Answer = (404, {"code": 404, "message": "Not Found"})
) -> Iterator[str]:
    """Yield the base URL; a value that is bytes is sent as is, anything else as JSON."""
    seen: list[tuple[str, str, dict[str, str]]] = []
    #: (method, path, body) of every request, in order.
    bodies: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            bodies.append((self.command, self.path, self.rfile.read(length)))
            seen.append((self.command, self.path, dict(self.headers)))
            status, body = answers.get((self.command, self.path), default)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/event-stream" if isinstance(body, bytes) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    with threaded(Handler) as base_url:
        serve.seen = seen  # type: ignore[attr-defined]
        serve.bodies = bodies  # type: ignore[attr-defined]
        yield f"{base_url}/genai"


@contextmanager
def threaded(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free 127.0.0.1 port from a thread; yield the base URL, stop on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
