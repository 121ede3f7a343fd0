"""The circuit breaker's state machine on an injected clock, the failover settings, and what stays home."""

from __future__ import annotations

import json

import pytest

from genai_fn import errors
from genai_fn.failover import Breaker, State, references_stored
from genai_fn.settings import FallbackRegion, Settings, SettingsError

PROJECT = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaahome"
ASHBURN = "ocid1.generativeaiproject.oc1.iad.amaaaaaafallback"
BASE = {"GENAI_PROJECT_OCID": PROJECT, "GENAI_REGION": "us-chicago-1"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_circuit_opens_after_n_consecutive_failures_only():
    breaker = Breaker(3, 30, clock=Clock())
    assert breaker.failure() is State.CLOSED and breaker.failure() is State.CLOSED
    assert breaker.success() is State.CLOSED, "a success resets the count"
    assert [breaker.failure() for _ in range(3)] == [State.CLOSED, State.CLOSED, State.OPEN]
    assert not breaker.admits() and not breaker.allow()


def test_an_open_circuit_half_opens_after_the_cool_down_and_lets_one_trial_through():
    clock = Clock()
    breaker = Breaker(1, 30, clock=clock)
    breaker.failure()
    clock.now += 29.9
    assert breaker.state is State.OPEN and not breaker.allow()
    clock.now += 0.1
    assert breaker.state.value == "half_open" and breaker.admits()
    assert breaker.allow(), "the first caller takes the trial"
    assert not breaker.admits() and not breaker.allow(), "a second caller does not, while the trial runs"


def test_a_successful_trial_closes_the_circuit():
    clock = Clock()
    breaker = Breaker(2, 10, clock=clock)
    breaker.failure(), breaker.failure()
    clock.now += 10
    assert breaker.allow()
    assert breaker.success() is State.CLOSED
    assert breaker.allow() and breaker.allow()
    assert breaker.failure() is State.CLOSED, "the count starts again from zero"


def test_a_failed_trial_opens_the_circuit_for_another_full_cool_down():
    clock = Clock()
    breaker = Breaker(5, 10, clock=clock)
    for _ in range(5):
        breaker.failure()
    clock.now += 10
    assert breaker.allow()
    assert breaker.failure() is State.OPEN, "one failure in half-open is enough"
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()


@pytest.mark.parametrize(
    "body, stored",
    [
        (b'{"input":"hi","store":false}', False),
        (b'{"messages":[{"role":"user","content":"hi"}]}', False),
        (None, False),
        (b'{"input":[{"content":[{"type":"input_file","file_id":"file-1"}]}],"store":false}', True),
        (b'{"input":[{"content":[{"type":"input_file","file_\\u0069d":"file-1"}]}],"store":false}', True),
        (b'{"previous_response_\\u0069d":"resp_1","store":false}', True),
        (b'{"input":"file_id conversation","metadata":{"k":"previous_response_id"}}', False),
        (b'{"tools":[{"type":"file_search","vector_store_ids":["vs_1"]}],"store":false}', True),
        (b'{"tools":[{"type":"code_interpreter","container":"cntr_1"}],"store":false}', True),
        (b'{"previous_response_id":"resp_1","store":false}', True),
        (b'{"conversation":"conv_1","store":false}', True),
    ],
)
def test_a_body_that_names_a_stored_object_stays_home(body, stored):
    assert references_stored(json.loads(body) if body is not None else None) is stored


def test_failover_is_off_unless_fallback_regions_are_set():
    settings = Settings.from_environ(BASE)
    assert settings.fallback_regions == () and "fallback_regions" not in settings.summary()
    assert (settings.breaker_failures, settings.breaker_cooldown_s, settings.failover_share) == (3, 30.0, 0.5)


def test_a_fallback_base_url_is_derived_like_the_home_one_realm_domain_included():
    env = {
        **BASE,
        "OCI_REGION_METADATA": json.dumps({"realmDomainComponent": "oraclegovcloud.com"}),
        "GENAI_FALLBACK_REGIONS": f"us-ashburn-1={ASHBURN}, us-phoenix-1={ASHBURN}",
        "GENAI_FALLBACK_MODELS": "us-phoenix-1=openai.gpt-oss-20b|xai.grok-4",
    }
    settings = Settings.from_environ(env)
    assert settings.base_url == "https://inference.generativeai.us-chicago-1.oci.oraclegovcloud.com/openai/v1"
    assert settings.fallback_regions == (
        FallbackRegion(
            "us-ashburn-1", ASHBURN, "https://inference.generativeai.us-ashburn-1.oci.oraclegovcloud.com/openai/v1"
        ),
        FallbackRegion(
            "us-phoenix-1",
            ASHBURN,
            "https://inference.generativeai.us-phoenix-1.oci.oraclegovcloud.com/openai/v1",
            frozenset({"openai.gpt-oss-20b", "xai.grok-4"}),
        ),
    )
    assert settings.fallback_regions[1].serves("xai.grok-4") and not settings.fallback_regions[1].serves("x.y")
    assert settings.summary()["fallback_regions"] == ["us-ashburn-1", "us-phoenix-1"]


def test_the_json_form_may_give_a_base_url():
    entry = {"region": "us-ashburn-1", "project": ASHBURN, "base_url": "http://127.0.0.1:9/openai/v1/"}
    settings = Settings.from_environ({**BASE, "GENAI_FALLBACK_REGIONS": json.dumps([entry])})
    assert settings.fallback_regions[0].base_url == "http://127.0.0.1:9/openai/v1"


@pytest.mark.parametrize(
    "env, name, words",
    [
        ({"GENAI_FALLBACK_REGIONS": "us-ashburn-1"}, "GENAI_FALLBACK_REGIONS", "project OCID"),
        ({"GENAI_FALLBACK_REGIONS": "Ashburn=" + ASHBURN}, "GENAI_FALLBACK_REGIONS", "region identifier"),
        ({"GENAI_FALLBACK_REGIONS": "us-chicago-1=" + ASHBURN}, "GENAI_FALLBACK_REGIONS", "twice"),
        ({"GENAI_FALLBACK_REGIONS": "[1]"}, "GENAI_FALLBACK_REGIONS", "JSON list"),
        ({"GENAI_FALLBACK_REGIONS": '[{"region": "us-ashburn-1"'}, "GENAI_FALLBACK_REGIONS", "JSON list"),
        (
            {"GENAI_FALLBACK_REGIONS": json.dumps([{"region": "us-ashburn-1", "project": ASHBURN, "x": ""}])},
            "GENAI_FALLBACK_REGIONS",
            "optional",
        ),
        (
            {"GENAI_FALLBACK_REGIONS": json.dumps([{"region": "us-ashburn-1", "project": ASHBURN, "base_url": "x"}])},
            "GENAI_FALLBACK_REGIONS",
            "http(s)",
        ),
        ({"GENAI_FALLBACK_MODELS": "us-ashburn-1=a.b"}, "GENAI_FALLBACK_MODELS", "not in GENAI_FALLBACK_REGIONS"),
        (
            {"GENAI_FALLBACK_REGIONS": "us-ashburn-1=" + ASHBURN, "GENAI_FALLBACK_MODELS": "us-ashburn-1"},
            "GENAI_FALLBACK_MODELS",
            "region=model",
        ),
        ({"GENAI_BREAKER_FAILURES": "0"}, "GENAI_BREAKER_FAILURES", "between"),
        ({"GENAI_BREAKER_COOLDOWN_SECONDS": "soon"}, "GENAI_BREAKER_COOLDOWN_SECONDS", "number"),
        ({"GENAI_FAILOVER_SHARE": "1"}, "GENAI_FAILOVER_SHARE", "between"),
    ],
)
def test_a_bad_failover_setting_is_named(env, name, words):
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({**BASE, **env})
    assert words in caught.value.problems[name]


def _upstream(status: int) -> errors.ApiError:
    return errors.from_upstream(status, {}, b"", region="us-chicago-1", retry_after_s=None)


@pytest.mark.parametrize(
    ("error", "region_failure"),
    [
        (_upstream(429), True),
        (_upstream(500), True),
        (_upstream(503), True),
        (errors.deadline_exceeded("1 attempt(s) made"), True),
        (errors.upstream_unreachable("ConnectError"), True),
        (errors.upstream_stream_incomplete("no final event", "", ""), True),
        (errors.upstream_malformed(""), True),
        # The request's own fault, or the function's: another region would answer the same.
        (_upstream(400), False),
        (_upstream(404), False),
        (_upstream(401), False),  # IAM: a configuration to fix, not a region down
        (errors.upstream_answer_too_large(6 * 1024 * 1024, ""), False),
        (errors.bad_request("no"), False),
        (errors.model_not_found("m"), False),
        (errors.credentials_unavailable("no key"), False),
        (errors.token_limit_exceeded("spent", {}), False),
    ],
)
def test_a_region_failure_is_a_property_of_the_error(error: errors.ApiError, region_failure: bool) -> None:
    assert error.region_failure is region_failure, error.code
