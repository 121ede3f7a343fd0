"""The Responses API: create (JSON or server-sent events), retrieve, delete, input items, cancel.

Answers are deterministic and reflect the input ("Echo: <input>", newlines
kept), with word-count `usage`, so tests can assert on them. What the model
answers is `model`'s: a `function_call` item for a function tool until its
result arrives in this turn (a `function_call_output` item, or a user message
with an observation), then text that includes the result; `text.format`
json_schema or json_object is answered with JSON that fits the schema or the
prompt.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .model import Turn, cut, decide, results_this_turn, text_answer, tidy
from .state import State
from .table import route
from .wire import (
    OpenAIRefusal,
    Request,
    content_text,
    json_response,
    missing,
    new_id,
    not_found,
    now,
    page,
    sse_response,
)


def input_text(value: Any) -> str:
    """The text of a Responses API `input`: a string or a list of message items."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    return " ".join(content_text(i.get("content")) for i in value if isinstance(i, dict) and "content" in i).strip()


def normalize_items(value: Any) -> list[dict[str, Any]]:
    """Input as stored items, each with an id, as `input_items` and conversations list them."""
    raw = [{"role": "user", "content": value}] if isinstance(value, str) else value if isinstance(value, list) else []
    items: list[dict[str, Any]] = []
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type", "message")
        if kind == "message":
            role = entry.get("role", "user")
            content = entry.get("content")
            part = "output_text" if role == "assistant" else "input_text"
            if isinstance(content, str):
                content = [{"type": part, "text": content}]
            parts = [
                {**p, "annotations": p.get("annotations", [])} if p.get("type") == "output_text" else p
                for p in (content or [])
                if isinstance(p, dict)
            ]
            items.append(
                {
                    "id": entry.get("id") or new_id("msg_"),
                    "type": "message",
                    "role": role,
                    "status": "completed",
                    "content": parts,
                }
            )
        elif kind == "function_call_output":
            items.append({"id": entry.get("id") or new_id("fco_"), "status": "completed", **entry})
        else:
            items.append({"id": entry.get("id") or new_id("item_"), **entry})
    return items


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text", "")
        for item in response["output"]
        if item.get("type") == "message"
        for part in item.get("content", [])
    )


def function_tools(tools: Any) -> list[dict[str, Any]]:
    return [t for t in tools or [] if isinstance(t, dict) and t.get("type") == "function" and t.get("name")]


def _turn(payload: dict[str, Any], items: list[dict[str, Any]], text: str) -> Turn:
    said: list[tuple[str, str]] = []
    for item in items:
        if item.get("type") == "function_call_output":
            said.append(("tool", str(item.get("output", ""))))
        elif item.get("type") == "message":
            said.append((str(item.get("role", "")), content_text(item.get("content"))))
    instructions = payload["instructions"] if isinstance(payload.get("instructions"), str) else ""
    tools = [{"name": t["name"], "parameters": t.get("parameters")} for t in function_tools(payload.get("tools"))]
    return Turn(
        question=text,
        prompt="\n\n".join([instructions, *(t for role, t in said if role in ("system", "developer", "user"))]),
        results=results_this_turn(said),
        tools=tools,
        tool_choice=payload.get("tool_choice", "auto"),
    )


def _build(
    payload: dict[str, Any], items: list[dict[str, Any]], before: str | None, before_tokens: int
) -> dict[str, Any]:
    text = tidy(input_text(payload["input"]))
    tool_outputs = [str(i.get("output", "")) for i in items if i.get("type") == "function_call_output"]
    turn = _turn(payload, items, text)
    text_format = (payload.get("text") or {}).get("format") or {"type": "text"}
    limit = payload.get("max_output_tokens")
    instructions = payload.get("instructions") if isinstance(payload.get("instructions"), str) else None
    input_tokens = len(text.split()) + len((instructions or "").split()) + sum(len(o.split()) for o in tool_outputs)
    input_tokens += before_tokens
    output: list[dict[str, Any]]
    incomplete = False
    call = decide(turn)
    if call is not None:
        output = [
            {
                "id": new_id("fc_"),
                "type": "function_call",
                "status": "completed",
                "call_id": new_id("call_"),
                "name": call.name,
                "arguments": call.arguments,
            }
        ]
        output_tokens = len(call.arguments.split())
    else:
        answer = text_answer(turn, text_format if isinstance(text_format, dict) else {})
        if before is not None and text_format.get("type") not in ("json_schema", "json_object"):
            answer += f" (after: {before})"
        answer, output_tokens, incomplete = cut(answer, limit)
        output = [
            {
                "id": new_id("msg_"),
                "type": "message",
                "role": "assistant",
                "status": "incomplete" if incomplete else "completed",
                "content": [{"type": "output_text", "text": answer, "annotations": [], "logprobs": []}],
            }
        ]
    created = now()
    return {
        "id": new_id("resp_"),
        "object": "response",
        "created_at": created,
        "completed_at": created,
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "error": None,
        "model": payload["model"],
        "instructions": instructions,
        "previous_response_id": payload.get("previous_response_id"),
        "conversation": None,
        "background": bool(payload.get("background", False)),
        "max_output_tokens": limit,
        "temperature": payload.get("temperature", 1.0),
        "top_p": 1.0,
        "parallel_tool_calls": True,
        "tool_choice": payload.get("tool_choice", "auto"),
        "tools": [{"strict": None, "parameters": None, **t} for t in payload.get("tools") or [] if isinstance(t, dict)],
        "store": bool(payload.get("store", True)),
        "metadata": payload.get("metadata") or {},
        "text": {"format": text_format},
        "truncation": "disabled",
        "output": output,
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
    }


async def create(state: State, req: Request) -> web.StreamResponse:
    payload = req.payload
    state.check_model(payload)
    items = normalize_items(payload.get("input"))
    if "input" not in payload or not (input_text(payload["input"]).strip() or items):
        raise missing("input")
    previous = payload.get("previous_response_id")
    if previous is not None and previous not in state.responses:
        raise OpenAIRefusal(
            400,
            f"Previous response with id '{previous}' not found.",
            "previous_response_id",
            "previous_response_not_found",
        )
    conversation = payload.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else conversation
    stored_conversation = None
    if conversation_id is not None:
        stored_conversation = state.conversations.get(str(conversation_id))
        if stored_conversation is None:
            raise not_found("Conversation", str(conversation_id), "conversation")
    before: str | None = None
    before_tokens = 0
    if previous:
        earlier = state.responses[previous]
        before, before_tokens = output_text(earlier), earlier["usage"]["total_tokens"]
    elif stored_conversation is not None:
        said = [i for i in stored_conversation.items if i.get("role") == "assistant"]
        before = content_text(said[-1]["content"]) if said else None
    response = _build(payload, items, before, before_tokens)
    if stored_conversation is not None:
        response["conversation"] = {"id": stored_conversation.conversation["id"]}
        stored_conversation.items += items + response["output"]
    if payload.get("store", True):
        # Input items of responses removed from `responses` (tests pop them directly) go too.
        for stale in state.input_items.keys() - state.responses.keys():
            del state.input_items[stale]
        state.responses[response["id"]] = response
        state.input_items[response["id"]] = items
    if payload.get("stream"):
        return await stream(req, response)
    if payload.get("background"):
        # Background work is instant here: the answer is ready at the first retrieve.
        queued = {**response, "status": "queued", "output": [], "usage": None, "completed_at": None}
        state.background[response["id"]] = response
        state.responses[response["id"]] = queued
        return json_response(queued)
    return json_response(response)


def _stored(state: State, ident: str) -> dict[str, Any]:
    if ident in state.background:
        state.responses[ident] = state.background.pop(ident)
    stored = state.responses.get(ident)
    if stored is None:
        raise not_found("Response", ident, "response_id")
    return stored


async def retrieve(state: State, req: Request) -> web.StreamResponse:
    return json_response(_stored(state, req.params["id"]))


async def delete(state: State, req: Request) -> web.StreamResponse:
    stored = _stored(state, req.params["id"])
    del state.responses[stored["id"]]
    state.input_items.pop(stored["id"], None)
    return json_response({"id": stored["id"], "object": "response", "deleted": True})


async def list_input_items(state: State, req: Request) -> web.StreamResponse:
    stored = _stored(state, req.params["id"])
    return json_response(page(state.input_items.get(stored["id"], []), req.query))


async def cancel(state: State, req: Request) -> web.StreamResponse:
    """Only background responses can be cancelled (the openai SDK's `responses.cancel` docstring)."""
    ident = req.params["id"]
    if ident in state.background:
        del state.background[ident]
        state.responses[ident] = {**state.responses[ident], "status": "cancelled"}
        return json_response(state.responses[ident])
    stored = _stored(state, ident)
    if not stored.get("background"):
        raise OpenAIRefusal(400, "Only responses created with background=true can be cancelled.", None, None)
    # Already finished: cancelling changes nothing, and answers the response as it is.
    return json_response(stored)


def stream_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The server-sent events of a streamed create, in the Responses API's order."""
    started = {**response, "status": "in_progress", "output": [], "usage": None, "completed_at": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(response["output"]):
        ids = {"item_id": item["id"], "output_index": index}
        if item["type"] == "function_call":
            events += [
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "status": "in_progress", "arguments": ""},
                },
                {"type": "response.function_call_arguments.delta", **ids, "delta": item["arguments"]},
                {
                    "type": "response.function_call_arguments.done",
                    **ids,
                    "arguments": item["arguments"],
                    "name": item["name"],
                },
                {"type": "response.output_item.done", "output_index": index, "item": item},
            ]
            continue
        text = item["content"][0]["text"]
        part = {**ids, "content_index": 0}
        deltas = [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))]
        events += [
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "status": "in_progress", "content": []},
            },
            {
                "type": "response.content_part.added",
                **part,
                "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            },
            *({"type": "response.output_text.delta", **part, "delta": d, "logprobs": []} for d in deltas),
            {"type": "response.output_text.done", **part, "text": text, "logprobs": []},
            {"type": "response.content_part.done", **part, "part": item["content"][0]},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
    final = "response.completed" if response["status"] == "completed" else "response.incomplete"
    events.append({"type": final, "response": response})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


async def stream(req: Request, response: dict[str, Any]) -> web.StreamResponse:
    events = stream_events(response)
    if req.stream_fault == "partial-stream":
        # A clean end of stream, without the final response.completed.
        events = events[:-1]
    elif req.stream_fault == "error-event":
        events = events[: len(events) // 2]
        events.append(
            {
                "type": "error",
                "code": "server_error",
                "message": "The model failed while streaming.",
                "param": None,
                "sequence_number": len(events),
            }
        )
    frames = [f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}" for event in events]
    return await sse_response(req.http, frames)


ROUTES = (
    route("POST", "/responses", create, stream="responses"),
    route("GET", "/responses/{id}", retrieve),
    route("DELETE", "/responses/{id}", delete),
    route("GET", "/responses/{id}/input_items", list_input_items),
    route("POST", "/responses/{id}/cancel", cancel),
)
