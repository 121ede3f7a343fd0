"""Chat Completions: `POST /chat/completions`, JSON or server-sent events ending with `data: [DONE]`.

Deterministic like the Responses API: "Echo: <last user message>"; with
function tools (and no `tool` message last) a `tool_calls` answer for the
first tool, arguments fitting its parameters; after a `tool` message, text
that includes the tool's result; `response_format` json_schema gives JSON
fitting the schema; `max_completion_tokens`/`max_tokens` cap the words,
with finish_reason "length".
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .state import State
from .table import route
from .wire import (
    Request,
    content_text,
    json_response,
    missing,
    new_id,
    now,
    schema_instance,
    sse_response,
    strip_marks,
)


def _answer(payload: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    """The assistant message, its finish_reason and its prompt token count."""
    messages = [m for m in payload["messages"] if isinstance(m, dict)]
    prompt_tokens = sum(len(strip_marks(content_text(m.get("content"))).split()) for m in messages)
    last = messages[-1] if messages else {}
    tools = [
        t["function"]
        for t in payload.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
    ]
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if tools and last.get("role") != "tool" and payload.get("tool_choice") != "none":
        arguments = json.dumps(schema_instance(tools[0].get("parameters") or {"type": "object"}))
        call = {
            "id": new_id("call_"),
            "type": "function",
            "function": {"name": tools[0]["name"], "arguments": arguments},
        }
        message["tool_calls"] = [call]
        return message, "tool_calls", prompt_tokens
    fmt = payload.get("response_format") or {}
    users = [m for m in messages if m.get("role") == "user"]
    text = strip_marks(content_text(users[-1].get("content"))) if users else ""
    if fmt.get("type") == "json_schema":
        answer = json.dumps(schema_instance((fmt.get("json_schema") or {}).get("schema") or {}))
    elif fmt.get("type") == "json_object":
        answer = json.dumps({"echo": text})
    elif last.get("role") == "tool":
        answer = f"Echo: {text} Tool output: {strip_marks(content_text(last.get('content')))}"
    else:
        answer = f"Echo: {text}"
    words = answer.split()
    cap = payload.get("max_completion_tokens", payload.get("max_tokens"))
    finish = "stop"
    if isinstance(cap, int) and len(words) > cap:
        words, finish = words[:cap], "length"
    message["content"] = " ".join(words)
    return message, finish, prompt_tokens


def _completion_tokens(message: dict[str, Any]) -> int:
    if message.get("tool_calls"):
        return sum(len(c["function"]["arguments"].split()) for c in message["tool_calls"])
    return len((message.get("content") or "").split())


async def create(state: State, req: Request) -> web.StreamResponse:
    payload = req.payload
    model = state.check_model(payload)
    if not isinstance(payload.get("messages"), list) or not payload["messages"]:
        raise missing("messages")
    message, finish, prompt_tokens = _answer(payload)
    completion_tokens = _completion_tokens(message)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    body = {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": usage,
    }
    if payload.get("stream") is True:
        include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
        return await _stream(req, body, include_usage)
    return json_response(body)


def chunks(completion: dict[str, Any], include_usage: bool) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` objects of a streamed answer, as OpenAI sends them."""
    message = completion["choices"][0]["message"]
    base = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    out = [chunk({"role": "assistant", "content": "" if not message.get("tool_calls") else None})]
    for index, call in enumerate(message.get("tool_calls") or []):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        out += [
            chunk({"tool_calls": [head]}),
            chunk({"tool_calls": [{"index": index, "function": {"arguments": call["function"]["arguments"]}}]}),
        ]
    text = message.get("content") or ""
    out += [chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(text.split(" ")) if text]
    out.append(chunk({}, completion["choices"][0]["finish_reason"]))
    if include_usage:
        out.append({**base, "choices": [], "usage": completion["usage"]})
    return out


async def _stream(req: Request, completion: dict[str, Any], include_usage: bool) -> web.StreamResponse:
    frames = [json.dumps(c, separators=(",", ":")) for c in chunks(completion, include_usage)]
    if req.stream_fault == "partial-stream":
        # Ends cleanly mid-answer: no finish_reason, no [DONE].
        frames = frames[: max(1, len(frames) - (2 if include_usage else 1))]
    elif req.stream_fault == "error-event":
        frames = frames[: max(1, len(frames) // 2)]
        frames.append(
            json.dumps(
                {
                    "error": {
                        "message": "The model failed while streaming.",
                        "type": "server_error",
                        "param": None,
                        "code": "server_error",
                    }
                }
            )
        )
    elif req.stream_fault != "no-done":
        frames.append("[DONE]")
    return await sse_response(req.http, [f"data: {frame}" for frame in frames])


ROUTES = (route("POST", "/chat/completions", create, stream="chat"),)
