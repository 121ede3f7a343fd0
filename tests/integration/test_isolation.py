"""Clients are tenants: three clients through the local gateway, each kept from the others' stored objects.

The stack gets three api_clients as `make run` does (dev/local/clients.py):
each gets its own project and compartment, as Terraform creates them, and the
emulator keeps each project's objects apart as OCI does (state.py). Every
family and verb of the hostile-client probe is tried across clients: each
answers exactly as the same request for an id that does not exist (the same
status and body, the ids aside), lists show only the caller's own objects, and
the owner's objects survive and still work. docs/clients.md#isolation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dev.local.stack import Stack

pytestmark = pytest.mark.integration

MODEL = "openai.gpt-oss-120b"
CLIENTS = ("alice", "bob", "carol")
TEXT = b"The harbour opens at dawn.\n\nTides are charted weekly."
#: Ids of the right shape that name nothing.
MISSING = {
    "file": "file-doesnotexist0000",
    "response": "resp_doesnotexist0000",
    "conversation": "conv_doesnotexist0000",
    "item": "msg_doesnotexist0000",
    "store": "vs_doesnotexist0000",
    "batch": "vsfb_doesnotexist0000",
    "container": "cntr_doesnotexist0000",
    "cfile": "cfile_doesnotexist0000",
}
_REQUEST_ID = re.compile(r"\(opc-request-id [^)]*\)")


@pytest.fixture
def tenants(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack(prefix="/genai", api_clients={name: {} for name in CLIENTS})


def _as(stack: Stack, client: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.client_keys.keys[client]}"}, timeout=30
    )


def _ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _own_objects(http: httpx.Client) -> dict[str, str]:
    """One of everything a client can store, made through the gateway: the ids, by kind."""
    ids: dict[str, str] = {}
    ids["file"] = _ok(
        http.post("/v1/files", files={"file": ("notes.txt", TEXT, "text/plain")}, data={"purpose": "user_data"})
    )["id"]
    ids["response"] = _ok(http.post("/v1/responses", json={"model": MODEL, "input": "remember the harbour"}))["id"]
    ids["conversation"] = _ok(http.post("/v1/conversations", json={"metadata": {"topic": "tides"}}))["id"]
    added = _ok(
        http.post(f"/v1/conversations/{ids['conversation']}/items", json={"items": [{"role": "user", "content": "hi"}]})
    )
    ids["item"] = added["data"][0]["id"]
    ids["store"] = _ok(http.post("/v1/vector_stores", json={"name": "harbour"}))["id"]
    _ok(http.post(f"/v1/vector_stores/{ids['store']}/files", json={"file_id": ids["file"]}))
    ids["batch"] = _ok(http.post(f"/v1/vector_stores/{ids['store']}/file_batches", json={"file_ids": [ids["file"]]}))[
        "id"
    ]
    ids["container"] = _ok(http.post("/v1/containers", json={"name": "sandbox"}))["id"]
    ids["cfile"] = _ok(http.post(f"/v1/containers/{ids['container']}/files", json={"file_id": ids["file"]}))["id"]
    return ids


def _probes(ids: dict[str, str], mine: dict[str, str]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every request of the probe, naming the objects `ids` ("the victim's" or the missing ones).

    `mine` are the prober's own objects, for requests that name a foreign object inside the prober's own.
    """
    f, r, c, i, s, b = ids["file"], ids["response"], ids["conversation"], ids["item"], ids["store"], ids["batch"]
    k, kf = ids["container"], ids["cfile"]
    return [
        # Files: read, content, delete
        ("GET", f"/v1/files/{f}", None),
        ("GET", f"/v1/files/{f}/content", None),
        ("DELETE", f"/v1/files/{f}", None),
        # Responses: retrieve, input items, continue, delete
        ("GET", f"/v1/responses/{r}", None),
        ("GET", f"/v1/responses/{r}/input_items", None),
        ("POST", "/v1/responses", {"model": MODEL, "input": "go on", "previous_response_id": r}),
        ("DELETE", f"/v1/responses/{r}", None),
        # Conversations: retrieve, update, items, one item, use, delete
        ("GET", f"/v1/conversations/{c}", None),
        ("POST", f"/v1/conversations/{c}", {"metadata": {"topic": "mine now"}}),
        ("GET", f"/v1/conversations/{c}/items", None),
        ("GET", f"/v1/conversations/{c}/items/{i}", None),
        ("POST", f"/v1/conversations/{c}/items", {"items": [{"role": "user", "content": "injected"}]}),
        ("POST", "/v1/responses", {"model": MODEL, "input": "and then?", "conversation": c}),
        ("DELETE", f"/v1/conversations/{c}/items/{i}", None),
        ("DELETE", f"/v1/conversations/{c}", None),
        # Vector stores, their files, batches and search; a file_search tool naming the store
        ("GET", f"/v1/vector_stores/{s}", None),
        ("POST", f"/v1/vector_stores/{s}", {"name": "mine now"}),
        ("GET", f"/v1/vector_stores/{s}/files", None),
        ("GET", f"/v1/vector_stores/{s}/files/{f}", None),
        ("GET", f"/v1/vector_stores/{s}/files/{f}/content", None),
        ("POST", f"/v1/vector_stores/{s}/files", {"file_id": mine["file"]}),
        ("DELETE", f"/v1/vector_stores/{s}/files/{f}", None),
        ("POST", f"/v1/vector_stores/{s}/search", {"query": "harbour"}),
        ("GET", f"/v1/vector_stores/{s}/file_batches/{b}", None),
        ("GET", f"/v1/vector_stores/{s}/file_batches/{b}/files", None),
        ("POST", f"/v1/vector_stores/{s}/file_batches/{b}/cancel", None),
        (
            "POST",
            "/v1/responses",
            {"model": MODEL, "input": "search", "tools": [{"type": "file_search", "vector_store_ids": [s]}]},
        ),
        ("DELETE", f"/v1/vector_stores/{s}", None),
        # A foreign file inside the prober's own store, batch and container
        ("POST", f"/v1/vector_stores/{mine['store']}/files", {"file_id": f}),
        ("POST", f"/v1/vector_stores/{mine['store']}/file_batches", {"file_ids": [f]}),
        ("POST", f"/v1/containers/{mine['container']}/files", {"file_id": f}),
        ("POST", "/v1/containers", {"name": "borrowed", "file_ids": [f]}),
        # Containers and their files
        ("GET", f"/v1/containers/{k}", None),
        ("GET", f"/v1/containers/{k}/files", None),
        ("GET", f"/v1/containers/{k}/files/{kf}", None),
        ("GET", f"/v1/containers/{k}/files/{kf}/content", None),
        ("DELETE", f"/v1/containers/{k}/files/{kf}", None),
        ("DELETE", f"/v1/containers/{k}", None),
    ]


def _send(http: httpx.Client, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
    if body is None:
        return http.request(method, path)
    return http.request(method, path, json=body)


def _shape(answer: httpx.Response, ids: dict[str, str]) -> tuple[int, Any]:
    """The answer with the ids it names and the upstream request ids blanked: what a caller could tell apart."""
    text = _REQUEST_ID.sub("(opc-request-id …)", answer.text)
    for kind, value in ids.items():
        text = text.replace(value, f"<{kind}>")
    return answer.status_code, text


def test_another_clients_objects_answer_as_missing_ones(tenants, emulator):
    owned = {}
    for name in CLIENTS:
        with _as(tenants, name) as http:
            owned[name] = _own_objects(http)
    for prober, victim in (("bob", "alice"), ("carol", "alice"), ("alice", "carol")):
        with _as(tenants, prober) as http:
            foreign = _probes(owned[victim], owned[prober])
            missing = _probes(MISSING, owned[prober])
            for (method, path, body), (_, missing_path, missing_body) in zip(foreign, missing, strict=True):
                crossed = _send(http, method, path, body)
                absent = _send(http, method, missing_path, missing_body)
                assert absent.status_code in (400, 404), f"{method} {missing_path}: {absent.status_code} {absent.text}"
                assert crossed.status_code != 403, "never a 403: that would say the object exists"
                assert _shape(crossed, owned[victim]) == _shape(absent, MISSING), f"{prober} → {method} {path}"
    # The victims' objects are all still there, and still work for their owners.
    for owner in ("alice", "carol"):
        ids = owned[owner]
        with _as(tenants, owner) as http:
            assert http.get(f"/v1/files/{ids['file']}/content").content == TEXT
            assert _ok(http.get(f"/v1/responses/{ids['response']}"))["id"] == ids["response"]
            assert _ok(http.get(f"/v1/conversations/{ids['conversation']}"))["metadata"] == {"topic": "tides"}
            items = _ok(http.get(f"/v1/conversations/{ids['conversation']}/items"))["data"]
            assert [item["id"] for item in items] == [ids["item"]], "nothing injected, nothing deleted"
            store = _ok(http.get(f"/v1/vector_stores/{ids['store']}"))
            assert store["name"] == "harbour" and store["file_counts"]["total"] == 1
            # The batch (in progress until first read, file_batches.py) was never cancelled by the probes.
            batch = _ok(http.get(f"/v1/vector_stores/{ids['store']}/file_batches/{ids['batch']}"))
            assert batch["status"] == "completed"
            hits = _ok(http.post(f"/v1/vector_stores/{ids['store']}/search", json={"query": "harbour"}))["data"]
            assert hits and hits[0]["file_id"] == ids["file"]
            assert _ok(http.get(f"/v1/containers/{ids['container']}/files/{ids['cfile']}"))["id"] == ids["cfile"]
            followed = _ok(
                http.post(
                    "/v1/responses", json={"model": MODEL, "input": "go on", "previous_response_id": ids["response"]}
                )
            )
            assert followed["previous_response_id"] == ids["response"]
            used = _ok(
                http.post("/v1/responses", json={"model": MODEL, "input": "then", "conversation": ids["conversation"]})
            )
            assert used["conversation"] == {"id": ids["conversation"]}


def test_lists_show_only_the_callers_objects(tenants):
    owned = {}
    for name in CLIENTS:
        with _as(tenants, name) as http:
            owned[name] = _own_objects(http)
    for name in CLIENTS:
        with _as(tenants, name) as http:
            files = {f["id"] for f in _ok(http.get("/v1/files"))["data"]}
            stores = {s["id"] for s in _ok(http.get("/v1/vector_stores"))["data"]}
            containers = {c["id"] for c in _ok(http.get("/v1/containers"))["data"]}
        others = [owned[o] for o in CLIENTS if o != name]
        assert owned[name]["file"] in files and not files & {o["file"] for o in others}
        assert owned[name]["store"] in stores and not stores & {o["store"] for o in others}
        assert owned[name]["container"] in containers and not containers & {o["container"] for o in others}


def test_each_client_has_its_own_project_and_compartment_upstream(tenants, emulator):
    seen: dict[str, set[tuple[str, str]]] = {}
    for name in CLIENTS:
        with _as(tenants, name) as http:
            _ok(http.get("/v1/files"))
            project = emulator.calls[-1].project
            _ok(http.get("/v1/vector_stores"))
            compartment = emulator.calls[-1].compartment
        seen[name] = {(project, compartment)}
    pairs = [next(iter(p)) for p in seen.values()]
    assert len({p for p, _ in pairs}) == 3 and len({c for _, c in pairs}) == 3, pairs


def test_a_client_cannot_claim_or_drop_the_owner_stamp(tenants):
    with _as(tenants, "bob") as http:
        forged = http.post("/v1/vector_stores", json={"name": "x", "metadata": {"genai_client": "alice"}})
        assert forged.status_code == 400 and forged.json()["error"]["param"] == "metadata"
        store = _ok(http.post("/v1/vector_stores", json={"name": "x", "metadata": {"team": "b"}}))
        assert store["metadata"]["team"] == "b"
        cleared = _ok(http.post(f"/v1/vector_stores/{store['id']}", json={"metadata": {}}))
        assert set(cleared["metadata"]) == {"genai_client"}, "an update keeps the stamp"
        assert _ok(http.get(f"/v1/vector_stores/{store['id']}"))["id"] == store["id"], "and the store stays bob's"
        with_files = http.post("/v1/vector_stores", json={"name": "x", "file_ids": ["file-x"]})
        assert with_files.status_code == 400 and with_files.json()["error"]["param"] == "file_ids"
