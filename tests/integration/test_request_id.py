"""Every answer the function gives carries `x-request-id`, the call id its log line carries.

openai-python reads that header into `response._request_id` (and `APIStatusError.request_id`), so a
client's log and the function's log meet on one id. Through the local gateway, as clients call it.
"""

from __future__ import annotations

import openai
import pytest

from dev.local.runner import FnRunner
from dev.local.stack import Stack

pytestmark = pytest.mark.integration


def test_the_sdk_reads_the_call_id_of_an_answer(sdk: openai.OpenAI, runner: FnRunner) -> None:
    response = sdk.responses.create(input="hi", store=False)
    assert response._request_id, "openai-python found no x-request-id"
    line = runner.log_for(response._request_id)
    assert line["call_id"] == response._request_id and line["status"] == 200


def test_a_streamed_answer_and_the_model_list_carry_it(sdk: openai.OpenAI, runner: FnRunner) -> None:
    with sdk.responses.create(input="hi", stream=True, store=False) as stream:
        events = [event.type for event in stream]
        streamed = stream.response.headers["x-request-id"]
    assert events[-1] == "response.completed"
    assert runner.log_for(streamed)["route"] == "POST /v1/responses"
    listed = sdk.models.with_raw_response.list()
    assert runner.log_for(listed.request_id or "")["route"] == "GET /v1/models"


def test_an_error_carries_it_for_the_sdk_and_a_raw_request(stack: Stack, sdk: openai.OpenAI, runner: FnRunner) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(input="hi", max_output_tokens=0)
    assert refused.value.request_id and runner.log_for(refused.value.request_id)["error_code"] == "invalid_request"

    raw = stack.client().get("/v1/responses/resp_1/no/such/thing")  # the gateway routes it; the function: 404
    call_id = raw.headers["x-request-id"]
    line = runner.log_for(call_id)
    assert raw.status_code == 404 and line["status"] == 404 and line["error_code"] == "unknown_route"
    assert raw.headers["x-call-id"] == call_id


def test_health_carries_it_and_the_gateways_own_refusal_does_not(stack: Stack, runner: FnRunner) -> None:
    health = stack.client(auth=False).get("/health")
    assert health.status_code == 200 and runner.log_for(health.headers["x-request-id"])["route"] == "GET /health"
    # Refused by the gateway before any function runs: API Gateway's own opc-request-id only.
    refused = stack.client(auth=False).get("/v1/models")
    assert refused.status_code == 401 and "x-request-id" not in refused.headers and refused.headers["opc-request-id"]
