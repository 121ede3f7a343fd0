"""The network under the signed client: socket operations inside the call's budget, answers decoded within a cap.

**Time.** httpx's timeouts apply to each socket operation, fixed when the
attempt starts: an upstream that trickles header bytes, or sends a few body
bytes and then stalls, could keep one attempt alive long past `Fn-Deadline`,
and the platform would kill the container. Here each connect, TLS handshake,
read and write gets at most what is left of the current call's budget (a
context variable the caller sets with `within`), and none starts once it is
spent: an attempt ends, with httpcore's own timeout exception, when the budget
does, however the upstream paces its bytes. httpx offers no hook for this, so
`BudgetTransport` wraps httpcore's network backend (`NetworkBackend` is public
API of httpcore; the pool's `_network_backend` attribute is not, and httpx and
httpcore are pinned exactly; tests/unit/test_transport.py fails if it moves).

**Memory.** httpx inflates each network read whole (64 KiB of gzip can be
60 MiB), so a cap checked after it is checked too late. `read_decoded` reads
the raw bytes and inflates them itself, never producing more than the cap
plus one chunk: the cap holds on decoded bytes. The function asks for
`gzip, deflate` (OCI may compress; compression saves transfer) and refuses
any other coding, and more than one, as an answer it did not ask for.
"""

from __future__ import annotations

import contextvars
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from .deadline import Budget

#: What the function accepts (sent on every request): one layer of either, or none.
ACCEPT_ENCODING = "gzip, deflate"
#: Decoded bytes produced per step: what one step can add to memory beyond the cap.
_STEP = 64 * 1024

_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("genai_fn_budget", default=None)


@contextmanager
def within(budget: Budget) -> Iterator[None]:
    """Bound every socket operation of the client's requests in this block by `budget`."""
    token = _BUDGET.set(budget)
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout`, shortened to what the current budget has left; `error` at once when nothing is."""
    budget = _BUDGET.get()
    if budget is None:
        return timeout
    left = budget.remaining()
    if left <= 0:
        raise error("the call's time budget is spent")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # One sendall may block as long as its timeout: a budget-sized timeout keeps it inside.
        self._stream.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> _Stream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        left = _clamp(seconds, httpcore.PoolTimeout)
        self._backend.sleep(seconds if left is None else left)


class BudgetTransport(httpx.HTTPTransport):
    """httpx's own transport, on a network backend whose every operation fits the current budget."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        pool._network_backend = _Backend(pool._network_backend)  # type: ignore[union-attr]


class TooLarge(Exception):
    """The decoded answer is longer than the cap."""


class Undecodable(Exception):
    """The answer is in a coding the function did not ask for, or does not decode."""


def read_decoded(response: httpx.Response, limit: int, budget: Budget) -> bytearray:
    """The answer's body, decoded, in one buffer: `TooLarge` past `limit` decoded bytes, `Undecodable`
    for a coding other than one layer of gzip or deflate. The budget is checked between chunks too."""
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if len(codings) > 1:
        raise Undecodable(f"a body with {len(codings)} content codings")
    decoder = _decoder(codings[0]) if codings else None
    buffer = bytearray()
    for chunk in response.iter_raw():
        if decoder is None:
            buffer += chunk
        else:
            decoder.feed(chunk, buffer, limit)
        if len(buffer) > limit:
            raise TooLarge
        if budget.remaining() <= 0:
            raise httpx.ReadTimeout("the call's budget ran out while reading the answer")
    if decoder is not None:
        decoder.finish(buffer, limit)
    if len(buffer) > limit:
        raise TooLarge
    return buffer


class _Inflater:
    """zlib, fed raw chunks, giving out at most `_STEP` bytes at a time and stopping past the cap."""

    def __init__(self, wbits: int, deflate: bool) -> None:
        self._wbits = wbits
        self._deflate = deflate
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes, buffer: bytearray, limit: int) -> None:
        if self._zlib.eof:
            return  # bytes after the end of the compressed body are ignored, as httpx does
        if self._deflate and not self._started:
            # "deflate" is zlib-wrapped by the standard, raw in some servers: httpx accepts both, so do we.
            self._started = True
            try:
                probe = zlib.decompressobj(self._wbits)
                probe.decompress(data[:2])
            except zlib.error:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            while data and len(buffer) <= limit:
                buffer += self._zlib.decompress(data, _STEP)
                data = self._zlib.unconsumed_tail
                if self._zlib.eof:
                    return
        except zlib.error as exc:
            raise Undecodable(f"a body that does not decode ({exc})") from None

    def finish(self, buffer: bytearray, limit: int) -> None:
        if not self._zlib.eof:
            raise Undecodable("a compressed body that ends early")


def _decoder(coding: str) -> _Inflater:
    if coding in ("gzip", "x-gzip"):
        return _Inflater(zlib.MAX_WBITS | 16, deflate=False)
    if coding == "deflate":
        return _Inflater(zlib.MAX_WBITS, deflate=True)
    raise Undecodable(f"a body encoded as {coding[:40]!r}, which the function did not ask for")
