"""The HTTP API: which path does what, and the checks on each request.

Routes are recognised by the end of the path, so the function serves whatever
prefix the API Gateway deployment puts in front of it (`/genai/v1/responses`,
`/v1/responses`, ...):

    POST    …/responses        OpenAI Responses API create (JSON or a buffered SSE stream)
    GET     …/responses/{id}   retrieve a stored response
    DELETE  …/responses/{id}   delete a stored response
    POST    …/                 the simple route: {"input": "..."} or plain text → {"output_text": ...}
    GET     …/health           configuration summary, no model call

A direct invocation (`fn invoke`, no gateway) is the simple route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from . import errors
from .deadline import Budget
from .http import JSON_TYPES, Reply, Request
from .logs import CallRecord
from .service import Service
from .settings import Settings

_RESPONSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}$")
SIMPLE_FIELDS = {"input", "instructions", "model", "previous_response_id", "max_output_tokens", "temperature"}
SIMPLE_TYPES = (*JSON_TYPES, "text/plain")
#: The events that end a Responses API stream, each with the whole response.
FINAL_EVENTS = (b'"response.completed"', b'"response.incomplete"', b'"response.failed"')

Handler = Callable[[Request, Service, CallRecord, str], Reply]


def dispatch(request: Request, service: Service, record: CallRecord) -> Reply:
    """Answer `request`, or raise `ApiError`."""
    route, response_id = match(request)
    record.route = route
    allowed = METHODS[route]
    if request.method not in allowed:
        raise errors.method_not_allowed(request.method, tuple(allowed))
    return allowed[request.method](request, service, record, response_id)


def match(request: Request) -> tuple[str, str]:
    """The route name and, for …/responses/{id}, the id."""
    if not request.through_gateway:
        return "simple", ""
    path = request.path
    if path.endswith("/"):
        return "simple", ""
    head, _, last = path.rpartition("/")
    if last == "responses":
        return "responses", ""
    if last == "health":
        return "health", ""
    if head.endswith("/responses") or head == "responses":
        if not _RESPONSE_ID.match(last):
            raise errors.bad_request(f"{last[:80]!r} is not a valid response id.", param="response_id")
        return "response", last
    raise errors.unknown_route(path[:200])


def health(request: Request, service: Service, record: CallRecord, _: str) -> Reply:
    settings, upstream = service.require()
    return Reply.json(200, {"status": "ok", **settings.summary(), "auth_mode": upstream.auth_mode()})


def create_response(request: Request, service: Service, record: CallRecord, _: str) -> Reply:
    settings, upstream = service.require()
    payload = _json_object(request, settings, accepted=JSON_TYPES)
    _check_create(payload, settings)
    record.model = payload["model"]
    if service.log_prompts:
        record.prompt = _prompt_text(payload.get("input"))

    answer = upstream.raw("POST", "/responses", _budget(request, settings), record, body=payload)
    content_type = answer.headers.get("content-type", "application/json")
    streamed = content_type.startswith("text/event-stream")
    if not _record_usage(record, answer.content, streamed=streamed) and not streamed:
        raise errors.upstream_malformed(record.opc_request_id)
    headers = {"Content-Type": content_type, **_upstream_ref(record)}
    if content_type.startswith("text/event-stream"):
        headers["Cache-Control"] = "no-cache"
    return Reply(answer.status_code, answer.content, headers)


def retrieve_response(request: Request, service: Service, record: CallRecord, response_id: str) -> Reply:
    return _by_id("GET", request, service, record, response_id)


def delete_response(request: Request, service: Service, record: CallRecord, response_id: str) -> Reply:
    return _by_id("DELETE", request, service, record, response_id)


def simple(request: Request, service: Service, record: CallRecord, _: str) -> Reply:
    """One prompt in, the text out: for curl, scripts and people without an OpenAI SDK."""
    settings, upstream = service.require()
    _check_size(request, settings)
    content_type = request.content_type
    if not request.through_gateway:
        # fn invoke and the OCI SDK send no meaningful content type: go by the body.
        content_type = "application/json" if request.body.lstrip()[:1] == b"{" else "text/plain"
    if content_type in JSON_TYPES:
        fields = _json_object(request, settings, accepted=(content_type,))
    elif content_type in ("text/plain", ""):
        try:
            fields = {"input": request.body.decode("utf-8")}
        except UnicodeDecodeError:
            raise errors.bad_request("The request body is not valid UTF-8.", param="input") from None
    else:
        raise errors.unsupported_media_type(content_type, SIMPLE_TYPES)

    unknown = sorted(set(fields) - SIMPLE_FIELDS)
    if unknown:
        raise errors.bad_request(
            f"Unknown field(s) {', '.join(unknown)}; the simple route takes {', '.join(sorted(SIMPLE_FIELDS))}. "
            "Use …/responses for the full Responses API.",
            param=unknown[0],
        )
    if not isinstance(fields.get("input"), str):
        raise errors.bad_request("'input' must be a string.", param="input")
    for name in ("instructions", "previous_response_id"):
        if name in fields and not isinstance(fields[name], str):
            raise errors.bad_request(f"'{name}' must be a string.", param=name)
    _check_create(fields, settings)
    record.model = fields["model"]
    if service.log_prompts:
        record.prompt = fields["input"]

    def attempt(timeout: float) -> Any:
        return upstream.client().responses.with_raw_response.create(**fields, timeout=timeout)

    raw = upstream.within_budget(attempt, _budget(request, settings), record)
    record.opc_request_id = raw.headers.get("opc-request-id", "")
    try:
        result = raw.parse()
    except ValueError:  # not JSON: the same answer as the other routes give, not an internal error
        raise errors.upstream_malformed(record.opc_request_id) from None
    usage = result.usage
    record.response_id = result.id
    record.input_tokens = usage.input_tokens if usage else None
    record.output_tokens = usage.output_tokens if usage else None
    record.output = result.output_text
    return Reply.json(
        200,
        {
            "id": result.id,
            "model": result.model,
            "output_text": result.output_text,
            "usage": usage.model_dump(include={"input_tokens", "output_tokens", "total_tokens"}) if usage else None,
        },
        _upstream_ref(record),
    )


METHODS: dict[str, dict[str, Handler]] = {
    "responses": {"POST": create_response},
    "response": {"GET": retrieve_response, "DELETE": delete_response},
    "simple": {"POST": simple},
    "health": {"GET": health},
}


def _by_id(method: str, request: Request, service: Service, record: CallRecord, response_id: str) -> Reply:
    settings, upstream = service.require()
    record.response_id = response_id
    params = {k: v[-1] if len(v) == 1 else v for k, v in request.query.items()}
    answer = upstream.raw(
        method,
        f"/responses/{response_id}",
        _budget(request, settings),
        record,
        params=params,
        resource_lookup=True,
    )
    content_type = answer.headers.get("content-type", "application/json")
    if content_type.startswith("application/json") and not _loads(answer.content):
        raise errors.upstream_malformed(record.opc_request_id)
    return Reply(answer.status_code, answer.content, {"Content-Type": content_type, **_upstream_ref(record)})


def _check_size(request: Request, settings: Settings) -> None:
    if len(request.body) > settings.max_body_bytes:
        raise errors.payload_too_large(len(request.body), settings.max_body_bytes)


def _json_object(request: Request, settings: Settings, *, accepted: tuple[str, ...]) -> dict[str, Any]:
    _check_size(request, settings)
    if request.content_type and request.content_type not in accepted and request.through_gateway:
        raise errors.unsupported_media_type(request.content_type, JSON_TYPES)
    if not request.body.strip():
        raise errors.bad_request("The request body is empty; send a JSON object.", code="invalid_json")
    payload = request.json_body()
    if not isinstance(payload, dict):
        raise errors.bad_request("The request body must be a JSON object.", code="invalid_json")
    return payload


def _check_create(payload: dict[str, Any], settings: Settings) -> None:
    """Validate the fields the function is responsible for; fill in defaults and caps."""
    model = payload.setdefault("model", settings.default_model)
    if not isinstance(model, str) or not model:
        raise errors.bad_request("'model' must be a non-empty string.", param="model")
    if not settings.model_allowed(model):
        allowed = ", ".join(sorted(settings.allowed_models or ()))
        raise errors.bad_request(
            f"Model {model[:100]!r} is not allowed here; allowed: {allowed} (GENAI_ALLOWED_MODELS).",
            param="model",
            code="model_not_allowed",
        )
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

    tokens = payload.get("max_output_tokens")
    if tokens is None:
        payload["max_output_tokens"] = settings.max_output_tokens
    elif not _is_int(tokens) or tokens < 1:
        raise errors.bad_request("'max_output_tokens' must be a positive integer.", param="max_output_tokens")
    else:
        payload["max_output_tokens"] = min(tokens, settings.max_output_tokens)

    if "temperature" in payload and payload["temperature"] is not None:
        t = payload["temperature"]
        if not _is_number(t) or not 0 <= t <= 2:
            raise errors.bad_request("'temperature' must be a number from 0 to 2.", param="temperature")
    if "stream" in payload and not isinstance(payload["stream"], bool) and payload["stream"] is not None:
        raise errors.bad_request("'stream' must be true or false.", param="stream")


def _budget(request: Request, settings: Settings) -> Budget:
    return Budget.from_fn_deadline(request.deadline, settings.deadline_margin_s)


def _record_usage(record: CallRecord, content: bytes, *, streamed: bool) -> bool:
    """Pick id, usage and output text out of the upstream answer, for the log line.

    False when the answer is not the JSON object (or event stream) it should be.
    """
    final: Any = None
    if streamed:
        for line in reversed(content.splitlines()):
            # The last event carries the response: completed, or incomplete when max_output_tokens cut it short.
            if line.startswith(b"data:") and any(event in line for event in FINAL_EVENTS):
                final = _loads(line[5:]).get("response")
                break
    else:
        final = _loads(content)
    if not isinstance(final, dict) or not final:
        return False
    record.response_id = str(final.get("id", ""))
    usage = final.get("usage") or {}
    if isinstance(usage, dict):
        record.input_tokens = usage.get("input_tokens")
        record.output_tokens = usage.get("output_tokens")
    record.output = _output_text(final.get("output"))
    return True


def _output_text(output: Any) -> str | None:
    if not isinstance(output, list):
        return None
    texts = [
        part.get("text", "")
        for item in output
        if isinstance(item, dict) and item.get("type") == "message"
        for part in item.get("content") or []
        if isinstance(part, dict) and part.get("type") == "output_text"
    ]
    return "".join(texts)


def _prompt_text(value: Any) -> str | None:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)[:2000]


def _upstream_ref(record: CallRecord) -> dict[str, str]:
    return {"X-Upstream-Request-Id": record.opc_request_id} if record.opc_request_id else {}


def _loads(data: bytes) -> Any:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
