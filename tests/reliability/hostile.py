"""A hostile model service: a real HTTP server on 127.0.0.1 that answers whatever the test scripts, byte for byte.

The emulator (dev/local/emulator) answers as OCI does, with faults OCI could
show; this server answers as nothing sane would: any status, any header value
(`Retry-After: 1e999`, a 90 KB opc-request-id), bodies of any shape and
encoding (gzip bombs, `[{},{},…]`, nesting 5,000 deep), and at any pace
(header bytes trickled, a body that stalls). It does not check signatures: the
function signs every request anyway, and what is tested here is what it does
with the answer. A context manager that always stops what it started; a
trickle or a stall ends when the server stops.
"""

from __future__ import annotations

import functools
import json
import socket
import socketserver
import threading
import time
import zlib
from dataclasses import dataclass, field

MiB = 1024 * 1024


@dataclass(frozen=True)
class Play:
    """One scripted answer."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    body: bytes = b""
    #: Seconds between header bytes (the status line and headers trickle one byte at a time, forever).
    trickle_s: float | None = None
    #: Send this many body bytes (of a longer declared Content-Length), then stall until the server stops.
    stall_after: int | None = None
    #: Seconds to wait before the first byte of the answer.
    delay_s: float = 0.0


def response_json(text: str = "hello", **extra: object) -> bytes:
    """A small Responses object with one output text, as OCI answers a create."""
    return json.dumps(
        {
            "id": "resp_hostile",
            "object": "response",
            "status": "completed",
            "model": "openai.gpt-oss-120b",
            "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}],
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
            **extra,
        }
    ).encode()


def wide(size: int) -> bytes:
    """`[{},{},…]` of about `size` bytes: three bytes per 64-byte dict once parsed."""
    return b"[" + b",".join([b"{}"] * (size // 3)) + b"]"


def deep(levels: int) -> bytes:
    """An array nested `levels` deep: far past the interpreter's recursion limit for json.loads."""
    return b"[" * levels + b"]" * levels


@functools.cache
def gzip_bomb(decoded: int) -> bytes:
    """`decoded` zero bytes, gzipped (about 1/1000 of the size), compressed a MiB at a time."""
    return _compress(decoded, zlib.MAX_WBITS | 16)


@functools.cache
def deflate_bomb(decoded: int) -> bytes:
    """The same as zlib-wrapped deflate, the standard form of `Content-Encoding: deflate`."""
    return _compress(decoded, zlib.MAX_WBITS)


def _compress(decoded: int, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(MiB)
    parts = [compressor.compress(zeros) for _ in range(decoded // MiB)]
    return b"".join(parts) + compressor.flush()


def sse_final(response: bytes) -> bytes:
    """A Responses event stream whose final event carries `response` (any bytes) as its response object."""
    return (
        b'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_hostile"}}\n\n'
        b'event: response.completed\ndata: {"type":"response.completed","response":' + response + b"}\n\n"
    )


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    #: time.monotonic() when the request had arrived whole.
    at: float = 0.0


class HostileUpstream:
    """The server; `play(...)` sets the answer for every request that follows (a small Responses object at first)."""

    def __init__(self) -> None:
        self._play = Play(body=response_json())
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/openai/v1"

    def play(self, play: Play) -> None:
        with self._lock:
            self._play = play

    def current(self) -> Play:
        with self._lock:
            return self._play

    def __enter__(self) -> HostileUpstream:
        upstream = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                upstream._serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-upstream", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            while not self.stopping.is_set():
                request = _read_request(conn)
                if request is None:
                    return
                self.seen.append(request)
                if not self._answer(conn, self.current()):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _answer(self, conn: socket.socket, play: Play) -> bool:
        """Write `play`; False when the connection must close after it."""
        if play.delay_s and self.stopping.wait(play.delay_s):
            return False
        head = f"HTTP/1.1 {play.status} Hostile\r\n".encode()
        names = {name.lower() for name, _ in play.headers}
        lines = [f"{name}: {value}\r\n".encode("latin-1") for name, value in play.headers]
        if "content-length" not in names and "transfer-encoding" not in names:
            declared = len(play.body) + (1 if play.stall_after is not None else 0)
            lines.append(f"Content-Length: {declared}\r\n".encode())
        lines.append(b"Connection: close\r\n\r\n")
        raw = head + b"".join(lines)
        if play.trickle_s is not None:
            for byte in raw:
                if self.stopping.wait(play.trickle_s):
                    return False
                conn.sendall(bytes([byte]))
            return False
        conn.sendall(raw)
        if play.stall_after is not None:
            conn.sendall(play.body[: play.stall_after])
            self.stopping.wait(600)
            return False
        view = memoryview(play.body)
        for start in range(0, len(view), 256 * 1024):
            conn.sendall(view[start : start + 256 * 1024])
        return False


def _read_request(conn: socket.socket) -> Seen | None:
    """One request's head and body (by Content-Length); None when the client closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(min(1 << 20, length - len(rest)))
        if not chunk:
            return None
        rest += chunk
    return Seen(method, path, headers, time.monotonic())
