"""The emulator serves OCI's OpenAI-compatible surface in OpenAI's wire shapes, behind OCI's front door.

Requests are signed by the real oci SDK signer (oci-genai-auth, resource
principal) and sent over a real socket; every body is checked against the
openai SDK's own pydantic models, so a shape the SDK would not accept fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import oci_genai_auth
import pytest
from openai.types import FileDeleted, FileObject, VectorStore, VectorStoreDeleted, VectorStoreSearchResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.container_create_response import ContainerCreateResponse
from openai.types.container_list_response import ContainerListResponse
from openai.types.containers.file_create_response import FileCreateResponse
from openai.types.containers.file_list_response import FileListResponse
from openai.types.conversations import Conversation, ConversationDeletedResource, ConversationItem
from openai.types.conversations.conversation_item_list import ConversationItemList
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.response_item_list import ResponseItemList
from openai.types.vector_stores import VectorStoreFile, VectorStoreFileBatch, VectorStoreFileDeleted
from openai.types.vector_stores.file_content_response import FileContentResponse
from pydantic import TypeAdapter

from dev.local.credentials import COMPARTMENT, PROJECT
from dev.local.emulator import FAULTS, STREAM_FAULTS, Emulator

MODEL = "openai.gpt-oss-120b"
WEATHER_TOOL_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1},
        "note": {"type": "string"},
    },
    "required": ["city", "unit", "days"],
}


@pytest.fixture
def api(principal, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    """An httpx client whose requests the function's resource principal signs, as the function's are."""
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)
    auth = oci_genai_auth.OciResourcePrincipalAuth()
    with httpx.Client(base_url=emulator.base_url, auth=auth, headers={"OpenAI-Project": PROJECT}, timeout=30) as c:
        yield c


@pytest.fixture
def control(api: httpx.Client, emulator: Emulator) -> Iterator[httpx.Client]:
    """The same signer on the control plane, with the compartment OCI's control plane needs."""
    headers = {"opc-compartment-id": COMPARTMENT}
    with httpx.Client(base_url=emulator.control_base_url, auth=api.auth, headers=headers, timeout=30) as client:
        yield client


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    assert answer.headers["opc-request-id"]
    return answer.json()


def sse_data(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    return [line[len("data: ") :] for line in answer.text.splitlines() if line.startswith("data: ")]


def events(answer: httpx.Response) -> list[Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    return [adapter.validate_json(data) for data in sse_data(answer)]


# -- front door ------------------------------------------------------------------------


def test_every_path_is_behind_the_signature_check(emulator: Emulator) -> None:
    for method, path in [("GET", "/files"), ("POST", "/chat/completions"), ("GET", "/models"), ("GET", "/nowhere")]:
        answer = httpx.request(method, emulator.base_url + path, headers={"OpenAI-Project": PROJECT})
        assert answer.status_code == 401 and answer.json()["code"] == "NotAuthenticated", path


def test_models_is_not_served_and_a_wrong_method_is_405(api: httpx.Client) -> None:
    assert api.get("/models").status_code == 404
    assert api.put("/files", json={}).status_code == 405
    assert api.delete("/chat/completions").status_code == 405


def test_unknown_model_and_missing_messages_are_openai_errors(api: httpx.Client) -> None:
    answer = api.post(
        "/chat/completions", json={"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "x"}]}
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "model_not_found"
    answer = api.post("/chat/completions", json={"model": MODEL})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "messages"


# -- Chat Completions --------------------------------------------------------------------


def chat(api: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("model", MODEL)
    body.setdefault("messages", [{"role": "user", "content": "hello there"}])
    return api.post("/chat/completions", json=body)


def test_chat_completion_json(api: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second question"}]},
    ]
    completion = ChatCompletion.model_validate(ok(chat(api, messages=messages)))
    assert completion.choices[0].message.content == "Echo: second question"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens == 6
    assert completion.usage.completion_tokens == 3


def test_chat_completion_stream_ends_with_done_and_usage(api: httpx.Client) -> None:
    frames = sse_data(chat(api, stream=True, stream_options={"include_usage": True}))
    assert frames[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate_json(f) for f in frames[:-1]]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    assert all(c.usage is None for c in chunks[:-1])


def test_chat_max_tokens_caps_words_with_finish_reason_length(api: httpx.Client) -> None:
    for cap in ({"max_tokens": 2}, {"max_completion_tokens": 2}):
        choice = ok(chat(api, messages=[{"role": "user", "content": "one two three"}], **cap))["choices"][0]
        assert choice["message"]["content"] == "Echo: one" and choice["finish_reason"] == "length"


def test_chat_function_tool_round_trip(api: httpx.Client) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_TOOL_PARAMETERS}}]
    asked = [{"role": "user", "content": "weather in Paris?"}]
    first = ChatCompletion.model_validate(ok(chat(api, messages=asked, tools=tools)))
    assert first.choices[0].finish_reason == "tool_calls"
    calls = first.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1 and calls[0].type == "function"
    assert calls[0].function.name == "get_weather"
    arguments = json.loads(calls[0].function.arguments)
    assert set(arguments) == {"city", "unit", "days", "note"}, "optional properties are filled too"
    assert arguments["unit"] in ("celsius", "fahrenheit") and isinstance(arguments["days"], int)
    assert arguments["days"] >= 1 and isinstance(arguments["city"], str)

    answered = [
        *asked,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny, 21 C"},
    ]
    second = ChatCompletion.model_validate(ok(chat(api, messages=answered, tools=tools)))
    assert second.choices[0].finish_reason == "stop"
    assert "sunny, 21 C" in (second.choices[0].message.content or "")


def test_chat_streamed_tool_call_reassembles(api: httpx.Client) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": WEATHER_TOOL_PARAMETERS}}]
    frames = sse_data(chat(api, tools=tools, stream=True))
    assert frames[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate_json(f) for f in frames[:-1]]
    pieces = [tc.function.arguments or "" for c in chunks for tc in c.choices[0].delta.tool_calls or [] if tc.function]
    assert set(json.loads("".join(pieces))) == {"city", "unit", "days", "note"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_chat_json_schema_answer_fits_the_schema(api: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 3},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "minItems": 2},
            "score": {"type": "number", "minimum": 0.5},
            "done": {"type": "boolean"},
            "owner": {
                "anyOf": [
                    {"type": "null"},
                    {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
                ]
            },
            "optional": {"type": "string"},
        },
        "required": ["title", "tags", "score", "done", "owner"],
        "$defs": {"tag": {"type": "string", "enum": ["a", "b"]}},
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "card", "schema": schema, "strict": True}}
    content = ok(chat(api, response_format=fmt))["choices"][0]["message"]["content"]
    value = json.loads(content)
    assert set(value) == {"title", "tags", "score", "done", "owner", "optional"}
    assert len(value["title"]) >= 3 and value["tags"] == ["a", "a"] and value["score"] >= 0.5
    assert value["done"] is False and isinstance(value["owner"]["n"], int)


# -- Responses -------------------------------------------------------------------------------


def respond(api: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("model", MODEL)
    return api.post("/responses", json=body)


def test_input_items_list_in_openai_shape_with_paging(api: httpx.Client) -> None:
    turns = [{"role": "user", "content": f"turn {n}"} for n in range(3)]
    created = ok(respond(api, input=turns))
    path = f"/responses/{created['id']}/input_items"
    listed = ok(api.get(path))
    assert len(ResponseItemList.model_validate(listed).data) == 3
    texts = [item["content"][0]["text"] for item in listed["data"]]
    assert texts == ["turn 2", "turn 1", "turn 0"], "OpenAI's default order is desc"
    first = ok(api.get(path, params={"order": "asc", "limit": 2}))
    assert [i["content"][0]["text"] for i in first["data"]] == ["turn 0", "turn 1"] and first["has_more"]
    rest = ok(api.get(path, params={"order": "asc", "after": first["last_id"]}))
    assert [i["content"][0]["text"] for i in rest["data"]] == ["turn 2"] and not rest["has_more"]
    assert api.get("/responses/resp_missing/input_items").status_code == 404


def test_cancel_only_background_responses(api: httpx.Client) -> None:
    plain = ok(respond(api, input="hi"))
    refused = api.post(f"/responses/{plain['id']}/cancel")
    assert refused.status_code == 400 and "background" in refused.json()["error"]["message"]

    queued = Response.model_validate(ok(respond(api, input="hi", background=True)))
    assert queued.status == "queued"
    cancelled = Response.model_validate(ok(api.post(f"/responses/{queued.id}/cancel")))
    assert cancelled.status == "cancelled"
    assert ok(api.get(f"/responses/{queued.id}"))["status"] == "cancelled"

    finished = ok(respond(api, input="hi", background=True))
    assert ok(api.get(f"/responses/{finished['id']}"))["status"] == "completed"
    assert ok(api.post(f"/responses/{finished['id']}/cancel"))["status"] == "completed"


def test_responses_function_tool_round_trip(api: httpx.Client) -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL_PARAMETERS, "strict": True}]
    first = Response.model_validate(ok(respond(api, input="weather in Paris?", tools=tools)))
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert set(json.loads(call.arguments)) == {"city", "unit", "days", "note"}
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"}
    second = Response.model_validate(ok(respond(api, input=[output], tools=tools, previous_response_id=first.id)))
    assert second.output[0].type == "message" and "sunny, 21 C" in second.output_text
    items = ResponseItemList.model_validate(ok(api.get(f"/responses/{second.id}/input_items")))
    assert [i.type for i in items.data] == ["function_call_output"]


def test_responses_streamed_function_call_events(api: httpx.Client) -> None:
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]
    got = events(respond(api, input="x", tools=tools, stream=True))
    kinds = [e.type for e in got]
    assert "response.function_call_arguments.done" in kinds and kinds[-1] == "response.completed"
    assert got[-1].response.output[0].type == "function_call"


def test_responses_json_schema_text_format(api: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    fmt = {"format": {"type": "json_schema", "name": "n", "schema": schema, "strict": True}}
    body = Response.model_validate(ok(respond(api, input="2+2", text=fmt)))
    assert json.loads(body.output_text) == {"answer": 0}


def test_responses_in_a_conversation_append_items(api: httpx.Client) -> None:
    conversation = ok(api.post("/conversations", json={}))
    first = ok(respond(api, input="first", conversation=conversation["id"]))
    assert first["conversation"] == {"id": conversation["id"]}
    second = Response.model_validate(ok(respond(api, input="second", conversation={"id": conversation["id"]})))
    assert second.output_text == "Echo: second (after: Echo: first)"
    items = ConversationItemList.model_validate(
        ok(api.get(f"/conversations/{conversation['id']}/items", params={"order": "asc"}))
    )
    assert [(i.type, getattr(i, "role", "")) for i in items.data] == [("message", "user"), ("message", "assistant")] * 2
    missing = respond(api, input="x", conversation="conv_missing")
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "conversation"


def test_response_stream_events_validate(api: httpx.Client) -> None:
    got = events(respond(api, input="stream me", stream=True))
    assert [e.sequence_number for e in got] == list(range(len(got)))
    assert got[-1].type == "response.completed" and got[-1].response.output_text == "Echo: stream me"


# -- Conversations -----------------------------------------------------------------------------


def test_conversations_lifecycle(api: httpx.Client) -> None:
    seed = [{"type": "message", "role": "user", "content": "remember blue"}]
    created = Conversation.model_validate(ok(api.post("/conversations", json={"items": seed, "metadata": {"a": "1"}})))
    base = f"/conversations/{created.id}"
    assert Conversation.model_validate(ok(api.get(base))).metadata == {"a": "1"}
    assert ok(api.post(base, json={"metadata": {"b": "2"}}))["metadata"] == {"b": "2"}

    added = ConversationItemList.model_validate(
        ok(
            api.post(
                base + "/items",
                json={"items": [{"role": "assistant", "content": "noted"}, {"role": "user", "content": "thanks"}]},
            )
        )
    )
    assert len(added.data) == 2 and added.first_id == added.data[0].id
    listed = ok(api.get(base + "/items", params={"limit": 2}))
    assert [i["content"][0]["text"] for i in listed["data"]] == ["thanks", "noted"] and listed["has_more"]
    item_adapter: TypeAdapter[Any] = TypeAdapter(ConversationItem)
    one = item_adapter.validate_python(ok(api.get(f"{base}/items/{added.data[0].id}")))
    assert one.id == added.data[0].id

    after_delete = Conversation.model_validate(ok(api.delete(f"{base}/items/{added.data[0].id}")))
    assert after_delete.id == created.id
    assert api.get(f"{base}/items/{added.data[0].id}").status_code == 404
    assert len(ok(api.get(base + "/items"))["data"]) == 2

    deleted = ConversationDeletedResource.model_validate(ok(api.delete(base)))
    assert deleted.deleted and deleted.id == created.id
    assert api.get(base).status_code == 404 and api.get(base + "/items").status_code == 404


# -- Files, vector stores, containers ------------------------------------------------------------

BINARY = bytes(range(256)) * 64  # every byte value, not valid UTF-8


def upload(
    api: httpx.Client, data: bytes, name: str, content_type: str, purpose: str | None = "user_data"
) -> httpx.Response:
    form = {"purpose": purpose} if purpose else {}
    return api.post("/files", files={"file": (name, data, content_type)}, data=form)


def test_files_round_trip_bytes_and_content_type(api: httpx.Client) -> None:
    created = FileObject.model_validate(ok(upload(api, BINARY, "pic.png", "image/png")))
    assert created.bytes == len(BINARY) and created.filename == "pic.png" and created.purpose == "user_data"
    content = api.get(f"/files/{created.id}/content")
    assert content.status_code == 200 and content.content == BINARY
    assert content.headers["content-type"] == "image/png"
    assert FileObject.model_validate(ok(api.get(f"/files/{created.id}"))).id == created.id
    other = ok(upload(api, b"text", "a.txt", "text/plain", purpose="assistants"))
    listed = ok(api.get("/files", params={"purpose": "assistants"}))
    assert other["id"] in [f["id"] for f in listed["data"]] and created.id not in [f["id"] for f in listed["data"]]
    assert FileDeleted.model_validate(ok(api.delete(f"/files/{created.id}"))).deleted
    assert api.get(f"/files/{created.id}/content").status_code == 404


def test_file_upload_refusals(api: httpx.Client, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    assert upload(api, b"x", "a.txt", "text/plain", purpose=None).json()["error"]["param"] == "purpose"
    assert upload(api, b"x", "a.txt", "text/plain", purpose="nonsense").status_code == 400
    assert api.post("/files", json={"purpose": "user_data"}).status_code == 400
    monkeypatch.setattr(emulator.state, "max_file_bytes", 1000)
    too_big = upload(api, b"x" * 1001, "a.txt", "text/plain")
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "file_too_large"


def test_vector_store_files_and_search(api: httpx.Client, control: httpx.Client) -> None:
    whales = ok(upload(api, b"Blue whales are the largest animals.\n\nThey eat krill.", "whales.txt", "text/plain"))
    cats = ok(upload(api, b"Cats sleep a lot.", "cats.txt", "text/plain"))
    store = VectorStore.model_validate(
        ok(control.post("/vector_stores", json={"name": "kb", "file_ids": [whales["id"]]}))
    )
    assert store.file_counts.completed == 1 and store.usage_bytes > 0
    base = f"/vector_stores/{store.id}"
    attached = VectorStoreFile.model_validate(
        ok(api.post(base + "/files", json={"file_id": cats["id"], "attributes": {"kind": "pet"}}))
    )
    assert attached.vector_store_id == store.id and attached.attributes == {"kind": "pet"}
    assert [f["id"] for f in ok(api.get(base + "/files", params={"order": "asc"}))["data"]] == [
        whales["id"],
        cats["id"],
    ]
    assert ok(api.get(f"{base}/files/{cats['id']}"))["id"] == cats["id"]
    assert ok(api.post(f"{base}/files/{cats['id']}", json={"attributes": {"kind": "cat"}}))["attributes"] == {
        "kind": "cat"
    }
    content = ok(api.get(f"{base}/files/{whales['id']}/content"))
    assert content["object"] == "vector_store.file_content.page" and content["has_more"] is False
    assert (FileContentResponse.model_validate(content["data"][0]).text or "").startswith("Blue whales")

    page = ok(api.post(base + "/search", json={"query": "blue whales krill", "max_num_results": 5}))
    assert page["object"] == "vector_store.search_results.page" and page["search_query"] == ["blue whales krill"]
    results = [VectorStoreSearchResponse.model_validate(r) for r in page["data"]]
    assert [r.content[0].text for r in results] == ["Blue whales are the largest animals.", "They eat krill."]
    assert results[0].score > results[1].score and results[0].filename == "whales.txt"
    assert ok(api.post(base + "/search", json={"query": "dragons"}))["data"] == []
    assert api.post(base + "/search", json={}).status_code == 400

    assert VectorStoreFileDeleted.model_validate(ok(api.delete(f"{base}/files/{cats['id']}"))).deleted
    assert ok(control.post(base, json={"name": "renamed"}))["name"] == "renamed"
    assert store.id in [s["id"] for s in ok(control.get("/vector_stores"))["data"]]
    assert VectorStoreDeleted.model_validate(ok(control.delete(base))).deleted
    assert control.get(base).status_code == 404
    assert control.post("/vector_stores", json={"file_ids": ["file-missing"]}).status_code == 404


def test_file_batch_is_in_progress_until_first_read_then_searchable(api: httpx.Client, control: httpx.Client) -> None:
    whales = ok(upload(api, b"Blue whales eat krill.", "whales.txt", "text/plain"))
    cats = ok(upload(api, b"Cats sleep a lot.", "cats.txt", "text/plain"))
    store = ok(control.post("/vector_stores", json={"name": "kb"}))
    base = f"/vector_stores/{store['id']}"
    batch = VectorStoreFileBatch.model_validate(
        ok(api.post(base + "/file_batches", json={"file_ids": [whales["id"], cats["id"]], "attributes": {"k": "v"}}))
    )
    assert batch.status == "in_progress" and batch.vector_store_id == store["id"]
    assert (batch.file_counts.in_progress, batch.file_counts.total) == (2, 2)
    assert ok(api.post(base + "/search", json={"query": "krill"}))["data"] == [], "not searchable while in progress"

    done = VectorStoreFileBatch.model_validate(ok(api.get(f"{base}/file_batches/{batch.id}")))
    assert done.status == "completed" and (done.file_counts.completed, done.file_counts.in_progress) == (2, 0)
    files = [
        VectorStoreFile.model_validate(f)
        for f in ok(api.get(f"{base}/file_batches/{batch.id}/files", params={"order": "asc"}))["data"]
    ]
    assert [(f.id, f.status, f.attributes) for f in files] == [
        (whales["id"], "completed", {"k": "v"}),
        (cats["id"], "completed", {"k": "v"}),
    ]
    assert ok(api.get(f"{base}/file_batches/{batch.id}/files", params={"filter": "cancelled"}))["data"] == []
    assert ok(api.post(base + "/search", json={"query": "krill"}))["data"][0]["file_id"] == whales["id"]
    assert ok(control.get(base))["file_counts"]["completed"] == 2
    # A finished batch is not cancelled.
    assert ok(api.post(f"{base}/file_batches/{batch.id}/cancel"))["status"] == "completed"


def test_file_batch_cancel_and_per_file_attributes(api: httpx.Client, control: httpx.Client) -> None:
    one = ok(upload(api, b"one", "1.txt", "text/plain"))
    two = ok(upload(api, b"two", "2.txt", "text/plain"))
    base = f"/vector_stores/{ok(control.post('/vector_stores', json={}))['id']}"
    files = [{"file_id": one["id"], "attributes": {"n": 1}}, {"file_id": two["id"]}]
    batch = ok(api.post(base + "/file_batches", json={"files": files}))
    cancelled = VectorStoreFileBatch.model_validate(ok(api.post(f"{base}/file_batches/{batch['id']}/cancel")))
    assert cancelled.status == "cancelled" and cancelled.file_counts.cancelled == 2
    assert ok(api.get(f"{base}/file_batches/{batch['id']}"))["status"] == "cancelled", "reading does not revive it"
    listed = ok(api.get(f"{base}/file_batches/{batch['id']}/files", params={"filter": "cancelled", "order": "asc"}))
    assert [(f["id"], f["attributes"]) for f in listed["data"]] == [(one["id"], {"n": 1}), (two["id"], {})]
    assert ok(control.get(base))["file_counts"] == {
        "cancelled": 2,
        "completed": 0,
        "failed": 0,
        "in_progress": 0,
        "total": 2,
    }


def test_file_batch_refusals_name_what_is_missing(api: httpx.Client, control: httpx.Client) -> None:
    known = ok(upload(api, b"x", "x.txt", "text/plain"))
    base = f"/vector_stores/{ok(control.post('/vector_stores', json={}))['id']}"
    both = api.post(base + "/file_batches", json={"file_ids": [known["id"]], "files": [{"file_id": known["id"]}]})
    assert both.status_code == 400 and both.json()["error"]["param"] == "files"
    assert api.post(base + "/file_batches", json={}).json()["error"]["code"] == "missing_required_parameter"
    gone = api.post(base + "/file_batches", json={"file_ids": [known["id"], "file-gone"]})
    assert gone.status_code == 404 and "file-gone" in gone.json()["error"]["message"]
    assert ok(api.get(base + "/files"))["data"] == [], "nothing of a refused batch is attached"
    no_batch = api.get(base + "/file_batches/vsfb_gone")
    assert no_batch.status_code == 404 and no_batch.json()["error"]["message"].startswith("File batch with id")
    no_store = api.get("/vector_stores/vs_gone/file_batches/vsfb_gone/files")
    assert no_store.status_code == 404 and no_store.json()["error"]["message"].startswith("Vector store with id")
    assert no_store.json()["error"]["param"] == "vector_store_id"
    assert (no_batch.json()["error"]["code"], no_store.json()["error"]["code"]) == (
        "file_batch_not_found",
        "vector_store_not_found",
    )


def test_a_404_names_what_is_missing_as_an_identifier(api: httpx.Client) -> None:
    for path in ("/containers/cntr_gone/files", "/containers/cntr_gone/files/cfile_x/content"):
        error = api.get(path).json()["error"]
        assert error["message"] == "Container with id 'cntr_gone' not found." and error["param"] == "container_id"
        assert error["code"] == "container_not_found"
    container = ok(api.post("/containers", json={"name": "c"}))
    error = api.get(f"/containers/{container['id']}/files/cfile_x").json()["error"]
    assert error["message"].startswith("Container file with id 'cfile_x'") and error["param"] == "file_id"
    assert error["code"] == "container_file_not_found"
    assert api.get("/files/file-gone").json()["error"]["code"] == "file_not_found"
    assert api.get("/responses/resp_gone").json()["error"]["code"] == "response_not_found"


def test_vector_store_management_is_on_the_control_plane_only(api: httpx.Client, control: httpx.Client) -> None:
    assert api.post("/vector_stores", json={"name": "kb"}).status_code == 404, "not served on inference"
    assert control.post("/files", json={}).status_code == 404, "inference paths are not on the control plane"
    missing = control.get("/vector_stores", headers={"opc-compartment-id": ""})
    assert missing.status_code == 400 and missing.json()["code"] == "MissingParameter"


def test_containers_and_their_files(api: httpx.Client) -> None:
    container = ContainerCreateResponse.model_validate(ok(api.post("/containers", json={"name": "sandbox"})))
    base = f"/containers/{container.id}"
    assert ContainerListResponse.model_validate(ok(api.get("/containers"))["data"][0]).id == container.id
    created = FileCreateResponse.model_validate(
        ok(api.post(base + "/files", files={"file": ("data.bin", BINARY, "application/octet-stream")}))
    )
    assert created.container_id == container.id and created.bytes == len(BINARY) and created.path.endswith("/data.bin")
    uploaded = ok(upload(api, b"a,b\n1,2\n", "t.csv", "text/csv"))
    from_file = ok(api.post(base + "/files", json={"file_id": uploaded["id"]}))
    listed = [FileListResponse.model_validate(f) for f in ok(api.get(base + "/files", params={"order": "asc"}))["data"]]
    assert [f.id for f in listed] == [created.id, from_file["id"]]
    content = api.get(f"{base}/files/{from_file['id']}/content")
    assert content.content == b"a,b\n1,2\n" and content.headers["content-type"] == "text/csv"
    assert api.get(f"{base}/files/{created.id}/content").content == BINARY
    assert ok(api.delete(f"{base}/files/{created.id}"))["deleted"]
    assert api.get(f"{base}/files/{created.id}").status_code == 404
    assert ok(api.delete(base))["deleted"] and api.get(base).status_code == 404
    assert api.post("/containers", json={}).status_code == 400


# -- faults on every path ------------------------------------------------------------------------


def test_fault_names_are_listed() -> None:
    assert set(STREAM_FAULTS) <= set(FAULTS) and {"partial-stream", "error-event", "no-done"} == set(STREAM_FAULTS)


def test_injected_fault_filtered_by_path(api: httpx.Client, emulator: Emulator) -> None:
    emulator.inject("503", times=1, path="/files")
    assert respond(api, input="untouched").status_code == 200
    before = len(emulator.calls)
    assert api.get("/files").status_code == 503
    assert api.get("/files").status_code == 200
    assert [c.fault for c in emulator.calls[before:]] == ["503", ""]


def test_injected_fault_filtered_by_method(api: httpx.Client, emulator: Emulator) -> None:
    emulator.inject("500", path="/conversations", method="DELETE")
    conversation = ok(api.post("/conversations", json={}))
    assert api.delete(f"/conversations/{conversation['id']}").status_code == 500
    assert api.delete(f"/conversations/{conversation['id']}").status_code == 200


def test_fault_mark_in_a_multipart_upload(api: httpx.Client, emulator: Emulator) -> None:
    answer = upload(api, b"data [[fault:429:7]] data", "a.txt", "text/plain")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "7"
    assert emulator.calls[-1].fault == "429"


def test_responses_partial_stream_ends_cleanly_without_completed(api: httpx.Client) -> None:
    got = events(respond(api, input="[[fault:partial-stream]] hi", stream=True))
    assert got and all(e.type not in ("response.completed", "response.incomplete", "error") for e in got)


def test_responses_error_event_ends_the_stream(api: httpx.Client) -> None:
    got = events(respond(api, input="[[fault:error-event]] hi", stream=True))
    assert got[-1].type == "error" and got[-1].sequence_number == len(got) - 1
    assert all(e.type != "response.completed" for e in got)


def test_chat_stream_faults(api: httpx.Client) -> None:
    def frames(mark: str) -> list[str]:
        return sse_data(chat(api, messages=[{"role": "user", "content": f"{mark} hi"}], stream=True))

    no_done = frames("[[fault:no-done]]")
    assert "[DONE]" not in no_done and json.loads(no_done[-1])["choices"][0]["finish_reason"] == "stop"
    partial = frames("[[fault:partial-stream]]")
    assert "[DONE]" not in partial
    assert all(json.loads(f)["choices"][0]["finish_reason"] is None for f in partial)
    errored = frames("[[fault:error-event]]")
    assert "[DONE]" not in errored and json.loads(errored[-1])["error"]["type"] == "server_error"


def test_stream_faults_wait_for_a_stream(api: httpx.Client, emulator: Emulator) -> None:
    emulator.inject("no-done")
    assert ok(chat(api))["choices"][0]["finish_reason"] == "stop", "not a stream: the fault stays queued"
    assert "[DONE]" not in sse_data(respond(api, input="a Responses stream has no [DONE] anyway", stream=True))
    assert "[DONE]" not in sse_data(chat(api, stream=True))
    assert sse_data(chat(api, stream=True))[-1] == "[DONE]", "used once"


def test_stream_fault_mark_on_a_non_streamed_create_is_ignored(api: httpx.Client, emulator: Emulator) -> None:
    body = ok(respond(api, input="[[fault:partial-stream]] plain"))
    assert body["status"] == "completed" and emulator.calls[-1].fault == ""


def test_calls_record_every_path(api: httpx.Client, emulator: Emulator) -> None:
    before = len(emulator.calls)
    api.get("/files", params={"limit": 1})
    api.post("/containers", json={"name": "c"})
    recorded = emulator.calls[before:]
    assert [(c.method, c.path, c.status) for c in recorded] == [
        ("GET", "/openai/v1/files", 200),
        ("POST", "/openai/v1/containers", 200),
    ]
    assert recorded[0].query == "limit=1" and recorded[1].body == {"name": "c"}
    # The same record for another process (make run's emulator), unsigned like the fault control.
    listed = httpx.get(f"http://{emulator.host}:{emulator.port}/_emulator/calls").json()["calls"][before:]
    assert [(c["method"], c["path"], c["status"], c["jti"]) for c in listed] == [
        (c.method, c.path, c.status, c.jti) for c in recorded
    ]
    assert listed[1]["body"] == {"name": "c"} and all(c["jti"] for c in listed)


def test_input_items_do_not_outlive_their_response(api: httpx.Client, emulator: Emulator) -> None:
    first = ok(respond(api, input="one"))
    emulator.responses.pop(first["id"])  # as the soak test does, to keep the store flat
    second = ok(respond(api, input="two"))
    assert first["id"] not in emulator.input_items and second["id"] in emulator.input_items
    assert ok(api.delete(f"/responses/{second['id']}"))["deleted"]
    assert second["id"] not in emulator.input_items


# -- structure ---------------------------------------------------------------------------


def test_emulator_modules_import_one_way() -> None:
    """wire → model → state → table → families → core: no module imports one after it (no import circle)."""
    import ast
    from pathlib import Path

    order = ["wire", "model", "state", "table", "responses", "chat", "conversations", "storage", "file_batches", "core"]
    folder = Path(__file__).resolve().parents[2] / "dev" / "local" / "emulator"
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted([*order, "__init__"]), "a module to place in `order`"
    for rank, name in enumerate(order):
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {
            alias.name if node.module is None else node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1
            for alias in node.names
        }
        later = sorted(imported & set(order[rank:]))
        assert not later, f"{name} imports {later}, which come after it"
