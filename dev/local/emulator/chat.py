"""Chat Completions: `POST /chat/completions`, JSON or server-sent events ending with `data: [DONE]`.

Deterministic like the Responses API, and decided by `model`: "Echo: <last
user message>" (newlines kept); with function tools a `tool_calls` answer
until the tool's result arrives in this turn (a `tool` message, or a user
message with an observation), then text that includes the result;
`response_format` json_schema or json_object gives JSON fitting the schema or
the prompt; `n` gives n choices; `max_completion_tokens`/`max_tokens` cap the
words, with finish_reason "length".
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .model import Turn, carried_results, cut, decide, results_this_turn, text_answer, tidy
from .state import State
from .table import route
from .wire import (
    Request,
    content_text,
    invalid,
    json_response,
    missing,
    new_id,
    now,
    sse_response,
    strip_marks,
)


def _turn(payload: dict[str, Any], messages: list[dict[str, Any]]) -> Turn:
    said = [(str(m.get("role", "")), content_text(m.get("content"))) for m in messages]
    users = [text for role, text in said if role == "user" and carried_results(role, text) is None]
    tools = [
        {"name": t["function"].get("name"), "parameters": t["function"].get("parameters")}
        for t in payload.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
    ]
    return Turn(
        question=tidy(users[-1]) if users else "",
        prompt="\n\n".join(text for role, text in said if role in ("system", "developer", "user")),
        results=results_this_turn(said),
        tools=[t for t in tools if isinstance(t["name"], str)],
        tool_choice=payload.get("tool_choice", "auto"),
    )


def _answer(payload: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    """The assistant message, its finish_reason and its prompt token count."""
    messages = [m for m in payload["messages"] if isinstance(m, dict)]
    prompt_tokens = sum(len(strip_marks(content_text(m.get("content"))).split()) for m in messages)
    turn = _turn(payload, messages)
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    call = decide(turn)
    if call is not None:
        function = {"name": call.name, "arguments": call.arguments}
        message["tool_calls"] = [{"id": new_id("call_"), "type": "function", "function": function}]
        return message, "tool_calls", prompt_tokens
    fmt = payload.get("response_format")
    answer = text_answer(turn, fmt if isinstance(fmt, dict) else {})
    cap = payload.get("max_completion_tokens", payload.get("max_tokens"))
    text, _, capped = cut(answer, cap)
    message["content"] = text
    return message, "length" if capped else "stop", prompt_tokens


def _completion_tokens(message: dict[str, Any]) -> int:
    if message.get("tool_calls"):
        return sum(len(c["function"]["arguments"].split()) for c in message["tool_calls"])
    return len((message.get("content") or "").split())


async def create(state: State, req: Request) -> web.StreamResponse:
    payload = req.payload
    model = state.check_model(payload)
    if not isinstance(payload.get("messages"), list) or not payload["messages"]:
        raise missing("messages")
    count = payload.get("n", 1)
    if count is None:
        count = 1
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 128:
        raise invalid("n", "Invalid value for 'n': must be an integer between 1 and 128.")
    choices: list[dict[str, Any]] = []
    for index in range(count):
        # Each choice is its own answer (its own tool call id), as OpenAI's are.
        message, finish, prompt_tokens = _answer(payload)
        choices.append({"index": index, "message": message, "finish_reason": finish, "logprobs": None})
    # OpenAI counts the prompt once and every choice's tokens.
    completion_tokens = sum(_completion_tokens(c["message"]) for c in choices)
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
        "choices": choices,
        "usage": usage,
    }
    if payload.get("stream") is True:
        include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
        return await _stream(req, body, include_usage)
    return json_response(body)


def chunks(completion: dict[str, Any], include_usage: bool) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` objects of a streamed answer, as OpenAI sends them."""
    base = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    if include_usage:
        base["usage"] = None
    out: list[dict[str, Any]] = []
    for choice in completion["choices"]:
        out += _choice_chunks(base, choice)
    if include_usage:
        out.append({**base, "choices": [], "usage": completion["usage"]})
    return out


def _choice_chunks(base: dict[str, Any], choice: dict[str, Any]) -> list[dict[str, Any]]:
    message, index = choice["message"], choice["index"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    out = [chunk({"role": "assistant", "content": "" if not message.get("tool_calls") else None})]
    for number, call in enumerate(message.get("tool_calls") or []):
        head = {
            "index": number,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        out += [
            chunk({"tool_calls": [head]}),
            chunk({"tool_calls": [{"index": number, "function": {"arguments": call["function"]["arguments"]}}]}),
        ]
    text = message.get("content") or ""
    out += [chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(text.split(" ")) if text]
    out.append(chunk({}, choice["finish_reason"]))
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
