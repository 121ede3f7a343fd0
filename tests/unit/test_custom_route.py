"""examples/custom_route/summarise.py keeps to the call's deadline and makes one attempt (in-process, on the emulator),
using only the `Call` API (genai_fn/call.py).

(tests/integration/test_recipes.py adds it to a copy of the project and calls it through the local gateway.)
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dev.local.runner import load_source
from genai_fn import clients, errors
from genai_fn.call import Call
from genai_fn.families import Family
from genai_fn.http import Request
from genai_fn.logs import CallRecord
from genai_fn.route import Body, Route
from genai_fn.service import Service
from tests.conftest import ROOT

summarise: Any = load_source(ROOT / "examples" / "custom_route" / "summarise.py", "summarise")
ROW = Route("POST", "/v1/summarise", Family.CUSTOM, summarise.handle, body=Body.JSON, about="a summary")


def call(
    service: Service,
    body: bytes,
    seconds: float = 30.0,
    content_type: str = "application/json",
    policy: clients.Policy | None = None,
) -> Any:
    """The handler called as `dispatch.dispatch` calls it, with the `Call` for a client it has resolved."""
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()
    request = Request("call-1", "POST", "/v1/summarise", {}, {"content-type": content_type}, body, deadline)
    record = CallRecord(client="acme.bob" if policy else "")
    return summarise.handle(Call(ROW, "/v1/summarise", request, service, record, record.client, policy))


@pytest.fixture
def service(function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Service:
    """The function's Service as func.py builds it: the signer reads the resource principal from the environment."""
    for name, value in function_env.items():
        monkeypatch.setenv(name, value)
    return Service(function_env)


def test_the_summary_comes_from_one_signed_responses_call(service: Service, emulator) -> None:
    before = len(emulator.calls)
    reply = call(service, b'{"text": "Functions scale to zero."}')
    assert reply.status == 200
    assert json.loads(reply.body) == {"summary": "Echo: Functions scale to zero.", "model": "openai.gpt-oss-120b"}
    (sent,) = emulator.calls[before:]
    assert sent.path == "/openai/v1/responses" and sent.jti and sent.body["store"] is False


def test_a_hanging_model_is_a_504_before_the_deadline(service: Service) -> None:
    deadline = datetime.now(timezone.utc) + timedelta(seconds=3)
    with pytest.raises(errors.ApiError) as caught:
        call(service, b'{"text": "[[fault:hang]]"}', seconds=3)
    assert caught.value.status == 504 and caught.value.code == "deadline_exceeded"
    assert datetime.now(timezone.utc) < deadline, "answered inside the call's deadline"


def test_a_failed_attempt_is_not_repeated_by_the_sdk(service: Service, emulator) -> None:
    before = len(emulator.calls)
    with pytest.raises(errors.ApiError) as caught:
        call(service, b'{"text": "[[fault:503]]"}')
    assert caught.value.status == 502 and len(emulator.calls) == before + 1, "max_retries=0: one attempt"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "param"),
    [
        (b'{"text": ""}', "application/json", 400, "text"),
        (b'{"words": "x"}', "application/json", 400, "text"),
        (b'{"text": ', "application/json", 400, None),
        (b"text", "text/plain", 415, None),
    ],
)
def test_bad_requests_are_refused_without_a_model_call(service, emulator, body, content_type, status, param) -> None:
    before = len(emulator.calls)
    with pytest.raises(errors.ApiError) as caught:
        call(service, body, content_type=content_type)
    assert caught.value.status == status and caught.value.param == param
    assert len(emulator.calls) == before


def test_no_time_left_is_a_504_at_once(service: Service, emulator) -> None:
    before = len(emulator.calls)
    with pytest.raises(errors.ApiError) as caught:
        call(service, b'{"text": "late"}', seconds=0.5)
    assert caught.value.status == 504 and len(emulator.calls) == before


def test_a_client_whose_policy_leaves_out_the_default_model_is_refused(service: Service, emulator) -> None:
    before = len(emulator.calls)
    with pytest.raises(errors.ApiError) as caught:
        call(service, b'{"text": "x"}', policy=clients.Policy(models=frozenset({"openai.gpt-oss-20b"})))
    # As every route refuses a model the client may not use: OpenAI's 404, naming what it may use instead.
    assert caught.value.status == 404 and caught.value.code == "model_not_found"
    assert "`openai.gpt-oss-120b`" in caught.value.message and len(emulator.calls) == before
    assert caught.value.message.endswith("this client may use: openai.gpt-oss-20b.")
    # A policy that allows the default model (or leaves models to the global settings) gets the summary.
    for allowed in (clients.Policy(models=frozenset({"openai.gpt-oss-120b"})), clients.Policy()):
        assert call(service, b'{"text": "x"}', policy=allowed).status == 200


def test_an_isolated_client_is_answered_in_its_own_project(service: Service, emulator) -> None:
    project = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaacustomroute"
    emulator.add_project(project)
    policy = clients.Policy(project=project, compartment="ocid1.compartment.oc1..customroute")
    before = len(emulator.calls)
    assert call(service, b'{"text": "mine"}', policy=policy).status == 200
    (sent,) = emulator.calls[before:]
    assert sent.project == project and sent.jti, "call.openai() sends the client's project, signed"
    # A client without a project of its own is answered in the deployment's.
    assert call(service, b'{"text": "shared"}').status == 200
    assert emulator.calls[-1].project == emulator.project
