"""An answer nobody waits for any more is logged (`answer_not_delivered`), under the image's entry point.

The Fn agent is played by a raw unix-socket client that sends `POST /call` and closes its end
while the model is still answering, as an agent whose call was cancelled does; the function
finishes, logs its invocation line, and then finds the agent gone when fdk writes the answer.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from dev.local.emulator import Emulator
from dev.local.runner import FnRunner
from dev.local.stack import Stack
from genai_fn.delivery import EVENT

pytestmark = pytest.mark.integration

BODY = json.dumps({"input": "hi", "store": False}).encode()


def _send_call(path: str, call_id: str) -> socket.socket:
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=30)).isoformat(timespec="milliseconds")
    head = (
        f"POST /call HTTP/1.1\r\nHost: localhost\r\nFn-Call-Id: {call_id}\r\n"
        f"Fn-Deadline: {deadline.replace('+00:00', 'Z')}\r\nFn-Intent: httprequest\r\nFn-Http-Method: POST\r\n"
        f"Fn-Http-Request-Url: /v1/responses\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    )
    agent = socket.socket(socket.AF_UNIX)
    agent.connect(path)
    agent.sendall(head.encode() + BODY)
    return agent


def _events(runner: FnRunner) -> list[dict[str, object]]:
    return [json.loads(line) for line in runner.lines() if f'"event":"{EVENT}"' in line]


def test_an_answer_the_agent_stopped_waiting_for_is_logged(
    make_stack: Callable[..., Stack], emulator: Emulator
) -> None:
    stack = make_stack(gateway=False)
    with stack.new_runner(entrypoint=["-m", "genai_fn.boot"]) as runner:  # the Dockerfile's entry point
        delivered = runner.invoke("POST", "/v1/responses", headers={"Content-Type": "application/json"}, body=BODY)
        assert delivered.status == 200

        calls = len(emulator.calls)
        emulator.inject("slow", value=3.0)  # the model takes its time ...
        agent = _send_call(runner.socket_path, "GONE1")
        until = time.monotonic() + 30  # a bound for a broken test, not a timing
        while len(emulator.calls) == calls and time.monotonic() < until:  # ... and has the request: the
            time.sleep(0.005)  # handler is running, waiting for it
        agent.close()  # the agent gives up on the call

        line = json.loads(runner.wait_for_line(lambda text: f'"event":"{EVENT}"' in text))
        assert runner.log_for("GONE1")["status"] == 200, "the function answered, and logged it as usual"
    assert line["call_id"] == "GONE1" and line["status"] == 200 and int(str(line["bytes"])) > 0
    # Output is read in order: the delivered call, logged before, has no such line.
    assert [event["call_id"] for event in _events(runner)] == ["GONE1"]


def test_the_local_gateway_logs_a_client_gone_before_its_answer(stack: Stack, emulator: Emulator) -> None:
    """Haystack with timeout=3 against a 5 s generation: the function answers 200, nobody reads it."""
    assert stack.gateway is not None
    emulator.inject("slow", value=3.0)
    with pytest.raises(httpx.ReadTimeout):  # the client's own read timeout, shorter than the generation
        stack.client(timeout=httpx.Timeout(30, read=0.5)).post("/v1/responses", json={"input": "hi", "store": False})
    until = time.monotonic() + 30  # a bound for a broken test, not a timing
    while not stack.gateway.undelivered and time.monotonic() < until:
        time.sleep(0.005)
    (call_id,) = stack.gateway.undelivered
    assert stack.runner.log_for(call_id)["status"] == 200, "the model answered, and the call was billed"
