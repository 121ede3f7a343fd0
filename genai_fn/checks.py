"""The checks a request's body, query and ids pass before anything is sent, as a row (genai_fn/route.py) asks.

Each refusal is an `ApiError` in OpenAI's shape (genai_fn/errors.py) that says
what to change. A handler reaches the ones it needs through its `Call`
(genai_fn/call.py: `json_body`, `model`); `handlers.passthrough` runs
`request_body` for every row without a handler of its own.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import clients, errors, streams
from .families import Family
from .http import JSON_TYPES, Request
from .logs import CallRecord
from .route import ID, Body, Route
from .settings import Settings

if TYPE_CHECKING:
    from .call import Call

MULTIPART = "multipart/form-data"
#: The log line's `model` for a refused model name: the client's string is not logged, since the line's
#: model becomes a metric dimension (usage_metrics/), and names a client chooses would make one each.
REFUSED_MODEL = "(refused)"


def check_ids(template: str, path: str) -> None:
    for name, value in zip(template.split("/"), path.split("/"), strict=True):
        if name.startswith("{") and not ID.match(value):
            raise errors.bad_request(f"{value[:80]!r} is not a valid id.", param=name.strip("{}"))


def query(route: Route, request: Request) -> list[tuple[str, str]]:
    """The query parameters to pass on, or the 400 naming one the row does not pass on."""
    unknown = sorted(set(request.query) - route.query)
    if unknown:
        allowed = ", ".join(sorted(route.query)) or "none"
        raise errors.bad_request(
            f"Query parameter {unknown[0][:60]!r} is not passed on by {route.name}; allowed: {allowed}.",
            param=unknown[0][:60],
        )
    return [(name, value) for name, values in request.query.items() for value in values]


def streamed(route: Route, request: Request, payload: dict[str, Any]) -> bool:
    """Did the request ask for an event stream: `"stream": true` in its body, or `?stream=true` without one."""
    if route.stream is None:
        return False
    if route.body is Body.NONE:
        return request.query.get("stream", [""])[-1].lower() == "true"
    return payload.get("stream") is True


def check_size(request: Request, settings: Settings) -> None:
    if len(request.body) > settings.max_body_bytes:
        raise errors.payload_too_large(len(request.body), settings.max_body_bytes)


def json_object(request: Request, settings: Settings) -> dict[str, Any]:
    """The body as a JSON object, within the size limit (whatever its declared type), or the 400/413 saying why not."""
    check_size(request, settings)
    if not request.body.strip():
        raise errors.bad_request("The request body is empty; send a JSON object.", code="invalid_json")
    payload = request.json_body()
    if not isinstance(payload, dict):
        raise errors.bad_request("The request body must be a JSON object.", code="invalid_json")
    return payload


def request_body(call: Call) -> tuple[bytes | None, str, dict[str, Any], dict[str, str], bool]:
    """(bytes to send, their content type, the parsed JSON or {}, headers saying what was capped,
    whether the answer's usage-only stream chunk is for the function alone: the client did not ask for it)."""
    route, request, settings = call.route, call.request, call.settings
    if route.body is Body.NONE:
        if request.body.strip():
            raise errors.bad_request(f"{route.name} takes no request body.")
        return None, "", {}, {}, False
    check_size(request, settings)
    if route.body is Body.UPLOAD and request.content_type == MULTIPART:
        # Passed on byte for byte, boundary included; the service checks the parts.
        return request.body, request.headers.get("content-type", MULTIPART), {}, {}, False
    accepted = (*JSON_TYPES, MULTIPART) if route.body is Body.UPLOAD else JSON_TYPES
    if request.content_type not in JSON_TYPES:
        raise errors.unsupported_media_type(request.content_type, accepted)
    payload = json_object(request, settings)
    capped: dict[str, str] = {}
    changed = hide_usage = False
    if route.model:
        before = dict((k, payload.get(k)) for k in ("model", *route.tokens))
        capped = check_generation(call, route, payload)
        changed = any(payload.get(k) != v for k, v in before.items())
        if route.stream is streams.Kind.CHAT and payload.get("stream") is True:
            hide_usage = streams.ask_chat_usage(payload)
            changed = changed or hide_usage
    # Unchanged bodies go on as the client sent them: no second copy, byte for byte.
    return (dumps(payload) if changed else request.body), "application/json", payload, capped, hide_usage


def check_generation(call: Call, route: Route, payload: dict[str, Any]) -> dict[str, str]:
    """Model, output tokens and basic shape of a request for a model answer (`route`'s); the cap headers, if any."""
    settings, policy, record = call.settings, call.policy, call.record
    payload["model"] = call.model(payload.get("model", settings.default_model))

    if route.family is Family.CHAT:
        if not isinstance(payload.get("messages"), list) or not payload["messages"]:
            raise errors.bad_request("'messages' must be a non-empty list.", param="messages")
        if call.service.log_prompts:
            record.prompt = _prompt_text(payload["messages"])
    else:
        _check_input(payload)
        if call.service.log_prompts:
            record.prompt = _prompt_text(payload.get("input"))

    capped: dict[str, str] = {}
    cap = output_cap(settings, policy)
    present = [name for name in route.tokens if payload.get(name) is not None]
    for name in present:
        tokens = payload[name]
        if not is_int(tokens) or tokens < 1:
            raise errors.bad_request(f"'{name}' must be a positive integer.", param=name)
        if tokens > cap:
            payload[name] = cap
            capped["X-Output-Tokens-Capped"] = f"{name}={cap} (asked {tokens})"
    client_cap = policy is not None and policy.max_output_tokens is not None
    if not present and route.default_tokens and (settings.default_output_tokens or client_cap):
        # Absent or null is no cap at all upstream: a capped client's cap is filled in, so it cannot be dodged.
        # The field the client named (null) is the one filled; else the route's own.
        name = next((n for n in route.tokens if n in payload), route.default_tokens)
        payload[name] = min(settings.default_output_tokens or cap, cap)
    _check_choices(payload, client_cap)

    if payload.get("temperature") is not None:
        t = payload["temperature"]
        if not _is_number(t) or not 0 <= t <= 2:
            raise errors.bad_request("'temperature' must be a number from 0 to 2.", param="temperature")
    if payload.get("stream") is not None and not isinstance(payload["stream"], bool):
        raise errors.bad_request("'stream' must be true or false.", param="stream")
    return capped


def resolve_model(requested: object, settings: Settings, policy: clients.Policy | None, record: CallRecord) -> str:
    """The model that answers for `requested` (an alias resolved), or the 400/404 a refused name gets.

    The log line's `model` becomes the model, or `REFUSED_MODEL` for a name refused.
    """
    if not isinstance(requested, str) or not requested:
        raise errors.bad_request("'model' must be a non-empty string.", param="model")
    model = settings.resolve_model(requested)
    if model is None:
        record.model = REFUSED_MODEL
        if policy is not None and policy.models is not None:  # it learns only what GET …/v1/models shows it
            raise errors.model_not_found(requested, _client_names(policy, settings), for_client=True)
        raise errors.model_not_found(requested, settings.served_models())
    if policy is not None and not clients.allows_model(policy, model, settings.resolve_model):
        record.model = REFUSED_MODEL
        raise errors.model_not_found(requested, _client_names(policy, settings), for_client=True)
    record.model = model
    return model


def models_for(policy: clients.Policy | None, settings: Settings) -> list[str]:
    """The served names (models and aliases) a client may use: what GET …/v1/models lists for it."""
    names = settings.served_models()
    if policy is None:
        return names
    return [n for n in names if clients.allows_model(policy, settings.resolve_model(n) or n, settings.resolve_model)]


def _client_names(policy: clients.Policy, settings: Settings) -> list[str]:
    """What a refusal tells a restricted client it may use: what GET …/v1/models lists, and its policy's names."""
    return sorted({*(policy.models or ()), *models_for(policy, settings)})


def output_cap(settings: Settings, policy: clients.Policy | None) -> int:
    """The most output tokens a call may ask for: the client's cap, else GENAI_MAX_OUTPUT_TOKENS."""
    if policy is not None and policy.max_output_tokens is not None:
        return policy.max_output_tokens  # never above the global cap (genai_fn/clients.py checks)
    return settings.max_output_tokens


def _check_choices(payload: dict[str, Any], client_cap: bool) -> None:
    """Chat's `n` asks for n answers, each up to the output cap: above 1, refused for a capped client."""
    n = payload.get("n")
    if n is None:
        return
    if not is_int(n) or n < 1:
        raise errors.bad_request("'n' must be a positive integer.", param="n")
    if n > 1 and client_cap:
        raise errors.bad_request(
            f"'n' is {n}: this client's output tokens are capped, so it may ask for one answer per call (n: 1).",
            param="n",
            code="n_not_allowed",
        )


def _check_input(payload: dict[str, Any]) -> None:
    if "input" in payload:
        value = payload["input"]
        if isinstance(value, str):
            if not value.strip():
                raise errors.bad_request("'input' is empty.", param="input")
        elif isinstance(value, list):
            if not value:
                raise errors.bad_request("'input' is an empty list.", param="input")
        else:
            raise errors.bad_request("'input' must be a string or a list of input items.", param="input")
    elif not any(k in payload for k in ("previous_response_id", "conversation", "prompt")):
        raise errors.bad_request("'input' is required.", param="input")


def _prompt_text(value: Any) -> str | None:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)[:2000]


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
