"""The emulated model answers plausibly enough that a framework's agent loop ends (dev/local/emulator/model.py).

Each behaviour is asked for over a real socket, signed as the function signs,
in the shapes frameworks send: instructor's embedded schema, DSPy's adapters
and ReAct trajectory, smolagents' observations sent as user messages.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

from tests.unit.test_emulator import api, chat, ok, respond, sse_data

__all__ = ["api"]

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "enum": ["Chicago", "Paris"]}},
            "required": ["city"],
        },
    },
}
FINAL_ANSWER = {
    "type": "function",
    "function": {
        "name": "final_answer",
        "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
    },
}
ASKED = {"role": "user", "content": "What is the weather in Chicago?"}
CALLED = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Chicago"}'}}
    ],
}
#: The ways a tool's result comes back in Chat Completions: OpenAI's `tool` message, smolagents' user message
#: ("Observation:" after its own "Calling tools:" text), DSPy ReAct's trajectory inside the next user message.
CARRIERS: dict[str, list[dict[str, Any]]] = {
    "tool message": [ASKED, CALLED, {"role": "tool", "tool_call_id": "call_1", "content": "Chicago: sunny"}],
    "smolagents user observation": [
        {"role": "system", "content": "You are an expert assistant. Observation: lines hold tool results."},
        {"role": "user", "content": [{"type": "text", "text": "New task:\nWhat is the weather in Chicago?"}]},
        {"role": "assistant", "content": "Calling tools:\n[{'id': 'call_1', 'function': {'name': 'get_weather'}}]"},
        {"role": "user", "content": [{"type": "text", "text": "Observation:\nChicago: sunny"}]},
    ],
    "DSPy trajectory": [
        {
            "role": "user",
            "content": "[[ ## question ## ]]\nWhat is the weather in Chicago?\n\n[[ ## trajectory ## ]]\n"
            "[[ ## thought_0 ## ]]\nx\n\n[[ ## tool_name_0 ## ]]\nget_weather\n\n"
            '[[ ## tool_args_0 ## ]]\n{"city": "Chicago"}\n\n[[ ## observation_0 ## ]]\nChicago: sunny\n\n'
            "Respond with the corresponding output fields.",
        }
    ],
}


def message(api: httpx.Client, **body: Any) -> dict[str, Any]:
    completion = ChatCompletion.model_validate(ok(chat(api, **body)))
    return completion.choices[0].message.model_dump()


# -- newlines --------------------------------------------------------------------------


def test_echo_keeps_newlines_in_chat_streams_and_responses(api: httpx.Client) -> None:
    text = "[[ ## question ## ]]\nWhat  is it?\n\n[[ ## completed ## ]]"
    expected = "Echo: [[ ## question ## ]]\nWhat is it?\n\n[[ ## completed ## ]]"
    assert message(api, messages=[{"role": "user", "content": text}])["content"] == expected
    frames = sse_data(chat(api, messages=[{"role": "user", "content": text}], stream=True))
    chunks = [ChatCompletionChunk.model_validate_json(f) for f in frames[:-1]]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected
    assert Response.model_validate(ok(respond(api, input=text))).output_text == expected


def test_a_word_cap_keeps_the_newlines_before_the_cut(api: httpx.Client) -> None:
    completion = ok(chat(api, messages=[{"role": "user", "content": "one\ntwo\nthree"}], max_tokens=3))
    choice = completion["choices"][0]
    assert choice["message"]["content"] == "Echo: one\ntwo" and choice["finish_reason"] == "length"
    assert completion["usage"]["completion_tokens"] == 3


# -- json_object -----------------------------------------------------------------------


def test_json_object_fills_the_schema_the_prompt_embeds(api: httpx.Client) -> None:
    """instructor's JSON mode: the response model's JSON schema in the system message."""
    schema = {
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        "required": ["name", "age"],
        "title": "User",
        "type": "object",
    }
    system = (
        "As a genius expert, your task is to understand the content and provide the parsed objects in json "
        f"that match the following json_schema:\n\n{json.dumps(schema, indent=2)}\n\nMake sure to return an "
        "instance of the JSON, not the schema itself"
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "Jason is 25"}]
    value = json.loads(message(api, messages=messages, response_format={"type": "json_object"})["content"])
    assert set(value) == {"name", "age", "nickname"}
    assert isinstance(value["name"], str) and isinstance(value["age"], int) and isinstance(value["nickname"], str)


def test_a_prompt_asking_for_a_json_code_block_gets_one(api: httpx.Client) -> None:
    """instructor's MD_JSON mode: no response_format, the schema in the prompt, the answer in a ```json block."""
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}
    messages = [
        {"role": "system", "content": f"Match this json_schema:\n{json.dumps(schema)}"},
        {"role": "user", "content": "Return the correct JSON response within a ```json codeblock. not the JSON_SCHEMA"},
    ]
    content = message(api, messages=messages)["content"]
    assert content.startswith("```json\n") and content.endswith("\n```")
    assert json.loads(content[len("```json\n") : -len("\n```")]) == {"city": "x", "days": 0}


def test_json_object_follows_an_embedded_example(api: httpx.Client) -> None:
    prompt = 'Answer as JSON like {"city": "Paris", "temperature": 21.5, "tags": ["warm"], "ok": true}.'
    value = json.loads(
        message(api, messages=[{"role": "user", "content": prompt}], response_format={"type": "json_object"})["content"]
    )
    assert set(value) == {"city", "temperature", "tags", "ok"}
    assert isinstance(value["temperature"], float) and isinstance(value["ok"], bool)
    assert len(value["tags"]) == 1 and isinstance(value["tags"][0], str)


def test_json_object_without_named_fields_echoes_and_responses_agree(api: httpx.Client) -> None:
    fmt = {"type": "json_object"}
    content = message(api, messages=[{"role": "user", "content": "hi\nthere"}], response_format=fmt)["content"]
    assert json.loads(content) == {"echo": "hi\nthere"}
    answered = Response.model_validate(ok(respond(api, input="hi\nthere", text={"format": fmt})))
    assert json.loads(answered.output_text) == {"echo": "hi\nthere"}


DSPY_SYSTEM = (
    "Your input fields are:\n1. `question` (str): \n2. `trajectory` (str):\n"
    "Your output fields are:\n1. `next_thought` (str): \n2. `next_tool_name` (Literal['get_weather', 'finish']): \n"
    "3. `next_tool_args` (dict[str, Any]):\n\nAll interactions will be structured in the following way.\n\n"
    "You are an Agent. Your goal is to use one or more of the supplied tools.\n"
    "(1) get_weather, whose description is <desc>Today's weather in a city.</desc>. It takes arguments "
    "{'city': {'enum': ['Chicago', 'Paris'], 'type': 'string'}}.\n"
    "(2) finish, whose description is <desc>Marks the task as complete.</desc>. It takes arguments {}."
)


def dspy_step(trajectory: str, ask: str) -> list[dict[str, Any]]:
    user = f"[[ ## question ## ]]\nWhat is the weather in Chicago?\n\n[[ ## trajectory ## ]]\n{trajectory}\n\n{ask}"
    return [{"role": "system", "content": DSPY_SYSTEM}, {"role": "user", "content": user}]


JSON_ASK = "Respond with a JSON object in the following order of fields: `next_thought`, then `next_tool_name`."
SECTIONS_ASK = (
    "Respond with the corresponding output fields, starting with the field `[[ ## next_thought ## ]]`, then "
    "`[[ ## next_tool_name ## ]]`, then `[[ ## next_tool_args ## ]]`, and then ending with the marker for "
    "`[[ ## completed ## ]]`."
)
OBSERVED = "[[ ## tool_name_0 ## ]]\nget_weather\n\n[[ ## observation_0 ## ]]\nChicago: sunny"


@pytest.mark.parametrize("fmt", [{"type": "json_object"}, None], ids=["json_object", "no response_format"])
def test_dspy_react_json_steps_call_the_tool_then_finish(api: httpx.Client, fmt: dict[str, Any] | None) -> None:
    extra = {"response_format": fmt} if fmt else {}
    first = json.loads(message(api, messages=dspy_step("", JSON_ASK), **extra)["content"])
    assert set(first) == {"next_thought", "next_tool_name", "next_tool_args"}
    assert first["next_tool_name"] == "get_weather" and first["next_tool_args"] == {"city": "Chicago"}
    second = json.loads(message(api, messages=dspy_step(OBSERVED, JSON_ASK), **extra)["content"])
    assert second["next_tool_name"] == "finish" and second["next_tool_args"] == {}


def test_dspy_chat_adapter_gets_its_sections(api: httpx.Client) -> None:
    content = message(api, messages=dspy_step("", SECTIONS_ASK))["content"]
    assert content == (
        "[[ ## next_thought ## ]]\nx\n\n[[ ## next_tool_name ## ]]\nget_weather\n\n"
        '[[ ## next_tool_args ## ]]\n{"city": "Chicago"}\n\n[[ ## completed ## ]]'
    )
    assert "[[ ## next_tool_name ## ]]\nfinish\n" in message(api, messages=dspy_step(OBSERVED, SECTIONS_ASK))["content"]


def test_a_strict_schema_picks_finish_and_answers_once_a_result_arrived(api: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "next_tool_name": {"type": "string", "enum": ["get_weather", "finish"]},
            "answer": {"type": "string"},
        },
        "required": ["next_tool_name", "answer"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "step", "schema": schema, "strict": True}}
    before = json.loads(message(api, messages=dspy_step("", JSON_ASK), response_format=fmt)["content"])
    after = json.loads(message(api, messages=dspy_step(OBSERVED, JSON_ASK), response_format=fmt)["content"])
    assert before["next_tool_name"] == "get_weather" and after["next_tool_name"] == "finish"
    assert after["answer"] == "Tool output: Chicago: sunny"


# -- a tool at most once per user turn ----------------------------------------------------


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
def test_no_tool_call_after_its_result_whatever_carries_it(api: httpx.Client, carrier: str) -> None:
    for stream in (False, True):
        body = {"messages": CARRIERS[carrier], "tools": [WEATHER], "tool_choice": "auto"}
        if stream:
            frames = sse_data(chat(api, stream=True, **body))
            chunks = [ChatCompletionChunk.model_validate_json(f) for f in frames[:-1]]
            assert not any(c.choices[0].delta.tool_calls for c in chunks if c.choices)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            answer = message(api, **body)
            assert not answer["tool_calls"]
            text = answer["content"]
        assert "Tool output: Chicago: sunny" in text, (carrier, stream)


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
def test_after_its_result_a_final_answer_tool_ends_the_loop(api: httpx.Client, carrier: str) -> None:
    """smolagents ends its loop only on a `final_answer` call (its tool_choice is "required")."""
    answer = message(api, messages=CARRIERS[carrier], tools=[WEATHER, FINAL_ANSWER], tool_choice="required")
    calls = answer["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["final_answer"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"answer": "Tool output: Chicago: sunny"}


def test_a_tool_is_called_once_in_a_turn_and_again_in_the_next(api: httpx.Client) -> None:
    first = message(api, messages=[ASKED], tools=[FINAL_ANSWER, WEATHER])
    assert [c["function"]["name"] for c in first["tool_calls"]] == ["get_weather"], "the worker before final_answer"
    answered = CARRIERS["tool message"]
    assert not message(api, messages=answered, tools=[WEATHER])["tool_calls"]
    next_turn = [*answered, {"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "And Paris?"}]
    assert [c["function"]["name"] for c in message(api, messages=next_turn, tools=[WEATHER])["tool_calls"]] == [
        "get_weather"
    ]


RESPONSES_TOOL = {"type": "function", "name": "get_weather", "parameters": WEATHER["function"]["parameters"]}


@pytest.mark.parametrize(
    "result",
    [
        {"type": "function_call_output", "call_id": "call_1", "output": "Chicago: sunny"},
        {"role": "user", "content": [{"type": "input_text", "text": "Observation:\nChicago: sunny"}]},
    ],
    ids=["function_call_output", "user observation"],
)
def test_responses_no_tool_call_after_its_result(api: httpx.Client, result: dict[str, Any]) -> None:
    call = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"}
    items = [{"role": "user", "content": "What is the weather in Chicago?"}, call, result]
    for stream in (False, True):
        if stream:
            lines = sse_data(respond(api, input=items, tools=[RESPONSES_TOOL], stream=True))
            answered = Response.model_validate(json.loads(lines[-1])["response"])
        else:
            answered = Response.model_validate(ok(respond(api, input=items, tools=[RESPONSES_TOOL])))
        assert [o.type for o in answered.output] == ["message"]
        assert "Tool output: Chicago: sunny" in answered.output_text
    again = [*items, {"role": "user", "content": "And Paris?"}]
    assert ok(respond(api, input=again, tools=[RESPONSES_TOOL]))["output"][0]["type"] == "function_call"


# -- schemas: every property ------------------------------------------------------------


def test_tool_arguments_fill_optional_properties_with_their_types(api: httpx.Client) -> None:
    parameters = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "when": {"type": "object", "properties": {"day": {"type": "integer", "minimum": 1}}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "exact": {"type": "boolean"},
            "ratio": {"type": "number"},
        },
        "required": ["city"],
    }
    tool = {"type": "function", "function": {"name": "search", "parameters": parameters}}
    call = message(api, messages=[ASKED], tools=[tool])["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {
        "city": "x",
        "unit": "celsius",
        "when": {"day": 1},
        "tags": ["x"],
        "limit": 0,
        "exact": False,
        "ratio": 0.0,
    }


def test_structured_output_fills_optional_nested_items(api: httpx.Client) -> None:
    """instructor's create_iterable asks for {"tasks": [...]} with `tasks` optional: it must not get {}."""
    schema = {
        "type": "object",
        "properties": {"tasks": {"type": "array", "items": {"$ref": "#/$defs/User"}}},
        "$defs": {"User": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}},
    }
    fmt = {"format": {"type": "json_schema", "name": "it", "schema": schema}}
    assert json.loads(Response.model_validate(ok(respond(api, input="x", text=fmt))).output_text) == {
        "tasks": [{"name": "x", "age": 0}]
    }


# -- n choices --------------------------------------------------------------------------


def test_n_gives_n_choices_and_counts_each(api: httpx.Client) -> None:
    one = ok(chat(api))
    three = ChatCompletion.model_validate(ok(chat(api, n=3)))
    assert [c.index for c in three.choices] == [0, 1, 2]
    assert all(c.message.content == "Echo: hello there" for c in three.choices)
    assert three.usage is not None and three.usage.prompt_tokens == one["usage"]["prompt_tokens"]
    assert three.usage.completion_tokens == 3 * one["usage"]["completion_tokens"]
    assert three.usage.total_tokens == three.usage.prompt_tokens + three.usage.completion_tokens
    calls = ChatCompletion.model_validate(ok(chat(api, n=2, tools=[WEATHER]))).choices
    ids = {c.message.tool_calls[0].id for c in calls if c.message.tool_calls}
    assert len(ids) == 2, "each choice has its own call"


def test_n_streams_every_choice(api: httpx.Client) -> None:
    frames = sse_data(chat(api, n=2, stream=True, stream_options={"include_usage": True}))
    chunks = [ChatCompletionChunk.model_validate_json(f) for f in frames[:-1]]
    for index in (0, 1):
        mine = [c.choices[0] for c in chunks if c.choices and c.choices[0].index == index]
        assert "".join(c.delta.content or "" for c in mine) == "Echo: hello there"
        assert [c.finish_reason for c in mine if c.finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 6


@pytest.mark.parametrize("n", [0, -1, "2", True])
def test_a_bad_n_is_an_openai_error(api: httpx.Client, n: Any) -> None:
    answer = chat(api, n=n)
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "n"
