"""Concurrency: many clients at once through the gateway over several function containers, no cross-talk.

The platform scales a function out to several containers, each of which runs
one call at a time; the gateway hands each request to a free one. Here
CONTAINERS fdk processes sit behind one `Gateway`, and CLIENTS threads each
send REQUESTS requests at once (httpx, the API key as a Bearer token), every
one with an input no other request has. Each must be answered exactly once,
200, with the echo of its own input; the emulator must have seen each input
exactly once (no retry, no duplicate); and the calls must have been spread
over more than one container.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from dev.local.emulator import Emulator
from dev.local.stack import Stack
from tests.reliability.support import echo_of, invocation_lines, output_text, sse_events

pytestmark = pytest.mark.soak

CONTAINERS = int(os.environ.get("SOAK_CONTAINERS", "4"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "16"))
REQUESTS = int(os.environ.get("SOAK_REQUESTS_PER_CLIENT", "25"))


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(containers=CONTAINERS, prefix="/genai", config={"GENAI_ALLOWED_MODELS": "*"})


def send(client: httpx.Client, number: int, text: str) -> tuple[int, str]:
    """One request, by route in turn: create, stream, simple. Returns (status, the answer's output text)."""
    route = number % 3
    if route == 0:
        answer = client.post("/v1/responses", json={"input": text})
        return answer.status_code, output_text(answer.json()) if answer.status_code == 200 else answer.text
    if route == 1:
        answer = client.post("/v1/responses", json={"input": text, "stream": True})
        if answer.status_code != 200:
            return answer.status_code, answer.text
        events = sse_events(answer.content)
        assert events[-1]["type"] == "response.completed"
        deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        assert deltas == output_text(events[-1]["response"])
        return answer.status_code, deltas
    # The deployment's simple route is the prefix itself: POST <prefix>/ (terraform/apigateway.tf).
    answer = client.post("/", content=text.encode(), headers={"Content-Type": "text/plain"})
    return answer.status_code, answer.json()["output_text"] if answer.status_code == 200 else answer.text


def test_concurrent_clients_over_several_containers(stack: Stack, emulator: Emulator, quiet_client_logs: None) -> None:
    containers, gateway, api_keys = stack.runners, stack.gateway, stack.api_keys
    assert gateway is not None
    run = uuid.uuid4().hex[:8]
    pids = [runner.pid for runner in containers]
    calls_before = len(emulator.calls)
    served_before = gateway.served
    start = threading.Barrier(CLIENTS)

    def client(number: int) -> list[tuple[str, int, str]]:
        results = []
        headers = {"Authorization": f"Bearer {api_keys.key}"}
        with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=60) as http:
            start.wait()  # every client starts at once
            for request in range(REQUESTS):
                text = f"run {run} client {number} request {request} {uuid.uuid4().hex}"
                status, got = send(http, number * REQUESTS + request, text)
                results.append((text, status, got))
        return results

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for batch in pool.map(client, range(CLIENTS)) for r in batch]
    seconds = time.monotonic() - started

    total = CLIENTS * REQUESTS
    # Every request answered once, 200, with the echo of its own input.
    assert len(results) == total and len({text for text, _, _ in results}) == total
    wrong = [(text, status, got[:200]) for text, status, got in results if (status, got) != (200, echo_of(text))]
    assert not wrong, f"{len(wrong)} answers were not their own request's echo: {wrong[:5]}"
    # The emulator saw each input exactly once: nothing retried, nothing duplicated, nothing lost.
    calls = emulator.calls[calls_before:]
    seen = Counter(str(call.body.get("input", "")) for call in calls if f"run {run} " in str(call.body.get("input")))
    assert len(calls) == total and seen == Counter({text: 1 for text, _, _ in results}), (len(calls), total)
    assert all(call.status == 200 for call in calls)
    assert gateway.served - served_before == total
    # The calls were spread over the containers, each logged once, and no container was restarted.
    per_container = [len(invocation_lines(runner)) for runner in containers]
    call_ids = [line["call_id"] for runner in containers for line in invocation_lines(runner)]
    assert sum(per_container) == total and len(set(call_ids)) == total
    assert sum(1 for count in per_container if count) > 1, per_container
    assert [runner.pid for runner in containers] == pids and all(runner.starts == 1 for runner in containers)
    routes = Counter(("create", "stream", "simple")[n % 3] for n in range(total))
    print(
        f"\nconcurrency: {CONTAINERS} containers, {CLIENTS} clients x {REQUESTS} requests = {total} "
        f"in {seconds:.1f} s, all 200 and their own echo; calls per container {per_container}; "
        f"upstream calls {len(calls)}; routes {json.dumps(routes)}"
    )
