"""Accounting a client cannot dodge, through the local gateway (as `make run` serves it), fdk and the emulator.

A capped client's cap applies whatever it leaves out; every generating call's tokens reach the log line
(streams whether or not the client asked for usage, answers with huge echoed fields); a body with a
duplicate key is refused; a refused model name is not logged as the client wrote it; and a client's
`Fn-*` headers do not change how the platform passes the function's status on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dev.local.connector import UsageMetrics
from dev.local.stack import Stack
from genai_fn.checks import REFUSED_MODEL

pytestmark = pytest.mark.integration

MODEL = "openai.gpt-oss-20b"
CAP = 16
CONFIG = {"GENAI_ALLOWED_MODELS": MODEL, "GENAI_DEFAULT_MODEL": MODEL, "GENAI_MAX_OUTPUT_TOKENS": "4096"}
API_CLIENTS: dict[str, dict[str, Any]] = {"capped": {"max_output_tokens": CAP}, "free": {}}
#: 101 words: the emulator answers "Echo: " and the input, a token a word.
LONG = " ".join(["word"] * 100)
CHAT = [{"role": "user", "content": LONG}]


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(config=CONFIG, api_clients=API_CLIENTS)


def _as(stack: Stack, client: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.client_keys.keys[client]}"}, timeout=30
    )


def _line(stack: Stack) -> dict[str, Any]:
    return stack.runner.log_for(stack.runner.last_call_id)


def _events(body: bytes) -> list[str]:
    return [line[len("data: ") :] for line in body.decode().splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/v1/responses", {"input": LONG}, "max_output_tokens"),
        ("/v1/responses", {"input": LONG, "max_output_tokens": None}, "max_output_tokens"),
        ("/v1/responses", {"input": LONG, "stream": True}, "max_output_tokens"),
        ("/v1/chat/completions", {"messages": CHAT}, "max_tokens"),
        ("/v1/chat/completions", {"messages": CHAT, "max_tokens": None}, "max_tokens"),
        ("/v1/chat/completions", {"messages": CHAT, "max_completion_tokens": None}, "max_completion_tokens"),
        ("/v1/chat/completions", {"messages": CHAT, "stream": True}, "max_tokens"),
        ("/", {"input": LONG}, "max_output_tokens"),
    ],
)
def test_a_client_cap_applies_when_the_request_sets_none(stack, emulator, path, body, field):
    with _as(stack, "capped") as capped:
        answer = capped.post(path, json={"model": MODEL, **body})
    assert answer.status_code == 200, answer.text
    assert emulator.calls[-1].body[field] == CAP
    line = _line(stack)
    assert line["output_tokens"] == CAP, "the model stopped at the cap, and the log line counted it"
    with _as(stack, "free") as free:
        assert free.post(path, json={"model": MODEL, **body}).status_code == 200
    assert field not in emulator.calls[-1].body or emulator.calls[-1].body[field] is None, "no cap of its own"
    assert _line(stack)["output_tokens"] == 101


def test_n_above_one_is_refused_for_a_capped_client_only(stack, emulator):
    with _as(stack, "capped") as capped:
        calls = len(emulator.calls)
        refused = capped.post("/v1/chat/completions", json={"model": MODEL, "messages": CHAT, "n": 3})
        assert capped.post("/v1/chat/completions", json={"model": MODEL, "messages": CHAT, "n": 1}).status_code == 200
    assert refused.status_code == 400 and len(emulator.calls) == calls + 1
    error = refused.json()["error"]
    assert (error["code"], error["param"], error["type"]) == ("n_not_allowed", "n", "invalid_request_error")
    with _as(stack, "free") as free:
        assert free.post("/v1/chat/completions", json={"model": MODEL, "messages": CHAT, "n": 3}).status_code == 200


def test_a_chat_stream_is_counted_whether_or_not_the_client_asked_for_usage(stack, emulator):
    with _as(stack, "free") as free:
        unasked = free.post("/v1/chat/completions", json={"model": MODEL, "messages": CHAT, "stream": True})
        sent = emulator.calls[-1].body
        line = _line(stack)
        asked = free.post(
            "/v1/chat/completions",
            json={"model": MODEL, "messages": CHAT, "stream": True, "stream_options": {"include_usage": True}},
        )
    assert sent["stream_options"] == {"include_usage": True}, "the function asks upstream for usage"
    assert (line["input_tokens"], line["output_tokens"]) == (100, 101)
    # The client that did not ask gets OpenAI's stream without the usage chunk: every chunk has a choice.
    chunks = _events(unasked.content)
    assert chunks[-1] == "[DONE]" and all(json.loads(c)["choices"] for c in chunks[:-1])
    assert json.loads(chunks[-2])["choices"][0]["finish_reason"] == "stop"
    # The client that asked gets it, as sent.
    usage = json.loads(_events(asked.content)[-2])
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 101
    assert _line(stack)["output_tokens"] == 101


@pytest.mark.parametrize("stream", [False, True])
def test_usage_after_huge_echoed_fields_reaches_the_log_line(stack, stream):
    # 25,000 tools and 20,000 metadata pairs: within the request's limit of JSON values, echoed back by the
    # service ahead of `usage` (200,000 structural tokens): read token by token, they spent the answer
    # scanner's budget (100,000) before usage, and the call's tokens went unlogged.
    body = {
        "model": MODEL,
        "input": "hi there",
        "store": False,
        "tools": [{}] * 25_000,
        "metadata": {f"k{i}": "v" for i in range(20_000)},
        "stream": stream,
    }
    with _as(stack, "free") as free:
        answer = free.post("/v1/responses", json=body)
    assert answer.status_code == 200 and len(answer.content) > 900_000
    line = _line(stack)
    assert (line["input_tokens"], line["output_tokens"]) == (2, 3)


@pytest.mark.parametrize(
    "raw, key",
    [
        (b'{"model": "openai.gpt-oss-120b", "model": "%s", "input": "hi"}' % MODEL.encode(), "model"),
        (b'{"model": "%s", "input": "hi", "store": true, "store": false}' % MODEL.encode(), "store"),
        (b'{"model": "%s", "input": [{"role": "user", "content": "a", "content": "b"}]}' % MODEL.encode(), "content"),
    ],
)
def test_a_duplicate_key_at_any_depth_is_refused_naming_it(stack, emulator, raw, key):
    calls = len(emulator.calls)
    with _as(stack, "free") as free:
        refused = free.post("/v1/responses", content=raw, headers={"Content-Type": "application/json"})
    assert refused.status_code == 400 and len(emulator.calls) == calls
    error = refused.json()["error"]
    assert (error["code"], error["param"], error["type"]) == ("duplicate_key", key, "invalid_request_error")
    assert repr(key) in error["message"]


def test_a_refused_model_is_logged_as_a_fixed_marker(stack):
    name = "attacker-chosen-" + "x" * 80
    with _as(stack, "free") as free:
        assert free.post("/v1/responses", json={"model": name, "input": "hi"}).status_code in (400, 404)
    line = _line(stack)
    assert line["model"] == REFUSED_MODEL and name not in json.dumps(line)


def test_the_local_gateway_drops_a_clients_fn_headers(stack, emulator):
    emulator.inject("429", times=5, value=0.1)
    headers = {"Fn-Intent": "cloudevent", "Fn-Http-Status": "200", "fn-call-id": "mine"}
    with _as(stack, "free") as free:
        limited = free.post("/v1/chat/completions", json={"model": MODEL, "messages": CHAT}, headers=headers)
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert _line(stack)["call_id"] != "mine"


@pytest.mark.parametrize("intent", ["cloudevent", "x", ""])
def test_a_clients_fn_intent_passed_on_by_a_gateway_changes_no_status(stack, emulator, intent):
    # What OCI's API Gateway does with a client's Fn-* headers is not documented: here the platform passes
    # them on (Fn-Http-H-Fn-Intent), and fdk merges them over its own. The status and headers still arrive.
    key = {"Authorization": f"Bearer {stack.client_keys.keys['capped']}"}
    runner = stack.runner
    for fn_header in ({"Fn-Intent": intent}, {"fn-intent": intent, "Fn-Http-Method": "GET"}):
        client = {"Content-Type": "application/json", "X-GenAI-Client": "capped", **key, **fn_header}
        refused = runner.invoke(
            "POST",
            "/v1/chat/completions",
            headers=client,
            body=json.dumps({"model": MODEL, "n": 2, "messages": CHAT}).encode(),
        )
        assert refused.status == 400 and json.loads(refused.body)["error"]["code"] == "n_not_allowed"
        emulator.inject("429", times=5, value=0.1)
        limited = runner.invoke(
            "POST", "/v1/chat/completions", headers=client, body=json.dumps({"model": MODEL, "messages": CHAT}).encode()
        )
        emulator.clear_faults()
        assert limited.status == 429 and "retry-after" in limited.headers


def test_the_usage_metrics_function_answers_a_bad_configuration_with_a_status_the_platform_passes_on(issuer, tmp_path):
    # A fresh fdk process, invoked as Connector Hub does (directly): fdk turns any status but 200, 502 and
    # 504 into 200 (fdk/constants.py FN_ENFORCED_RESPONSE_CODES), so only a 502 makes the batch come back.
    with UsageMetrics(issuer, tmp_path / "invocations.jsonl", config={"USAGE_METRICS_NAMESPACE": "oci_x"}) as chain:
        assert chain.runner is not None
        answer = chain.runner.invoke("POST", "/", body=b"[]", gateway=False)
    assert answer.status == 502 and json.loads(answer.body)["error"].startswith("USAGE_METRICS_NAMESPACE")
