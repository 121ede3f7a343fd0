"""Regional failover through the gateway, with two emulators: the home region's and a fallback's.

Each emulator is a real local server with its own project; what each one
received is the proof of where a call went. Calls that store nothing fail over
under 429, 5xx, a hang (the home region's share of the budget runs out) and a
dropped connection; stored creates never do; a model the fallback does not
serve stays home; with one region nothing changes (docs/failover.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dev.local.credentials import Issuer, ResourcePrincipal
from dev.local.emulator import Emulator
from dev.local.stack import Stack
from tests.conftest import stack_for_tests
from tests.reliability.support import RecordingRunner

FALLBACK_REGION = "us-ashburn-1"
FALLBACK_PROJECT = "ocid1.generativeaiproject.oc1.us-ashburn-1.amaaaaaafallbackproject"
#: The platform's timeout: the function's budget is 1 s less (its margin); the home region gets half of that.
TIMEOUT_S = 6.0
COLD_TIMEOUT_S = 30.0
FAULTS = [("429", 0.0), ("500", 0.0), ("503", 0.0), ("hang", 0.0), ("drop", 0.0)]


def failover_config(fallback: Emulator, **extra: str) -> dict[str, str]:
    return {
        "GENAI_ALLOWED_MODELS": "*",
        # One attempt per region: what each emulator received is then exactly one call or none.
        "GENAI_MAX_RETRIES": "0",
        "GENAI_FALLBACK_REGIONS": json.dumps(
            [{"region": FALLBACK_REGION, "project": FALLBACK_PROJECT, "base_url": fallback.base_url}]
        ),
        **extra,
    }


def started(emulator: Emulator, principal: ResourcePrincipal, config: dict[str, str]) -> Stack:
    stack = stack_for_tests(
        emulator, config=config, prefix="/genai", timeout_s=TIMEOUT_S, runner_class=RecordingRunner, principal=principal
    ).start()
    # The container's first model call (imports, signer) with a deadline a cold start fits in.
    answer = stack.runner.invoke(
        "POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
        body=b'{"model": "openai.gpt-oss-120b", "messages": [{"role": "user", "content": "warm"}]}',
        timeout_s=COLD_TIMEOUT_S,
    )  # fmt: skip
    assert answer.status == 200, answer.body
    return stack


@pytest.fixture(scope="module")
def fallback(emulator_server: Emulator) -> Iterator[Emulator]:
    with Emulator(emulator_server.issuer, project=FALLBACK_PROJECT) as second:
        yield second


@pytest.fixture(scope="module")
def shared(emulator_server: Emulator, fallback: Emulator, issuer: Issuer) -> Iterator[Stack]:
    """One warm container with failover on; its breaker never opens (each test starts from a healthy home)."""
    with ResourcePrincipal(issuer) as principal:
        stack = started(emulator_server, principal, failover_config(fallback, GENAI_BREAKER_FAILURES="1000"))
        try:
            yield stack
        finally:
            stack.stop()


@pytest.fixture
def home(emulator: Emulator, fallback: Emulator) -> Emulator:
    fallback.clear_faults()
    return emulator


@pytest.fixture
def client(shared: Stack) -> httpx.Client:
    return shared.client(timeout=30)


def chat(client: httpx.Client, text: str, **fields: Any) -> httpx.Response:
    body = {"model": "openai.gpt-oss-120b", "messages": [{"role": "user", "content": text}], **fields}
    return client.post("/v1/chat/completions", json=body)


def respond(client: httpx.Client, text: Any, **fields: Any) -> httpx.Response:
    return client.post("/v1/responses", json={"model": "openai.gpt-oss-120b", "input": text, **fields})


STATELESS = {
    "chat": lambda client, text: chat(client, text),
    "chat-stream": lambda client, text: chat(client, text, stream=True),
    "responses-store-false": lambda client, text: respond(client, text, store=False),
    "responses-store-false-stream": lambda client, text: respond(client, text, store=False, stream=True),
}


def paths(emulator: Emulator, since: int) -> list[tuple[str, str]]:
    return [(c.path, c.fault) for c in emulator.calls[since:]]


def last_line(stack: Stack) -> dict[str, Any]:
    runner = stack.runner
    assert isinstance(runner, RecordingRunner)
    return runner.log_for(runner.answers[-1].call_id)


@pytest.mark.parametrize("fault, value", FAULTS)
@pytest.mark.parametrize("family", list(STATELESS))
def test_a_call_that_stores_nothing_fails_over(shared, client, home, fallback, family, fault, value):
    home.inject(fault, times=1, value=value)
    at_home, there = len(home.calls), len(fallback.calls)
    answer = STATELESS[family](client, f"{family} after {fault}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-genai-region"] == FALLBACK_REGION
    path = "/openai/v1/chat/completions" if family.startswith("chat") else "/openai/v1/responses"
    assert paths(home, at_home) == [(path, fault)], "one attempt at home, which failed"
    assert paths(fallback, there) == [(path, "")], "then one in the fallback region, which answered"
    line = last_line(shared)
    assert line["region"] == FALLBACK_REGION and line["attempts"] == 2
    runner = shared.runner
    assert isinstance(runner, RecordingRunner) and runner.starts == 1, "no call was cut off at the deadline"


STORED = {
    "responses": lambda client: respond(client, "stored"),
    "responses-previous": lambda client: respond(client, "next", store=False, previous_response_id="resp_x"),
    "responses-conversation": lambda client: respond(client, "in", store=False, conversation="conv_x"),
    "responses-file": lambda client: respond(
        client,
        [{"role": "user", "content": [{"type": "input_file", "file_id": "file-x"}]}],
        store=False,
    ),
    "chat-store": lambda client: chat(client, "stored chat", store=True),
    "conversations": lambda client: client.post("/v1/conversations", json={"items": []}),
}


@pytest.mark.parametrize("fault", ["429", "503"])
@pytest.mark.parametrize("kind", list(STORED))
def test_a_stored_call_or_one_that_names_a_stored_object_never_leaves_home(shared, client, home, fallback, kind, fault):
    home.inject(fault, times=1, value=0)
    at_home, there = len(home.calls), len(fallback.calls)
    answer = STORED[kind](client)
    assert answer.status_code == (429 if fault == "429" else 502), answer.text
    assert [f for _, f in paths(home, at_home)] == [fault]
    assert paths(fallback, there) == [], "the fallback region received nothing"
    assert last_line(shared)["region"] == "us-chicago-1"


def test_the_answer_says_the_home_region_served_it_when_home_is_healthy(shared, client, home, fallback):
    there = len(fallback.calls)
    answer = chat(client, "healthy")
    assert answer.status_code == 200 and answer.headers["x-genai-region"] == "us-chicago-1"
    assert paths(fallback, there) == []


def test_both_regions_failing_gets_the_functions_own_answer_before_the_deadline(shared, client, home, fallback):
    home.inject("hang", times=1)
    fallback.inject("hang", times=1)
    answer = chat(client, "nowhere")
    assert answer.status_code == 504 and answer.json()["error"]["code"] == "deadline_exceeded", answer.text
    runner = shared.runner
    assert isinstance(runner, RecordingRunner)
    assert runner.answers[-1].elapsed_s < TIMEOUT_S and runner.starts == 1, "the function answered, not the platform"


def test_both_regions_throttling_gets_the_last_429(shared, client, home, fallback):
    home.inject("429", times=1, value=0)
    fallback.inject("429", times=1, value=0)
    answer = chat(client, "throttled everywhere")
    assert answer.status_code == 429 and answer.json()["error"]["code"] == "rate_limited"
    assert last_line(shared)["region"] == FALLBACK_REGION


# -- containers of their own: the breaker, the model map, one region -------------------------------


@pytest.fixture
def own(home: Emulator, principal: ResourcePrincipal) -> Iterator[list[Stack]]:
    stacks: list[Stack] = []
    yield stacks
    for stack in stacks:
        stack.stop()


def test_an_open_circuit_sends_calls_straight_to_the_fallback(own, home, fallback, principal):
    stack = started(home, principal, failover_config(fallback, GENAI_BREAKER_FAILURES="2"))
    own.append(stack)
    client = stack.client(timeout=30)
    home.inject("429", times=2, value=0)
    for n in range(2):
        assert chat(client, f"failure {n}").headers["x-genai-region"] == FALLBACK_REGION
    stack.runner.wait_for_line(lambda line: '"event":"circuit"' in line and '"to":"open"' in line)
    at_home, there = len(home.calls), len(fallback.calls)
    answer = chat(client, "circuit open")
    assert answer.status_code == 200 and answer.headers["x-genai-region"] == FALLBACK_REGION
    assert paths(home, at_home) == [], "the home region was skipped while its circuit is open"
    assert len(fallback.calls) == there + 1
    # A stored call still goes home, open circuit or not.
    at_home = len(home.calls)
    assert respond(client, "stored").headers["x-genai-region"] == "us-chicago-1"
    assert len(home.calls) == at_home + 1


def test_a_model_the_fallback_does_not_serve_is_not_failed_over(own, home, fallback, principal):
    config = failover_config(fallback, GENAI_FALLBACK_MODELS=f"{FALLBACK_REGION}=openai.gpt-oss-20b")
    stack = started(home, principal, config)
    own.append(stack)
    client = stack.client(timeout=30)
    home.inject("429", times=1, value=0)
    there = len(fallback.calls)
    assert chat(client, "not served there").status_code == 429
    assert paths(fallback, there) == []
    home.inject("429", times=1, value=0)
    answer = chat(client, "served there", model="openai.gpt-oss-20b")
    assert answer.status_code == 200 and answer.headers["x-genai-region"] == FALLBACK_REGION


def test_with_one_region_nothing_changes(own, home, fallback, principal):
    stack = started(home, principal, {"GENAI_ALLOWED_MODELS": "*", "GENAI_MAX_RETRIES": "0"})
    own.append(stack)
    client = stack.client(timeout=30)
    assert "x-genai-region" not in chat(client, "one region").headers
    home.inject("429", times=1, value=0)
    there = len(fallback.calls)
    answer = chat(client, "throttled")
    assert answer.status_code == 429 and "x-genai-region" not in answer.headers
    assert paths(fallback, there) == []
    assert last_line(stack)["region"] == ""


def test_make_run_failover_shows_it(capsys):
    from dev.local import failover

    assert failover.run(port=0, prefix="", image=False, once=True) == 0
    shown = capsys.readouterr().out
    assert shown.count(f"200  X-GenAI-Region: {FALLBACK_REGION}") == 2, shown
    assert "response, stored         → 429  X-GenAI-Region: -" in shown and "fallback 0" in shown, shown
