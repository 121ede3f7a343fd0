"""The whole OpenAI-compatible surface through the local gateway, with the OpenAI SDK itself:
client → gateway → fdk → function (route table, signed httpx) → emulator (signature checked).
Status and body are asserted on every call; streaming where the API streams."""

from __future__ import annotations

import io
import json
from typing import Any

import openai
import pytest

pytestmark = pytest.mark.integration

MODEL = "openai.gpt-oss-120b"
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_chat_completions_json_stream_and_a_tool_round_trip(sdk: openai.OpenAI, emulator) -> None:
    chat = sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello chat"}])
    assert chat.choices[0].message.content == "Echo: hello chat"
    assert chat.usage is not None and chat.usage.total_tokens > 0
    chunks = list(
        sdk.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "stream me"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream me" and chunks[-1].usage is not None

    asked: Any = [{"role": "user", "content": "weather in Paris?"}]
    first = sdk.chat.completions.create(model=MODEL, messages=asked, tools=[WEATHER])
    calls: Any = first.choices[0].message.tool_calls
    call = calls[0]
    assert first.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    answered: Any = [
        *asked,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
    ]
    second = sdk.chat.completions.create(model=MODEL, messages=answered, tools=[WEATHER])
    assert "sunny, 21 C" in (second.choices[0].message.content or "")


def test_chat_completions_structured_output_fits_the_schema(sdk: openai.OpenAI) -> None:
    schema: Any = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    chat = sdk.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "a person"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}},
    )
    person = json.loads(chat.choices[0].message.content or "")
    assert set(person) == {"name", "age"} and isinstance(person["age"], int)


def test_responses_sub_resources_and_a_function_tool_round_trip(sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model=MODEL, input="list my items")
    items = sdk.responses.input_items.list(created.id)
    assert [i.type for i in items.data] == ["message"]
    assert sdk.responses.retrieve(created.id).id == created.id
    with pytest.raises(openai.BadRequestError) as refused:  # only background responses can be cancelled
        sdk.responses.cancel(created.id)
    assert "background=true" in refused.value.message, "the service's answer, not the function's"
    queued = sdk.responses.create(model=MODEL, input="later", background=True)
    assert queued.status == "queued" and sdk.responses.cancel(queued.id).status == "cancelled"
    tool: Any = {"type": "function", "name": "get_weather", "parameters": WEATHER["function"]["parameters"]}
    first = sdk.responses.create(model=MODEL, input="weather in Oslo?", tools=[tool])
    call = next(o for o in first.output if o.type == "function_call")
    second = sdk.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        tools=[tool],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "snow"}],
    )
    assert "snow" in second.output_text
    sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)


def test_conversations_and_their_items(sdk: openai.OpenAI) -> None:
    conversation = sdk.conversations.create(metadata={"topic": "t"})
    assert sdk.conversations.retrieve(conversation.id).metadata == {"topic": "t"}
    assert sdk.conversations.update(conversation.id, metadata={"topic": "u"}).metadata == {"topic": "u"}
    answer = sdk.responses.create(model=MODEL, input="remember me", conversation=conversation.id)
    assert answer.output_text == "Echo: remember me"
    added = sdk.conversations.items.create(conversation.id, items=[{"role": "user", "content": "and this"}])
    listed = sdk.conversations.items.list(conversation.id)
    assert len(listed.data) >= 3
    item_id: Any = added.data[0].id
    item = sdk.conversations.items.retrieve(item_id, conversation_id=conversation.id)
    assert item.id == item_id
    sdk.conversations.items.delete(item_id, conversation_id=conversation.id)
    assert sdk.conversations.delete(conversation.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.retrieve(conversation.id)


def test_files_vector_stores_and_search(sdk: openai.OpenAI) -> None:
    data = b"OCI Functions run Python.\n\nVector stores hold files for search.\n"
    uploaded = sdk.files.create(file=("notes.txt", io.BytesIO(data), "text/plain"), purpose="assistants")
    assert sdk.files.retrieve(uploaded.id).filename == "notes.txt"
    assert uploaded.id in [f.id for f in sdk.files.list().data]
    assert sdk.files.content(uploaded.id).content == data
    store = sdk.vector_stores.create(name="kb")  # OCI's control plane, with opc-compartment-id
    assert sdk.vector_stores.retrieve(store.id).name == "kb"
    assert store.id in [s.id for s in sdk.vector_stores.list().data]
    attached = sdk.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    assert [f.id for f in sdk.vector_stores.files.list(vector_store_id=store.id).data] == [attached.id]
    hits = sdk.vector_stores.search(store.id, query="search")
    assert any("search" in part.text for hit in hits.data for part in hit.content)
    sdk.vector_stores.files.delete(file_id=attached.id, vector_store_id=store.id)
    assert sdk.vector_stores.delete(store.id).deleted is True
    assert sdk.files.delete(uploaded.id).deleted is True


def test_containers_and_their_files(sdk: openai.OpenAI) -> None:
    container = sdk.containers.create(name="sandbox")
    assert sdk.containers.retrieve(container.id).name == "sandbox"
    assert container.id in [c.id for c in sdk.containers.list().data]
    made = sdk.containers.files.create(container.id, file=("a.csv", io.BytesIO(b"x,y\n1,2\n"), "text/csv"))
    assert sdk.containers.files.retrieve(made.id, container_id=container.id).id == made.id
    assert sdk.containers.files.content.retrieve(made.id, container_id=container.id).content == b"x,y\n1,2\n"
    assert [f.id for f in sdk.containers.files.list(container.id).data] == [made.id]
    sdk.containers.files.delete(made.id, container_id=container.id)
    sdk.containers.delete(container.id)
    with pytest.raises(openai.NotFoundError):
        sdk.containers.retrieve(container.id)


def test_models_are_the_allow_list(sdk: openai.OpenAI, emulator) -> None:
    before = len(emulator.calls)
    names = [m.id for m in sdk.models.list().data]
    assert MODEL in names and sdk.models.retrieve(MODEL).id == MODEL
    assert sdk.models.retrieve("any.model").id == "any.model"  # this stack allows any model (*)
    assert len(emulator.calls) == before, "answered by the function, not the model service"
