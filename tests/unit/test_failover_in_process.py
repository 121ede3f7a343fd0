"""Failover in-process (func.py loaded as fdk loads it), on two real emulators: the paths of
genai_fn/failover.py that the integration tests reach only in a subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from dev.local.emulator import KNOWN_MODELS, Emulator
from tests.conftest import invoke, load_function

FALLBACK_REGION = "us-ashburn-1"
FALLBACK_PROJECT = "ocid1.generativeaiproject.oc1.us-ashburn-1.amaaaaaafallbackproject"
CHAT = {"model": "openai.gpt-oss-120b", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def second(emulator_server: Emulator) -> Iterator[Emulator]:
    with Emulator(emulator_server.issuer, project=FALLBACK_PROJECT) as fallback:
        yield fallback


@pytest.fixture
def fallback(second: Emulator) -> Iterator[Emulator]:
    second.clear_faults()
    second.state.models = KNOWN_MODELS
    yield second
    second.clear_faults()


def load(monkeypatch, function_env, fallback, **extra):
    entry = {"region": FALLBACK_REGION, "project": FALLBACK_PROJECT, "base_url": fallback.base_url}
    config = {"GENAI_FALLBACK_REGIONS": json.dumps([entry]), "GENAI_MAX_RETRIES": "0", **extra}
    return load_function(monkeypatch, {**function_env, **config})


def chat(fn, **kwargs):
    return invoke(
        fn, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), {"content-type": "application/json"}, **kwargs
    )


def test_a_throttled_home_region_fails_over(monkeypatch, function_env, emulator, fallback):
    fn = load(monkeypatch, function_env, fallback)
    emulator.inject("429", value=0)
    status, headers, _ = chat(fn)
    assert status == 200 and headers["x-genai-region"] == FALLBACK_REGION


def test_an_open_circuit_skips_home_and_all_open_still_tries_in_order(monkeypatch, function_env, emulator, fallback):
    fn = load(monkeypatch, function_env, fallback, GENAI_BREAKER_FAILURES="1")
    emulator.inject("429", value=0)
    assert chat(fn)[1]["x-genai-region"] == FALLBACK_REGION
    at_home = len(emulator.calls)
    assert chat(fn)[1]["x-genai-region"] == FALLBACK_REGION and len(emulator.calls) == at_home
    fallback.inject("429", value=0)
    assert chat(fn)[0] == 429, "the fallback throttles too: both circuits are now open"
    at_home, there = len(emulator.calls), len(fallback.calls)
    status, headers, _ = chat(fn)
    assert status == 200 and headers["x-genai-region"] == "us-chicago-1", "tried anyway, home first"
    assert len(emulator.calls) == at_home + 1 and len(fallback.calls) == there


def test_a_client_error_from_the_fallback_is_answered_as_it_is(monkeypatch, function_env, emulator, fallback):
    fn = load(monkeypatch, function_env, fallback)
    fallback.state.models = frozenset()
    emulator.inject("503")
    status, _, body = chat(fn)
    assert status == 400 and json.loads(body)["error"]["code"] == "model_not_found"


def test_no_time_left_is_the_functions_504_and_nothing_is_sent(monkeypatch, function_env, emulator, fallback):
    fn = load(monkeypatch, function_env, fallback)
    at_home, there = len(emulator.calls), len(fallback.calls)
    past = (datetime.now(timezone.utc) - timedelta(seconds=5)).isoformat()
    status, _, body = chat(fn, deadline=past)
    assert status == 504 and json.loads(body)["error"]["code"] == "deadline_exceeded"
    assert len(emulator.calls) == at_home and len(fallback.calls) == there
