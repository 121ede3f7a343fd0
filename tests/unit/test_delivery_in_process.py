"""genai_fn/delivery.py in-process: fdk's own HttpProtocol on a real socket pair, the agent's end open
or closed when the answer is written (tests/integration/test_delivery.py does it through an fdk process)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

import pytest
from fdk.async_http import protocol
from fdk.async_http.response import HTTPResponse
from fdk.async_http.server import Signal

from genai_fn import delivery

CALL_ID = "01CALLINPROCESS"
REQUEST = f"POST /call HTTP/1.1\r\nHost: fn\r\nFn-Call-Id: {CALL_ID}\r\nContent-Length: 0\r\n\r\n".encode()


@pytest.fixture(autouse=True)
def watched(monkeypatch: pytest.MonkeyPatch) -> None:
    """fdk's write_response wrapped for this test only (restored after it)."""
    monkeypatch.setattr(protocol.HttpProtocol, "write_response", protocol.HttpProtocol.write_response)
    assert delivery.watch() and delivery.watch(), "installed, and installing it again changes nothing"
    assert protocol.HttpProtocol.write_response.genai_watched  # type: ignore[attr-defined]


def answer_with_agent(close_first: bool) -> bytes:
    """Serve one call with fdk's HttpProtocol on one end of a socket pair; what the agent's end received."""

    async def run() -> bytes:
        loop = asyncio.get_running_loop()
        ours, agent = socket.socketpair()
        agent.setblocking(False)
        answered = asyncio.Event()

        async def handler(request: Any, write_callback: Any, stream_callback: Any) -> None:
            if close_first:
                agent.close()
            write_callback(HTTPResponse(body_bytes=b"the answer", status=200))
            answered.set()

        connection = protocol.HttpProtocol(
            loop=loop, request_handler=handler, error_handler=None, signal=Signal(), request_max_size=100_000_000
        )
        await loop.sock_sendall(agent, REQUEST)
        await loop.connect_accepted_socket(lambda: connection, ours)
        await asyncio.wait_for(answered.wait(), 10)
        received = b"" if close_first else await asyncio.wait_for(loop.sock_recv(agent, 65536), 10)
        if connection.transport is not None:
            connection.transport.close()
        if not close_first:
            agent.close()
        return received

    return asyncio.run(run())


def events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    found = []
    for record in caplog.records:
        try:
            line = json.loads(record.getMessage())
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("event") == delivery.EVENT:
            found.append(line)
    return found


def test_an_answer_the_agent_takes_is_written_and_nothing_is_logged(caplog):
    caplog.set_level(logging.WARNING, logger="genai_fn")
    received = answer_with_agent(close_first=False)
    assert received.startswith(b"HTTP/1.1 200") and received.endswith(b"the answer")
    assert events(caplog) == []


def test_an_answer_after_the_agent_closed_its_end_is_logged_with_the_call(caplog):
    caplog.set_level(logging.WARNING, logger="genai_fn")
    answer_with_agent(close_first=True)
    (line,) = events(caplog)
    assert line["call_id"] == CALL_ID and line["status"] == 200 and line["bytes"] == len(b"the answer")
