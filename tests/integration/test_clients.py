"""Per-client policy and CORS through the local gateway, fdk and the emulator (genai_fn/clients.py, docs/clients.md).

The stack gets its clients as `make run` does, from api_clients entries
(dev/local/clients.py): each gets a key, and the function the policy table
Terraform renders from the same entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dev.local.stack import Stack

pytestmark = pytest.mark.integration

BIG, SMALL = "openai.gpt-oss-120b", "openai.gpt-oss-20b"
CONFIG = {
    "GENAI_ALLOWED_MODELS": f"{BIG},{SMALL}",
    "GENAI_MODEL_ALIASES": f"gpt-4o-mini={SMALL}",
    "GENAI_MAX_OUTPUT_TOKENS": "4096",
}
API_CLIENTS: dict[str, dict[str, Any]] = {
    "free": {},
    "small": {"models": ["gpt-4o-mini"], "max_output_tokens": 100, "families": ["responses", "chat"]},
    "picky": {"models": ["gpt-4o-mini"]},
}
ORIGIN = "https://app.example.com"


@pytest.fixture
def clients_stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(prefix="/genai", config=CONFIG, api_clients=API_CLIENTS, cors_allowed_origins=(ORIGIN,))


def _as(stack: Stack, client: str, **headers: str) -> httpx.Client:
    auth = {"Authorization": f"Bearer {stack.client_keys.keys[client]}", **headers}
    return httpx.Client(base_url=stack.base_url, headers=auth, timeout=30)


def test_a_client_restricted_to_one_model_is_refused_another(clients_stack, emulator):
    with _as(clients_stack, "small") as small:
        ok = small.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi"})
        assert ok.status_code == 200 and emulator.calls[-1].body["model"] == SMALL
        # The model behind the alias, by its own name, is the same model: allowed.
        assert small.post("/v1/responses", json={"model": SMALL, "input": "hi"}).status_code == 200
        calls = len(emulator.calls)
        refused = small.post("/v1/responses", json={"model": BIG, "input": "hi"})
    assert refused.status_code == 404
    error = refused.json()["error"]
    assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
    assert error["param"] == "model" and "this client may use: gpt-4o-mini, " + SMALL in error["message"]
    assert len(emulator.calls) == calls, "a refused request never reaches the service"
    with _as(clients_stack, "small") as small:
        unknown = small.post("/v1/responses", json={"model": "xai.grok-4", "input": "hi"}).json()["error"]
    # A model the deployment does not serve either: still only what this client may use, nothing else served here.
    assert unknown["code"] == "model_not_found" and unknown["message"].endswith(f"may use: gpt-4o-mini, {SMALL}.")
    assert BIG not in unknown["message"]
    # The unrestricted client may use either model.
    with _as(clients_stack, "free") as free:
        assert free.post("/v1/responses", json={"model": BIG, "input": "hi"}).status_code == 200


def test_a_model_restricted_client_sees_its_models(clients_stack):
    with _as(clients_stack, "picky") as picky:
        listed = {m["id"] for m in picky.get("/v1/models").json()["data"]}
        assert picky.get(f"/v1/models/{BIG}").status_code == 404
        assert picky.get(f"/v1/models/{SMALL}").status_code == 200
    assert listed == {"gpt-4o-mini", SMALL}
    with _as(clients_stack, "small") as small:
        assert small.get("/v1/models").status_code == 403, "models is a family too"
    with _as(clients_stack, "free") as free:
        assert {m["id"] for m in free.get("/v1/models").json()["data"]} == {"gpt-4o-mini", SMALL, BIG}


def test_a_family_restricted_client_is_refused_files(clients_stack):
    with _as(clients_stack, "small") as small:
        refused = small.get("/v1/files")
        chat = small.post(
            "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        )
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "family_not_allowed" and "chat, responses" in error["message"]
    assert chat.status_code == 200
    with _as(clients_stack, "free") as free:
        assert free.get("/v1/files").status_code == 200


def test_a_client_cap_is_applied_with_the_cap_header(clients_stack, emulator):
    with _as(clients_stack, "small") as small:
        capped = small.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi", "max_output_tokens": 1000})
        assert capped.status_code == 200
        assert capped.headers["X-Output-Tokens-Capped"] == "max_output_tokens=100 (asked 1000)"
        assert emulator.calls[-1].body["max_output_tokens"] == 100
        under = small.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi", "max_output_tokens": 50})
        assert "X-Output-Tokens-Capped" not in under.headers and emulator.calls[-1].body["max_output_tokens"] == 50
    with _as(clients_stack, "free") as free:
        answer = free.post("/v1/responses", json={"model": BIG, "input": "hi", "max_output_tokens": 1000})
        assert "X-Output-Tokens-Capped" not in answer.headers, "the global cap (4096) for an unrestricted client"


def test_the_simple_route_keeps_to_the_clients_models(clients_stack, emulator):
    with _as(clients_stack, "picky") as picky:
        calls = len(emulator.calls)
        refused = picky.post("/", json={"input": "hi"})  # the default model, which picky may not use
        assert len(emulator.calls) == calls, "refused before any model call"
        answered = picky.post("/", json={"input": "hi", "model": "gpt-4o-mini"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
    assert answered.status_code == 200 and emulator.calls[-1].body["model"] == SMALL


def test_a_forged_client_header_changes_nothing(clients_stack, emulator):
    with _as(clients_stack, "small", **{"X-GenAI-Client": "free"}) as forged:
        refused = forged.post("/v1/responses", json={"model": BIG, "input": "hi"})
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
        call_id = clients_stack.runner.last_call_id
    assert clients_stack.runner.log_for(call_id)["client"] == "small", "the gateway's name, not the client's"
    with _as(clients_stack, "small", **{"x-genai-client": "local"}) as forged:
        assert forged.get("/v1/files").status_code == 403


def test_the_log_line_names_the_client_and_the_usage_of_a_stream(clients_stack):
    with _as(clients_stack, "small") as small:
        with small.stream(
            "POST", "/v1/responses", json={"model": "gpt-4o-mini", "input": "count me", "stream": True}
        ) as s:
            assert s.status_code == 200 and s.read()
        line = clients_stack.runner.log_for(clients_stack.runner.last_call_id)
    assert line["client"] == "small" and line["model"] == SMALL
    assert line["input_tokens"] > 0 and line["output_tokens"] > 0, "from the stream's final event"


def test_cors_preflight_is_answered_per_the_allow_list(clients_stack):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    url = clients_stack.base_url + "/v1/responses"
    allowed = httpx.options(url, headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert allowed.headers["Access-Control-Allow-Methods"] == "GET, POST, DELETE"
    assert allowed.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert allowed.headers["Access-Control-Max-Age"] == "600"
    other = httpx.options(url, headers={"Origin": "https://evil.example", **preflight})
    assert not any(h.lower().startswith("access-control-") for h in other.headers)
    # The answer itself carries the origin and what a browser script may read.
    with _as(clients_stack, "free", Origin=ORIGIN) as browser:
        answer = browser.post("/v1/responses", json={"model": BIG, "input": "hi"})
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Upstream-Request-Id" in answer.headers["Access-Control-Expose-Headers"]
