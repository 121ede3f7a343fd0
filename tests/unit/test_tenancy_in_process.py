"""Clients kept apart in-process (func.py loaded as fdk loads it), on the real emulator: the paths of
genai_fn/tenancy.py that tests/integration/test_isolation.py reaches only in an fdk subprocess."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dev.local.emulator import Emulator
from tests.conftest import invoke, load_function

P1 = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaainprocone"
P2 = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaainproctwo"
C1 = "ocid1.compartment.oc1..aaaaaaaainprocone"
C2 = "ocid1.compartment.oc1..aaaaaaaainproctwo"
TABLE = {"a": {"project": P1, "compartment": C1}, "b": {"project": P2, "compartment": C2}}
MISSING = "vs_doesnotexist0000"
MODEL = "openai.gpt-oss-120b"
_REQUEST_ID = re.compile(r"\(opc-request-id [^)]*\)")


@pytest.fixture
def fn(monkeypatch, function_env, emulator: Emulator):
    for project in (P1, P2):
        emulator.add_project(project)
    config = {**function_env, "GENAI_CLIENT_POLICIES": json.dumps(TABLE), "GENAI_MAX_RETRIES": "0"}
    return load_function(monkeypatch, config)


def call(fn, client: str, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    headers = {"content-type": "application/json", "x-genai-client": client}
    content = b"" if body is None else json.dumps(body).encode()
    status, _, answer = invoke(fn, method, path, content, headers)
    return status, json.loads(answer) if answer else {}


def store_of(fn, client: str, **body: Any) -> dict[str, Any]:
    status, answer = call(fn, client, "POST", "/v1/vector_stores", {"name": "harbour", **body})
    assert status == 200, answer
    return answer


def shape(answer: dict[str, Any], ident: str) -> dict[str, Any]:
    """The error with the ids and request ids taken out: what must not differ between missing and foreign."""
    text = _REQUEST_ID.sub("", json.dumps(answer)).replace(ident, "ID")
    return dict(json.loads(text))


def test_a_create_is_stamped_with_the_client_and_kept_in_its_compartment(fn, emulator):
    created = store_of(fn, "a", metadata={"topic": "tides"})
    assert created["metadata"] == {"topic": "tides", "genai_client": "a"}
    assert emulator.calls[-1].compartment == C1
    status, found = call(fn, "a", "GET", f"/v1/vector_stores/{created['id']}")
    assert status == 200 and found["id"] == created["id"]


@pytest.mark.parametrize("metadata", [{"genai_client": "b"}, {"genai_client": "a"}])
def test_a_client_may_not_set_the_owner_key(fn, metadata):
    status, answer = call(fn, "a", "POST", "/v1/vector_stores", {"name": "x", "metadata": metadata})
    assert status == 400 and answer["error"]["param"] == "metadata"


def test_a_client_may_not_remove_or_rewrite_the_owner_key_on_update(fn):
    ident = store_of(fn, "a")["id"]
    status, answer = call(fn, "a", "POST", f"/v1/vector_stores/{ident}", {"metadata": {"genai_client": "b"}})
    assert status == 400 and answer["error"]["param"] == "metadata"
    status, updated = call(fn, "a", "POST", f"/v1/vector_stores/{ident}", {"metadata": {"topic": "x"}})
    assert status == 200 and updated["metadata"] == {"topic": "x", "genai_client": "a"}, "the stamp is kept"


def test_too_many_metadata_pairs_and_a_non_object_are_refused(fn):
    full = {f"k{i}": "v" for i in range(16)}
    status, answer = call(fn, "a", "POST", "/v1/vector_stores", {"metadata": full})
    assert status == 400 and "15" in answer["error"]["message"]
    status, answer = call(fn, "a", "POST", "/v1/vector_stores", {"metadata": ["x"]})
    assert status == 400 and answer["error"]["param"] == "metadata"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/files", None),
        ("POST", "/search", {"query": "harbour"}),
        ("DELETE", "", None),
    ],
)
def test_another_clients_store_answers_as_a_missing_one(fn, emulator, method, suffix, body):
    ident = store_of(fn, "a")["id"]
    foreign = call(fn, "b", method, f"/v1/vector_stores/{ident}{suffix}", body)
    missing = call(fn, "b", method, f"/v1/vector_stores/{MISSING}{suffix}", body)
    assert foreign[0] == missing[0] == 404
    assert shape(foreign[1], ident) == shape(missing[1], MISSING)
    assert call(fn, "a", "GET", f"/v1/vector_stores/{ident}")[0] == 200, "the owner's store is untouched"


def test_a_file_search_tool_naming_another_clients_store_answers_as_a_missing_one(fn):
    ident = store_of(fn, "a")["id"]

    def respond(client: str, ids: list[str]) -> tuple[int, dict[str, Any]]:
        tools = [{"type": "file_search", "vector_store_ids": ids}]
        return call(fn, client, "POST", "/v1/responses", {"model": MODEL, "input": "hi", "tools": tools})

    foreign, missing = respond("b", [ident]), respond("b", [MISSING])
    assert foreign[0] == missing[0] == 404
    assert shape(foreign[1], ident) == shape(missing[1], MISSING)
    assert respond("a", [ident])[0] == 200


def test_more_than_eight_stores_or_a_non_id_in_file_search_is_refused(fn, emulator):
    def respond(ids: list[Any]) -> tuple[int, dict[str, Any]]:
        tools = [{"type": "file_search", "vector_store_ids": ids}]
        return call(fn, "a", "POST", "/v1/responses", {"model": MODEL, "input": "hi", "tools": tools})

    before = len(emulator.calls)
    status, answer = respond([f"vs_{i}" for i in range(9)])
    assert status == 400 and answer["error"]["param"] == "tools" and "8" in answer["error"]["message"]
    status, answer = respond([""])
    assert status == 400 and answer["error"]["param"] == "tools"
    assert len(emulator.calls) == before, "refused before anything is sent"


def test_file_ids_on_a_store_create_is_refused(fn, emulator):
    before = len(emulator.calls)
    status, answer = call(fn, "a", "POST", "/v1/vector_stores", {"name": "x", "file_ids": ["file-abc"]})
    assert status == 400 and answer["error"]["param"] == "file_ids"
    assert len(emulator.calls) == before
