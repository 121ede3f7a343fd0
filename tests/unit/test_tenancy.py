"""Clients kept apart (genai_fn/clients.py, genai_fn/tenancy.py): what the policy table must give each
client, and what a client's call carries upstream, failover included. Every family and verb across
clients is tested through the local gateway (tests/integration/test_isolation.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dev.local.emulator import Emulator
from genai_fn.settings import Settings, SettingsError
from tests.conftest import invoke, load_function

BASE = {
    "GENAI_PROJECT_OCID": "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaashared",
    "GENAI_REGION": "us-chicago-1",
}
P1 = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaone"
P2 = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaatwo"
C1 = "ocid1.compartment.oc1..aaaaaaaaone"
C2 = "ocid1.compartment.oc1..aaaaaaaatwo"
FALLBACK_REGION = "us-ashburn-1"
FALLBACK_PROJECT = "ocid1.generativeaiproject.oc1.us-ashburn-1.amaaaaaatenancyfallback"
CHAT = {"model": "openai.gpt-oss-120b", "messages": [{"role": "user", "content": "hi"}]}


def policies(table: object) -> Settings:
    return Settings.from_environ({**BASE, "GENAI_CLIENT_POLICIES": json.dumps(table)})


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({"a": {"project": P1, "compartment": C1}, "b": {"compartment": C2}}, "b: with 2 clients each needs a project"),
        ({"a": {"project": P1, "compartment": C1}, "b": {"project": P1, "compartment": C2}}, "share the project"),
        ({"a": {"project": P1, "compartment": C1}, "b": {"project": P2}}, "b: with 2 clients each needs a compartment"),
        ({"a": {"project": P1, "compartment": C1}, "b": {"project": P2, "compartment": C1}}, "share the compartment"),
        ({"a": {"project": "ocid1.compartment.oc1..x"}}, "a: project must be an OCID (ocid1.generativeaiproject…)"),
        ({"a": {"compartment": P1}}, "a: compartment must be an OCID (ocid1.compartment…)"),
    ],
)
def test_two_clients_or_more_must_each_have_their_own_scope(table, says):
    with pytest.raises(SettingsError) as caught:
        policies(table)
    assert says in caught.value.problems["GENAI_CLIENT_POLICIES"]


def test_what_a_table_may_leave_out():
    # One client: not isolated, the shared project (as before).
    assert policies({"a": {}}).client_policies["a"].isolated is False  # type: ignore[index]
    # A client kept from vector stores needs no compartment.
    table = policies({"a": {"project": P1, "compartment": C1}, "b": {"project": P2, "families": ["responses"]}})
    assert table.client_policies is not None and table.client_policies["b"].compartment is None


# -- upstream: the client's project, and failover's stateless calls ------------------------------


@pytest.fixture(scope="module")
def second(emulator_server: Emulator) -> Iterator[Emulator]:
    with Emulator(emulator_server.issuer, project=FALLBACK_PROJECT) as fallback:
        yield fallback


def test_a_clients_calls_carry_its_project_and_fail_over_to_the_fallbacks(monkeypatch, function_env, emulator, second):
    for project in (P1, P2):
        emulator.add_project(project)
    entry = {"region": FALLBACK_REGION, "project": FALLBACK_PROJECT, "base_url": second.base_url}
    table = {"a": {"project": P1, "compartment": C1}, "b": {"project": P2, "compartment": C2}}
    fn = load_function(
        monkeypatch,
        {
            **function_env,
            "GENAI_CLIENT_POLICIES": json.dumps(table),
            "GENAI_FALLBACK_REGIONS": json.dumps([entry]),
            "GENAI_MAX_RETRIES": "0",
        },
    )
    headers = {"content-type": "application/json", "x-genai-client": "b"}
    status, answer_headers, _ = invoke(fn, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), headers)
    assert status == 200 and emulator.calls[-1].project == P2 and "x-genai-region" in answer_headers
    emulator.inject("429", value=0)
    status, answer_headers, _ = invoke(fn, "POST", "/v1/chat/completions", json.dumps(CHAT).encode(), headers)
    assert status == 200 and answer_headers["x-genai-region"] == FALLBACK_REGION
    assert emulator.calls[-1].project == P2, "tried at home in the client's project first"
    assert second.calls[-1].project == FALLBACK_PROJECT, "the fallback region's project: the call stores nothing"
    status, _, _ = invoke(fn, "GET", "/v1/vector_stores", b"", headers)
    assert status == 200 and emulator.calls[-1].compartment == C2
    # A direct invocation (no gateway) is the operator's: the shared project.
    status, _, _ = invoke(fn, "POST", "/", b'{"input": "hi"}', {}, gateway=False)
    assert status == 200 and emulator.calls[-1].project == function_env["GENAI_PROJECT_OCID"]
