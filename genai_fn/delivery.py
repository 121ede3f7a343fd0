"""A log line for an answer the Fn agent no longer waits for: paid for, then thrown away.

What the function can see of a caller that goes away (fdk 0.1.128, read in its source, and run):

- The handler cannot see it. fdk calls the handler synchronously inside its event loop
  (fdk/runner.py `with_deadline` calls `handle_func(ctx, data=data)`), so nothing else runs
  in the process until the handler returns, and the answer is written only after that
  (fdk/async_http/app.py `handle_request` → `write_callback(response)`).
- fdk does not see it either. `HttpProtocol.write_response` (fdk/async_http/protocol.py)
  hands the bytes to asyncio's `transport.write`, which catches the `OSError` of a closed
  socket itself and only logs it in asyncio's debug mode (asyncio/selector_events.py
  `_fatal_error`); fdk's `except` branches never run.
- What the function does not have is the client's connection at all. The client talks to
  API Gateway; the Fn agent holds one HTTP connection to the container's unix socket per
  call (Fn's container contract: "The agent MUST maintain no more than one concurrent HTTP
  connection to the FDK HTTP servers", fnproject/fn docs). The open-source Fn agent sends
  `POST /call` with the call's context (fnproject/fn api/agent/agent.go `createUDSRequest`:
  `req.WithContext(ctx)`), so a cancelled call closes that connection, and "If http-uds
  errors/timeout, container cannot continue": the container is then shut down. Whether OCI's
  platform cancels the call when API Gateway's client disconnects, and whether API Gateway
  cancels its backend request then, is not documented.

So the one thing the process can observe is the agent's connection being closed when the
answer is about to be written. `watch()` wraps fdk's `write_response` to look, without
reading anything, whether the agent has closed its end (a zero-byte peek), and logs
`answer_not_delivered` with the call id, status and size: the invocation line of that
call (logged before, by func.py) says 200, this line says nobody took the answer. When the
platform keeps the connection open after the client left, or kills the container first,
there is nothing to see and nothing is logged: a client's timeout shorter than the
function's is then visible only in API Gateway's logs. Installed by `genai_fn.boot`, the
image's entry point. It changes nothing that is written: a failure here is ignored.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from . import logs

EVENT = "answer_not_delivered"


def watch() -> bool:
    """Wrap fdk's `HttpProtocol.write_response` (once); False if this fdk has none to wrap."""
    try:
        from fdk.async_http import protocol

        original = protocol.HttpProtocol.write_response
    except (ImportError, AttributeError):
        return False
    if getattr(original, "genai_watched", False):
        return True

    def write_response(self: Any, response: Any) -> None:
        _note_undelivered(self, response)
        original(self, response)

    write_response.genai_watched = True  # type: ignore[attr-defined]
    protocol.HttpProtocol.write_response = write_response
    return True


def _note_undelivered(connection: Any, response: Any) -> None:
    try:
        transport = connection.transport
        if transport is not None and not transport.is_closing() and not _peer_closed(transport):
            return
        headers = getattr(connection.request, "headers", None) or {}
        logs.event(
            EVENT,
            {
                "call_id": headers.get("fn-call-id", ""),
                # What the caller would have had (fdk's status: 200 for a gateway call; see Fn-Http-Status).
                "status": getattr(response, "status", None),
                "bytes": len(getattr(response, "body", b"") or b""),
                "why": "the Fn agent closed the call's connection before the answer was written",
            },
            logging.WARNING,
        )
    except Exception:  # noqa: BLE001 - an observation only: never in the way of the answer
        return


def _peer_closed(transport: Any) -> bool:
    """Has the other end closed (EOF or reset)? A peek at one byte on a duplicate of the socket, nothing read."""
    found = transport.get_extra_info("socket")
    if found is None:
        return False
    with socket.socket(fileno=os.dup(found.fileno())) as sock:
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False  # open, nothing sent: the agent is waiting for the answer
        except OSError:
            return True  # reset by the agent
