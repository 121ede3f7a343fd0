"""The OpenAI SDK through the local gateway, fdk and the emulator: every link real but the cloud."""

from typing import Any, cast

import httpx
import openai
import pytest

MODEL = "openai.gpt-oss-120b"
pytestmark = pytest.mark.integration


def test_create_through_the_gateway(sdk, emulator):
    response = sdk.responses.create(model=MODEL, input="hello through the chain")
    assert response.output_text == "Echo: hello through the chain"
    assert response.usage.output_tokens == 5
    assert emulator.calls[-1].status == 200 and emulator.calls[-1].jti, "signed with the emulated principal"


def test_stream_through_the_gateway(sdk):
    events = list(sdk.responses.create(model=MODEL, input="stream it please", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Echo: stream it please" == events[-1].response.output_text


def test_retrieve_delete_and_chain(sdk):
    first = sdk.responses.create(model=MODEL, input="remember this")
    assert sdk.responses.retrieve(first.id).output_text == "Echo: remember this"
    second = sdk.responses.create(model=MODEL, input="and this", previous_response_id=first.id)
    assert second.output_text == "Echo: and this (after: Echo: remember this)"
    sdk.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.responses.retrieve(first.id)
    assert cast(Any, caught.value.body)["code"] == "response_not_found"


def test_simple_route_with_curl_like_client(gateway, api_keys):
    answer = httpx.post(
        gateway.base_url + "/", content="just text", headers={"Authorization": f"Bearer {api_keys.key}"}
    )
    assert answer.status_code == 200 and answer.json()["output_text"] == "Echo: just text"


def test_gateway_refuses_callers_without_a_valid_key(gateway, api_keys):
    for headers in ({}, {"Authorization": "Bearer sk-genai-wrong"}, {"Authorization": api_keys.key}):
        answer = httpx.post(gateway.base_url + "/v1/responses", json={"input": "x"}, headers=headers)
        # What terraform/gateway.json configures the deployment's validation_failure_policy to answer.
        assert answer.status_code == 401
        assert answer.text == "Invalid or missing API key: send Authorization: Bearer <key>"
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="genai"'
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert httpx.get(gateway.base_url + "/health").status_code == 200, "/health is the one anonymous route"


def test_gateway_routes_and_size_limit(gateway, api_keys):
    auth = {"Authorization": f"Bearer {api_keys.key}"}
    assert httpx.get(gateway.base_url + "/v1/not-a-route", headers=auth).status_code == 404
    assert httpx.get(f"http://{gateway.host}:{gateway.port}/other/v1/responses").status_code == 404
    assert httpx.put(gateway.base_url + "/v1/responses", headers=auth).status_code == 405
    gateway.max_body_bytes = 1000
    answer = httpx.post(gateway.base_url + "/v1/responses", content=b"x" * 2000, headers=auth)
    assert answer.status_code == 413


@pytest.mark.parametrize(
    "fault, times, status, code",
    [
        ("429", 5, 429, "rate_limited"),
        ("429-no-retry-after", 5, 429, "rate_limited"),
        ("500", 5, 502, "upstream_error"),
        ("503", 5, 502, "upstream_error"),
        ("drop", 5, 502, "upstream_unreachable"),
        ("malformed", 1, 502, "upstream_malformed"),
    ],
)
def test_faults_reach_the_caller_as_documented(sdk, emulator, fault, times, status, code):
    emulator.inject(fault, times=times, value=0.1)
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.responses.create(model=MODEL, input="x")
    assert caught.value.status_code == status and cast(Any, caught.value.body)["code"] == code
    emulator.clear_faults()
    assert sdk.responses.create(model=MODEL, input="healthy again").output_text == "Echo: healthy again"


def test_truncated_stream_is_retried(sdk, emulator):
    emulator.inject("truncate", times=1)
    # Not stored: repeating it creates nothing (a stored create is not repeated, genai_fn/retry.py).
    events = list(sdk.responses.create(model=MODEL, input="cut once", stream=True, store=False))
    assert events[-1].type == "response.completed"
    assert [c.fault for c in emulator.calls[-2:]] == ["truncate", ""]


def test_credentials_rotated_while_running(sdk, principal, emulator):
    sdk.responses.create(model=MODEL, input="before")
    before = emulator.calls[-1].jti
    principal.rotate()
    # The function still holds the old token, which stays valid until it expires: OCI accepts it.
    sdk.responses.create(model=MODEL, input="during")
    # Revoke every token issued so far: the 401 makes the signer re-read the files, and retry.
    emulator.inject("401-until-rotate")
    principal.rotate()
    assert sdk.responses.create(model=MODEL, input="after").output_text == "Echo: after"
    assert [c.status for c in emulator.calls[-2:]] == [401, 200]
    assert emulator.calls[-1].jti not in (before, "")


def test_expired_token_then_renewed(sdk, principal, emulator):
    principal.rotate(lifetime_s=60, issued_at=0)  # issued in 1970: long expired
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.responses.create(model=MODEL, input="x")
    assert caught.value.status_code == 502 and "NotAuthenticated" in caught.value.message
    assert "expired" in emulator.calls[-1].reason
    principal.rotate()
    assert sdk.responses.create(model=MODEL, input="renewed").output_text == "Echo: renewed"


def test_hanging_upstream_gets_the_functions_504_before_the_deadline(make_stack):
    short = make_stack(timeout_s=4)
    client = short.openai()
    with pytest.raises(openai.APIStatusError) as caught:
        client.responses.create(model=MODEL, input="[[fault:hang]]")
    assert caught.value.status_code == 504 and cast(Any, caught.value.body)["code"] == "deadline_exceeded"
    assert short.runner.starts == 1, "the function answered itself; the platform did not have to kill it"
    assert client.responses.create(model=MODEL, input="next").output_text == "Echo: next"


def test_logs_carry_no_prompt_output_or_credentials(runner, sdk, principal, api_keys):
    sdk.responses.create(model=MODEL, input="a very private prompt")
    line = runner.log_for(runner.last_call_id)
    assert line["status"] == 200 and line["input_tokens"] == 4
    runner.stop()  # so that everything the container wrote has been read
    logs = "\n".join(runner.lines())
    for secret in ("a very private prompt", "Echo: a very", api_keys.key, principal.token[:40], "PRIVATE KEY"):
        assert secret not in logs
