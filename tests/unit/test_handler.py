"""Every route and every row of the error table, through fdk's request path in-process,
against the real emulator on a loopback port (signature checked on every call)."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from dev.local.credentials import PROJECT
from tests.conftest import invoke, load_function

MODEL = "openai.gpt-oss-120b"


@pytest.fixture
def fn(monkeypatch, function_env):
    return load_function(monkeypatch, function_env)


def post(fn, url, payload, content_type="application/json", **kwargs):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return invoke(fn, "POST", url, body, {"content-type": content_type}, **kwargs)


def error_of(body):
    data = json.loads(body)
    assert set(data) == {"error"} and set(data["error"]) == {"message", "type", "param", "code"}
    return data["error"]


# -- routes -------------------------------------------------------------------


def test_create_returns_the_upstream_response_object(fn, emulator):
    status, headers, body = post(fn, "/genai/v1/responses", {"model": MODEL, "input": "hello there"})
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    data = json.loads(body)
    assert data["object"] == "response" and data["output"][0]["content"][0]["text"] == "Echo: hello there"
    assert headers["x-upstream-request-id"]
    # Nothing is injected: no output limit unless a setting asks for a default.
    assert "max_output_tokens" not in emulator.calls[-1].body
    assert "x-output-tokens-capped" not in headers


def test_create_is_sent_byte_for_byte_when_nothing_changes(fn, emulator):
    raw = b'{ "model" : "openai.gpt-oss-120b",\n  "input": "spaces kept", "metadata": {"k": "\\u00e9"} }'
    status, _, _ = post(fn, "/v1/responses", raw)
    assert status == 200 and emulator.calls[-1].raw_body == raw


def test_create_fills_in_the_default_model(fn, emulator):
    status, _, body = post(fn, "/v1/responses", {"input": "no model given"})
    assert status == 200 and json.loads(body)["model"] == MODEL


def test_create_caps_max_output_tokens_and_says_so(monkeypatch, function_env, emulator):
    fn = load_function(monkeypatch, {**function_env, "GENAI_MAX_OUTPUT_TOKENS": "2048"})
    status, headers, _ = post(fn, "/v1/responses", {"input": "x", "max_output_tokens": 10**9})
    assert status == 200 and emulator.calls[-1].body["max_output_tokens"] == 2048
    assert headers["x-output-tokens-capped"] == f"max_output_tokens=2048 (asked {10**9})"
    status, headers, _ = post(fn, "/v1/responses", {"input": "x", "max_output_tokens": 2048})
    assert status == 200 and "x-output-tokens-capped" not in headers


def test_a_default_output_limit_is_injected_only_when_configured(monkeypatch, function_env, emulator):
    fn = load_function(monkeypatch, {**function_env, "GENAI_DEFAULT_OUTPUT_TOKENS": "300"})
    assert post(fn, "/v1/responses", {"input": "x"})[0] == 200
    assert emulator.calls[-1].body["max_output_tokens"] == 300
    assert post(fn, "/v1/responses", {"input": "x", "max_output_tokens": 7})[0] == 200
    assert emulator.calls[-1].body["max_output_tokens"] == 7


def test_model_aliases_map_a_clients_default_name(monkeypatch, function_env, emulator):
    env = {
        **function_env,
        "GENAI_ALLOWED_MODELS": f"{MODEL},openai.gpt-oss-20b",
        "GENAI_MODEL_ALIASES": "gpt-4o-mini=openai.gpt-oss-20b",
    }
    fn = load_function(monkeypatch, env)
    status, _, body = post(fn, "/v1/responses", {"model": "gpt-4o-mini", "input": "x"})
    assert status == 200 and emulator.calls[-1].body["model"] == "openai.gpt-oss-20b"
    status, _, body = post(fn, "/v1/responses", {"model": "gpt-3.5-turbo", "input": "x"})
    error = error_of(body)
    # OpenAI's answer to an unknown model (SDKs raise NotFoundError), naming what is served instead.
    assert status == 404 and error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
    assert error["message"].startswith("The model `gpt-3.5-turbo` does not exist or you do not have access to it")
    assert "gpt-4o-mini" in error["message"] and "openai.gpt-oss-20b" in error["message"]


def test_create_stream_returns_the_whole_event_stream(fn):
    status, headers, body = post(fn, "/v1/responses", {"input": "stream this", "stream": True})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = [line[len("event: ") :] for line in body.decode().splitlines() if line.startswith("event: ")]
    assert events[0] == "response.created" and events[-1] == "response.completed"
    assert events.count("response.output_text.delta") == 3


def test_retrieve_and_delete_a_stored_response(fn):
    _, _, body = post(fn, "/v1/responses", {"input": "keep me"})
    rid = json.loads(body)["id"]
    status, _, got = invoke(fn, "GET", f"/v1/responses/{rid}")
    assert status == 200 and json.loads(got)["id"] == rid
    status, _, deleted = invoke(fn, "DELETE", f"/v1/responses/{rid}")
    assert status == 200 and json.loads(deleted)["deleted"] is True
    status, _, missing = invoke(fn, "GET", f"/v1/responses/{rid}")
    assert status == 404 and error_of(missing)["code"] == "response_not_found"


def test_simple_route_with_json(fn):
    status, _, body = post(fn, "/genai/", {"input": "simple question", "instructions": "be brief"})
    assert status == 200
    data = json.loads(body)
    assert set(data) == {"id", "model", "output_text", "usage"}
    assert data["output_text"] == "Echo: simple question"
    assert data["usage"] == {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}


def test_simple_route_with_plain_text(fn):
    status, _, body = post(fn, "/", b"plain words", content_type="text/plain; charset=utf-8")
    assert status == 200 and json.loads(body)["output_text"] == "Echo: plain words"


def test_simple_route_chains_with_previous_response_id(fn):
    first = json.loads(post(fn, "/", {"input": "one"})[2])
    status, _, body = post(fn, "/", {"input": "two", "previous_response_id": first["id"]})
    assert status == 200 and json.loads(body)["output_text"] == "Echo: two (after: Echo: one)"


def test_direct_invocation_is_the_simple_route(fn):
    status, _, body = invoke(fn, "POST", "/", b'{"input": "from fn invoke"}', gateway=False)
    assert status == 200 and json.loads(body)["output_text"] == "Echo: from fn invoke"


def test_health_needs_no_model_call(fn, emulator):
    before = len(emulator.calls)
    status, _, body = invoke(fn, "GET", "/genai/health")
    # Anonymous: it says the function is up and configured, and nothing about how.
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert PROJECT not in body.decode()
    assert len(emulator.calls) == before


# -- input errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, param, code",
    [
        (b"{not json", None, "invalid_json"),
        (b"\xff\xfe{}", None, "invalid_json"),
        (b"[1, 2]", None, "invalid_json"),
        (b"", None, "invalid_json"),
        (b'{"input": "x", "n": NaN}', None, "invalid_json"),
        (b'{"input": "x", "n": 1e999}', None, "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, None, "invalid_json"),
        ({"input": ""}, "input", "invalid_request"),
        ({"input": []}, "input", "invalid_request"),
        ({"input": 42}, "input", "invalid_request"),
        ({"model": MODEL}, "input", "invalid_request"),
        ({"input": "x", "model": 7}, "model", "invalid_request"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens", "invalid_request"),
        ({"input": "x", "max_output_tokens": "10"}, "max_output_tokens", "invalid_request"),
        ({"input": "x", "max_output_tokens": True}, "max_output_tokens", "invalid_request"),
        ({"input": "x", "temperature": 3}, "temperature", "invalid_request"),
        ({"input": "x", "stream": "yes"}, "stream", "invalid_request"),
    ],
)
def test_bad_create_requests_are_400_with_the_field_named(fn, emulator, payload, param, code):
    before = len(emulator.calls)
    status, _, body = post(fn, "/v1/responses", payload)
    error = error_of(body)
    assert status == 400 and error["param"] == param and error["code"] == code
    assert error["type"] == "invalid_request_error"
    assert len(emulator.calls) == before, "a rejected request must not reach the model"


@pytest.mark.parametrize(
    "payload, param",
    [
        ({"input": 5}, "input"),
        ({"input": "x", "tools": []}, "tools"),
        ({"input": "x", "instructions": 1}, "instructions"),
    ],
)
def test_bad_simple_requests_are_400(fn, payload, param):
    status, _, body = post(fn, "/", payload)
    assert status == 400 and error_of(body)["param"] == param


@pytest.mark.parametrize("url", ["/v1/assistants", "/v1/responses/r/nothing/here", "/nowhere"])
def test_unknown_route_is_404(fn, url):
    status, _, body = invoke(fn, "GET", url)
    assert status == 404 and error_of(body)["code"] == "unknown_route"


@pytest.mark.parametrize("url", ["/v1/responses/input_tokens", "/v1/responses/compact", "/v1/embeddings"])
def test_what_oci_does_not_offer_is_a_404_that_says_so(fn, url):
    status, _, body = invoke(fn, "POST", url, b"{}", {"content-type": "application/json"})
    error = error_of(body)
    assert status == 404 and error["code"] == "not_offered_by_oci" and "OCI" in error["message"]


def test_invalid_response_id_is_400(fn):
    status, _, body = invoke(fn, "GET", "/v1/responses/..%2F..%2Fadmin")
    assert status == 400 and error_of(body)["param"] == "id"


def test_a_query_parameter_not_on_the_allow_list_is_refused(fn, emulator):
    before = len(emulator.calls)
    status, _, body = invoke(fn, "GET", "/v1/responses/resp_1?compartmentId=ocid1.x&limit=1")
    error = error_of(body)
    assert status == 400 and error["param"] == "compartmentId" and "include" in error["message"]
    assert len(emulator.calls) == before, "nothing unlisted is signed with the function's identity"


@pytest.mark.parametrize(
    "method, url, allow",
    [("GET", "/v1/responses", "POST"), ("PUT", "/v1/responses/resp_1", "GET, DELETE"), ("POST", "/health", "GET")],
)
def test_wrong_method_is_405_with_allow(fn, method, url, allow):
    status, headers, body = invoke(fn, method, url, b"{}")
    assert status == 405 and headers["allow"] == allow and error_of(body)["code"] == "method_not_allowed"


def test_body_over_the_limit_is_413(monkeypatch, function_env):
    fn = load_function(monkeypatch, {**function_env, "GENAI_MAX_BODY_BYTES": "2048"})
    status, _, body = post(fn, "/v1/responses", {"input": "x" * 4096})
    assert status == 413 and "GENAI_MAX_BODY_BYTES" in error_of(body)["message"]


@pytest.mark.parametrize("url", ["/v1/responses", "/"])
def test_unsupported_content_type_is_415(fn, url):
    status, _, body = post(fn, url, b"input=hi", content_type="application/x-www-form-urlencoded")
    assert status == 415 and error_of(body)["code"] == "unsupported_media_type"


# -- configuration and credentials ----------------------------------------------


def test_missing_project_answers_502_naming_the_setting(monkeypatch, function_env):
    env = {k: v for k, v in function_env.items() if k != "GENAI_PROJECT_OCID"}
    fn = load_function(monkeypatch, env)
    for url, method in (("/v1/responses", "POST"), ("/health", "GET")):
        status, _, body = invoke(fn, method, url, b'{"input": "x"}', {"content-type": "application/json"})
        error = error_of(body)
        assert status == 502 and error["code"] == "function_misconfigured"
        assert "GENAI_PROJECT_OCID" in error["message"]


def test_missing_credentials_answer_502_naming_the_mode(monkeypatch, function_env):
    env = {k: v for k, v in function_env.items() if k != "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"}
    fn = load_function(monkeypatch, {**env, "OCI_AUTH": "resource_principal"})
    status, _, body = post(fn, "/v1/responses", {"input": "x"})
    error = error_of(body)
    assert status == 502 and error["code"] == "credentials_unavailable"
    assert "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM" in error["message"] and "Traceback" not in error["message"]


# -- upstream errors --------------------------------------------------------------


def test_upstream_401_is_502_with_the_iam_hint(fn, emulator):
    emulator.inject("401-until-rotate")
    status, _, body = post(fn, "/v1/responses", {"input": "x"})
    error = error_of(body)
    assert status == 502 and error["code"] == "upstream_not_authorized"
    assert "NotAuthenticated" in error["message"] and "dynamic group" in error["message"]
    assert "15 minutes" in error["message"] and "opc-request-id" in error["message"]


def test_upstream_404_from_a_missing_policy_is_502_with_the_hint(fn, emulator):
    emulator.authorized_compartments = {"ocid1.compartment.oc1..someoneelse"}
    status, _, body = post(fn, "/v1/responses", {"input": "x"})
    error = error_of(body)
    assert status == 502 and "NotAuthorizedOrNotFound" in error["message"]
    assert "use generative-ai-family" in error["message"]


def test_wrong_project_is_502_naming_the_setting(monkeypatch, function_env):
    other = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaother"
    fn = load_function(monkeypatch, {**function_env, "GENAI_PROJECT_OCID": other})
    status, _, body = post(fn, "/v1/responses", {"input": "x"})
    assert status == 502 and "GENAI_PROJECT_OCID" in error_of(body)["message"]


def test_upstream_400_is_passed_on(fn, monkeypatch, function_env):
    fn = load_function(monkeypatch, {**function_env, "GENAI_ALLOWED_MODELS": "*"})
    status, _, body = post(fn, "/v1/responses", {"input": "x", "model": "no.such-model"})
    error = error_of(body)
    assert status == 400 and error["code"] == "model_not_found" and "no.such-model" in error["message"]


def test_upstream_429_is_429_with_retry_after(fn, emulator):
    emulator.inject("429", times=10, value=30)
    before = len(emulator.calls)
    status, headers, body = post(fn, "/v1/responses", {"input": "x"})
    assert status == 429 and headers["retry-after"] == "30"
    assert error_of(body)["type"] == "rate_limit_error"
    assert len(emulator.calls) - before == 1, "a wait longer than the budget is not started"


def test_upstream_5xx_is_retried_then_succeeds_when_nothing_is_stored(fn, emulator):
    emulator.inject("503", times=2)
    status, _, body = post(fn, "/v1/responses", {"input": "third time lucky", "store": False})
    assert status == 200 and "third time lucky" in body.decode()
    assert [c.status for c in emulator.calls[-3:]] == [503, 503, 200]


def test_a_stored_create_is_not_repeated_after_a_5xx(fn, emulator):
    # The 503 may have come after the response was stored: a retry could store a second one.
    emulator.inject("503", times=2)
    before = len(emulator.calls)
    status, _, body = post(fn, "/v1/responses", {"input": "stored"})
    assert status == 502 and error_of(body)["code"] == "upstream_error"
    assert len(emulator.calls) - before == 1


def test_a_create_is_repeated_after_a_429(fn, emulator):
    # A 429 proves the service did not act on the request: safe to repeat even a create.
    emulator.inject("429", times=1, value=0)
    status, _, _ = post(fn, "/v1/responses", {"input": "stored, throttled once"})
    assert status == 200 and [c.status for c in emulator.calls[-2:]] == [429, 200]


def test_upstream_5xx_that_persists_is_502(fn, emulator):
    status, _, body = post(fn, "/v1/responses", {"input": "[[fault:500]]", "store": False})
    error = error_of(body)
    assert status == 502 and error["code"] == "upstream_error" and "500" in error["message"]
    assert [c.status for c in emulator.calls[-3:]] == [500, 500, 500]


def test_dropped_connection_is_retried_when_nothing_is_stored(fn, emulator):
    emulator.inject("drop")
    status, _, _ = post(fn, "/v1/responses", {"input": "after a drop", "store": False})
    assert status == 200


def test_hanging_upstream_is_504_before_the_deadline(fn, emulator):
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=3)).isoformat()
    status, _, body = post(fn, "/v1/responses", {"input": "[[fault:hang]]"}, deadline=deadline)
    assert status == 504 and error_of(body)["code"] == "deadline_exceeded"
    assert datetime.now(timezone.utc) < datetime.fromisoformat(deadline)


def test_unexpected_exception_is_a_json_502_with_the_call_id(monkeypatch, function_env, capfd):
    fn = load_function(monkeypatch, function_env)

    def broken_route(*args):
        raise RuntimeError("secret internal detail")

    # A route with a bug: something that is not an ApiError escapes it.
    monkeypatch.setattr(fn.dispatch, "passthrough", broken_route)
    status, headers, body = post(fn, "/v1/responses", {"input": "x"})
    assert b"secret internal detail" not in body
    error = error_of(body)
    assert status == 502 and error["code"] == "internal_error"
    assert headers["x-call-id"] in error["message"]
    assert "Traceback" not in body.decode()
    assert "Traceback" in capfd.readouterr().err, "the traceback goes to the log, not to the caller"


# -- bounded work -----------------------------------------------------------------


def test_a_body_with_too_many_values_is_413_before_parsing(fn, emulator):
    before = len(emulator.calls)
    wide = b'{"input":[' + b",".join([b"{}"] * 100_001) + b"]}"
    status, _, body = post(fn, "/v1/responses", wide)
    error = error_of(body)
    assert status == 413 and error["code"] == "too_many_json_values" and "100000" in error["message"]
    assert len(emulator.calls) == before


def test_punctuation_inside_strings_does_not_count_as_values(fn, emulator):
    # 300,000 commas, colons and braces, all inside one string: a single value.
    text = "a, b: {c} [d]; " * 75_000
    status, _, _ = post(fn, "/v1/responses", {"input": text, "store": False})
    assert status == 200 and emulator.calls[-1].body["input"] == text


def test_models_list_and_retrieve_come_from_the_allow_list(monkeypatch, function_env, emulator):
    env = {**function_env, "GENAI_MODEL_ALIASES": f"gpt-4o-mini={MODEL}"}
    fn = load_function(monkeypatch, env)
    before = len(emulator.calls)
    status, _, body = invoke(fn, "GET", "/genai/v1/models")
    assert status == 200 and [m["id"] for m in json.loads(body)["data"]] == ["gpt-4o-mini", MODEL]
    assert json.loads(invoke(fn, "GET", "/genai/v1/models/gpt-4o-mini")[2])["owned_by"] == "openai"
    status, _, body = invoke(fn, "GET", "/genai/v1/models/no.such-model")
    assert status == 404 and error_of(body)["code"] == "model_not_found"
    assert len(emulator.calls) == before, "no model call"


def test_vector_store_management_without_a_compartment_names_the_setting(monkeypatch, function_env, emulator):
    env = {k: v for k, v in function_env.items() if k != "GENAI_COMPARTMENT_OCID"}
    fn = load_function(monkeypatch, env)
    before = len(emulator.calls)
    status, _, body = post(fn, "/v1/vector_stores", {"name": "kb"})
    error = error_of(body)
    assert status == 502 and error["code"] == "function_misconfigured" and "GENAI_COMPARTMENT_OCID" in error["message"]
    assert len(emulator.calls) == before, "nothing is sent without the compartment"
