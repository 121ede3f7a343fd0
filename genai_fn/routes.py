"""The HTTP API: one table of every path the function serves, and how each is checked.

The function serves OCI Generative AI's OpenAI-compatible API under whatever
prefix the API Gateway deployment gives it: a request for
`<prefix>/v1/<path>` is matched on `<path>` against `ROUTES`, checked as the
matching row says, and sent, signed by the function's identity, to
`<GENAI_BASE_URL>/<path>`. Besides those, `POST …/` is the simple route (one
prompt in, the text out; also what `fn invoke` reaches) and `GET …/health`
answers without calling the model.

Adding a route is one `Route(...)` line below, plus its tests. A row says:
  method, path     `{…}` segments are ids, checked against `ID`
  body             what the request carries (JSON object, multipart upload, nothing)
  model            the body names a model: allow-list and aliases apply
  tokens           the body's output-token fields: capped by GENAI_MAX_OUTPUT_TOKENS
  query            the query parameters passed on; any other is refused, since
                   the function signs what it sends with its own identity
  retry            IDEMPOTENT (reads, deletes), UNSENT_ONLY (creates) or GENERATE
                   (a model answer: idempotent when it stores nothing, see `retry`)
  stream           the event stream a `stream: true` answer is checked as
  resource         what a 404 on this path means ("no such conversation")
  plane            where OCI serves it: the inference endpoint, or the control plane
                   (vector store create/list/retrieve/update/delete)
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import answer_fields, errors, retry, streams
from .deadline import Budget
from .http import JSON_TYPES, Reply, Request
from .logs import LOGGED_TEXT_LIMIT, CallRecord
from .service import Service
from .settings import Settings
from .upstream import Answer, Outbound

#: A resource id: OpenAI's (resp_…, conv_…, file-…) or an OCID.
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}$")
MULTIPART = "multipart/form-data"
SIMPLE_FIELDS = {"input", "instructions", "model", "previous_response_id", "max_output_tokens", "temperature"}
SIMPLE_TYPES = (*JSON_TYPES, "text/plain")

GENERATE = "generate"  # a retry rule resolved per request (see `_retry_rule`)
_PAGE = frozenset({"after", "before", "limit", "order"})
_INCLUDE = frozenset({"include", "include[]"})


class Body(enum.Enum):
    NONE = "none"
    JSON = "json"
    #: A multipart upload, or a JSON body (containers accept either for a file).
    UPLOAD = "upload"


class Plane(enum.Enum):
    INFERENCE = "inference"
    CONTROL = "control"


@dataclass(frozen=True)
class Route:
    """One row of the table: a method on a path, and everything the function checks on it."""

    method: str
    path: str
    body: Body = Body.NONE
    model: bool = False
    tokens: tuple[str, ...] = ()
    query: frozenset[str] = frozenset()
    retry: retry.Rule | str = retry.Rule.IDEMPOTENT
    stream: streams.Kind | None = None
    resource: str = ""
    plane: Plane = Plane.INFERENCE

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


_IDEM = retry.Rule.IDEMPOTENT
_CREATE = retry.Rule.UNSENT_ONLY

# Sources for what OCI serves: docs/api.md (one Oracle page per family).
#: Also what the simple route sends.
RESPONSES_CREATE = Route(
    "POST", "/responses", Body.JSON, model=True, tokens=("max_output_tokens",), retry=GENERATE,
    stream=streams.Kind.RESPONSES,
)  # fmt: skip

ROUTES: tuple[Route, ...] = (
    # Responses
    RESPONSES_CREATE,
    Route("GET", "/responses/{id}", query=_INCLUDE | {"starting_after", "include_obfuscation"}, resource="response"),
    Route("DELETE", "/responses/{id}", resource="response"),
    Route("GET", "/responses/{id}/input_items", query=_PAGE | _INCLUDE, resource="response"),
    Route("POST", "/responses/{id}/cancel", retry=_CREATE, resource="response"),
    # Chat Completions
    Route(
        "POST",
        "/chat/completions",
        Body.JSON,
        model=True,
        tokens=("max_tokens", "max_completion_tokens"),
        retry=GENERATE,
        stream=streams.Kind.CHAT,
    ),
    # Conversations and their items
    Route("POST", "/conversations", Body.JSON, retry=_CREATE),
    Route("GET", "/conversations/{id}", resource="conversation"),
    Route("POST", "/conversations/{id}", Body.JSON, resource="conversation"),
    Route("DELETE", "/conversations/{id}", resource="conversation"),
    Route("GET", "/conversations/{id}/items", query=_PAGE | _INCLUDE, resource="conversation"),
    Route("POST", "/conversations/{id}/items", Body.JSON, query=_INCLUDE, retry=_CREATE, resource="conversation"),
    Route("GET", "/conversations/{id}/items/{item}", query=_INCLUDE, resource="conversation item"),
    Route("DELETE", "/conversations/{id}/items/{item}", resource="conversation item"),
    # Files
    Route("POST", "/files", Body.UPLOAD, retry=_CREATE),
    Route("GET", "/files", query=_PAGE | {"purpose"}),
    Route("GET", "/files/{id}", resource="file"),
    Route("DELETE", "/files/{id}", resource="file"),
    Route("GET", "/files/{id}/content", resource="file"),
    # Vector stores: the stores themselves on the control plane, their files and search on inference
    Route("POST", "/vector_stores", Body.JSON, retry=_CREATE, plane=Plane.CONTROL),
    Route("GET", "/vector_stores", query=_PAGE, plane=Plane.CONTROL),
    Route("GET", "/vector_stores/{id}", resource="vector store", plane=Plane.CONTROL),
    Route("POST", "/vector_stores/{id}", Body.JSON, resource="vector store", plane=Plane.CONTROL),
    Route("DELETE", "/vector_stores/{id}", resource="vector store", plane=Plane.CONTROL),
    Route("POST", "/vector_stores/{id}/files", Body.JSON, retry=_CREATE, resource="vector store"),
    Route("GET", "/vector_stores/{id}/files", query=_PAGE | {"filter"}, resource="vector store"),
    Route("GET", "/vector_stores/{id}/files/{file}", resource="vector store file"),
    Route("POST", "/vector_stores/{id}/files/{file}", Body.JSON, resource="vector store file"),
    Route("DELETE", "/vector_stores/{id}/files/{file}", resource="vector store file"),
    Route("POST", "/vector_stores/{id}/search", Body.JSON, retry=_IDEM, resource="vector store"),
    Route("POST", "/vector_stores/{id}/file_batches", Body.JSON, retry=_CREATE, resource="vector store"),
    Route("GET", "/vector_stores/{id}/file_batches/{batch}", resource="file batch"),
    Route("POST", "/vector_stores/{id}/file_batches/{batch}/cancel", retry=_CREATE, resource="file batch"),
    Route("GET", "/vector_stores/{id}/file_batches/{batch}/files", query=_PAGE | {"filter"}, resource="file batch"),
    # Containers and their files
    Route("POST", "/containers", Body.JSON, retry=_CREATE),
    Route("GET", "/containers", query=_PAGE),
    Route("GET", "/containers/{id}", resource="container"),
    Route("DELETE", "/containers/{id}", resource="container"),
    Route("POST", "/containers/{id}/files", Body.UPLOAD, retry=_CREATE, resource="container"),
    Route("GET", "/containers/{id}/files", query=_PAGE, resource="container"),
    Route("GET", "/containers/{id}/files/{file}", resource="container file"),
    Route("DELETE", "/containers/{id}/files/{file}", resource="container file"),
    Route("GET", "/containers/{id}/files/{file}/content", resource="container file"),
)

#: OpenAI paths OCI does not serve (not in Oracle's documentation): a 404 that says so.
NOT_OFFERED: dict[str, str] = {
    "/responses/input_tokens": "Counting input tokens (POST /responses/input_tokens)",
    "/responses/compact": "Compacting a response (POST /responses/compact)",
    "/embeddings": "Embeddings on the OpenAI-compatible base (OCI serves them through its own API)",
    "/completions": "The legacy Completions API",
    "/uploads": "Multipart uploads (/uploads)",
}


def dispatch(request: Request, service: Service, record: CallRecord) -> Reply:
    """Answer `request`, or raise `ApiError`."""
    if not request.through_gateway or request.path.endswith("/"):
        record.route = "simple"
        _require_method(request, ("POST",))
        return simple(request, service, record)
    api_path = _api_path(request.path)
    if api_path is None or api_path == "/health":
        if request.path.rsplit("/", 1)[-1] == "health":
            record.route = "health"
            _require_method(request, ("GET",))
            return health(service)
        raise errors.unknown_route(request.path[:200])
    if api_path == "/models" or api_path.startswith("/models/"):
        record.route = "models"
        _require_method(request, ("GET",))
        return models(service, api_path)
    route = match(request.method, api_path)
    record.route = route.name
    return passthrough(route, api_path, request, service, record)


def match(method: str, api_path: str) -> Route:
    """The row for `method` on `api_path` (ids checked), or the 404/405 that says why there is none."""
    if api_path in NOT_OFFERED:
        raise errors.not_offered(NOT_OFFERED[api_path])
    segments = api_path.strip("/").split("/")
    methods = []
    for route in ROUTES:
        template = route.path.strip("/").split("/")
        if len(template) != len(segments):
            continue
        if all(t == s or (t.startswith("{") and s) for t, s in zip(template, segments, strict=True)):
            if route.method == method:
                _check_ids(template, segments)
                return route
            methods.append(route.method)
    if methods:
        raise errors.method_not_allowed(method, tuple(dict.fromkeys(methods)))
    raise errors.unknown_route(api_path[:200])


def passthrough(route: Route, api_path: str, request: Request, service: Service, record: CallRecord) -> Reply:
    """Check the request as its row says, send it signed, and pass the answer back as it came."""
    settings, upstream = service.require()
    content, content_type, payload, capped = _request_body(route, request, settings, record, service.log_prompts)
    out = Outbound(
        method=route.method,
        path=api_path,
        retry_rule=_retry_rule(route, payload),
        content=content,
        content_type=content_type,
        params=_query(route, request),
        stream=route.stream if payload.get("stream") is True else None,
        resource=route.resource if "{" in route.path else "",
        control_plane=route.plane is Plane.CONTROL,
    )
    answer = upstream.send(out, _budget(request, settings), record)
    _record_answer(record, route, answer)
    headers = {"Content-Type": answer.content_type, **_upstream_ref(record), **capped}
    if answer.ending is not None:
        headers["Cache-Control"] = "no-cache"
    return Reply(answer.status, answer.content, headers)


def health(service: Service) -> Reply:
    """Anonymous: says the function is up and configured, nothing about how."""
    service.require()
    return Reply.json(200, {"status": "ok"})


def models(service: Service, api_path: str) -> Reply:
    """GET …/models and …/models/{id}, answered from the allow-list and aliases.

    Oracle documents no /models on the OpenAI-compatible base, and the names a
    client may use here are this deployment's choice anyway (GENAI_ALLOWED_MODELS,
    GENAI_MODEL_ALIASES): the function answers itself, without a model call.
    """
    settings, _ = service.require()
    names = settings.served_models()
    if api_path == "/models":
        return Reply.json(200, {"object": "list", "data": [_model_object(settings, n) for n in names]})
    name = api_path[len("/models/") :]
    if name not in names and settings.resolve_model(name) is None:
        raise errors.model_not_found(name)
    return Reply.json(200, _model_object(settings, name))


def simple(request: Request, service: Service, record: CallRecord) -> Reply:
    """One prompt in, the text out: for curl, scripts, `fn invoke` and people without an OpenAI SDK.

    The request becomes a Responses create and takes the same path as every other route.
    """
    settings, upstream = service.require()
    _check_size(request, settings)
    content_type = request.content_type
    if not request.through_gateway:
        # fn invoke and the OCI SDK send no meaningful content type: go by the body.
        content_type = "application/json" if request.body.lstrip()[:1] == b"{" else "text/plain"
    if content_type in JSON_TYPES:
        fields = _json_object(request, settings)
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
            "Use …/v1/responses for the full Responses API.",
            param=unknown[0],
        )
    if not isinstance(fields.get("input"), str):
        raise errors.bad_request("'input' must be a string.", param="input")
    for name in ("instructions", "previous_response_id"):
        if name in fields and not isinstance(fields[name], str):
            raise errors.bad_request(f"'{name}' must be a string.", param=name)
    route = RESPONSES_CREATE
    capped = _check_generation(route, fields, settings, record, service.log_prompts)
    out = Outbound(
        "POST",
        route.path,
        retry_rule=_retry_rule(route, fields),
        content=_dumps(fields),
        content_type="application/json",
    )
    answer = upstream.send(out, _budget(request, settings), record)
    result = _record_answer(record, route, answer, text_limit=answer_fields.SIMPLE_TEXT_LIMIT)
    if not result.complete or result.output_text is None:
        raise errors.upstream_malformed(record.opc_request_id, "an answer the simple route cannot read its text from")
    if result.text_cut:
        raise errors.simple_text_too_long(answer_fields.SIMPLE_TEXT_LIMIT, record.opc_request_id)
    usage = (result.input_tokens, result.output_tokens, result.total_tokens)
    return Reply.json(
        200,
        {
            "id": result.id,
            "model": result.model,
            "output_text": result.output_text,
            "usage": dict(zip(("input_tokens", "output_tokens", "total_tokens"), usage, strict=True))
            if any(n is not None for n in usage)
            else None,
        },
        {**_upstream_ref(record), **capped},
    )


# -- checks -------------------------------------------------------------------


def _api_path(path: str) -> str | None:
    """The OpenAI path after the first `/v1/` segment, or None for a path outside the API."""
    _, sep, tail = path.partition("/v1/")
    if not sep:
        return None
    return "/" + tail.strip("/") if tail.strip("/") else None


def _require_method(request: Request, allowed: tuple[str, ...]) -> None:
    if request.method not in allowed:
        raise errors.method_not_allowed(request.method, allowed)


def _check_ids(template: Sequence[str], segments: Sequence[str]) -> None:
    for name, value in zip(template, segments, strict=True):
        if name.startswith("{") and not ID.match(value):
            raise errors.bad_request(f"{value[:80]!r} is not a valid id.", param=name.strip("{}"))


def _query(route: Route, request: Request) -> list[tuple[str, str]]:
    unknown = sorted(set(request.query) - route.query)
    if unknown:
        allowed = ", ".join(sorted(route.query)) or "none"
        raise errors.bad_request(
            f"Query parameter {unknown[0][:60]!r} is not passed on by {route.name}; allowed: {allowed}.",
            param=unknown[0][:60],
        )
    return [(name, value) for name, values in request.query.items() for value in values]


def _request_body(
    route: Route, request: Request, settings: Settings, record: CallRecord, log_prompts: bool
) -> tuple[bytes | None, str, dict[str, Any], dict[str, str]]:
    """(bytes to send, their content type, the parsed JSON or {}, headers saying what was capped)."""
    if route.body is Body.NONE:
        if request.body.strip():
            raise errors.bad_request(f"{route.name} takes no request body.")
        return None, "", {}, {}
    _check_size(request, settings)
    if route.body is Body.UPLOAD and request.content_type == MULTIPART:
        # Passed on byte for byte, boundary included; the service checks the parts.
        return request.body, request.headers.get("content-type", MULTIPART), {}, {}
    accepted = (*JSON_TYPES, MULTIPART) if route.body is Body.UPLOAD else JSON_TYPES
    if request.content_type not in JSON_TYPES:
        raise errors.unsupported_media_type(request.content_type, accepted)
    payload = _json_object(request, settings)
    capped: dict[str, str] = {}
    changed = False
    if route.model:
        before = dict((k, payload.get(k)) for k in ("model", *route.tokens))
        capped = _check_generation(route, payload, settings, record, log_prompts)
        changed = any(payload.get(k) != v for k, v in before.items())
    # Unchanged bodies go on as the client sent them: no second copy, byte for byte.
    return (_dumps(payload) if changed else request.body), "application/json", payload, capped


def _check_generation(
    route: Route, payload: dict[str, Any], settings: Settings, record: CallRecord, log_prompts: bool
) -> dict[str, str]:
    """Model, output tokens and basic shape of a request for a model answer; the cap headers, if any."""
    requested = payload.get("model", settings.default_model)
    if not isinstance(requested, str) or not requested:
        raise errors.bad_request("'model' must be a non-empty string.", param="model")
    model = settings.resolve_model(requested)
    if model is None:
        names = ", ".join(settings.served_models())
        raise errors.bad_request(
            f"Model {requested[:100]!r} is not allowed here; allowed: {names} "
            "(GENAI_ALLOWED_MODELS, aliases from GENAI_MODEL_ALIASES).",
            param="model",
            code="model_not_allowed",
        )
    payload["model"] = model
    record.model = model

    if route.stream is streams.Kind.CHAT:
        if not isinstance(payload.get("messages"), list) or not payload["messages"]:
            raise errors.bad_request("'messages' must be a non-empty list.", param="messages")
        if log_prompts:
            record.prompt = _prompt_text(payload["messages"])
    else:
        _check_input(payload)
        if log_prompts:
            record.prompt = _prompt_text(payload.get("input"))

    capped: dict[str, str] = {}
    present = [name for name in route.tokens if payload.get(name) is not None]
    for name in present:
        tokens = payload[name]
        if not _is_int(tokens) or tokens < 1:
            raise errors.bad_request(f"'{name}' must be a positive integer.", param=name)
        if tokens > settings.max_output_tokens:
            payload[name] = settings.max_output_tokens
            capped["X-Output-Tokens-Capped"] = f"{name}={settings.max_output_tokens} (asked {tokens})"
    if not present and settings.default_output_tokens:
        payload[route.tokens[0]] = settings.default_output_tokens

    if payload.get("temperature") is not None:
        t = payload["temperature"]
        if not _is_number(t) or not 0 <= t <= 2:
            raise errors.bad_request("'temperature' must be a number from 0 to 2.", param="temperature")
    if payload.get("stream") is not None and not isinstance(payload["stream"], bool):
        raise errors.bad_request("'stream' must be true or false.", param="stream")
    return capped


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


def _retry_rule(route: Route, payload: dict[str, Any]) -> retry.Rule:
    if isinstance(route.retry, retry.Rule):
        return route.retry
    # A model answer that is not stored creates nothing: repeating it is safe.
    stores = payload.get("store", route.stream is streams.Kind.RESPONSES) is not False or bool(
        payload.get("conversation") or payload.get("background")
    )
    return retry.Rule.UNSENT_ONLY if stores else retry.Rule.IDEMPOTENT


def _check_size(request: Request, settings: Settings) -> None:
    if len(request.body) > settings.max_body_bytes:
        raise errors.payload_too_large(len(request.body), settings.max_body_bytes)


def _json_object(request: Request, settings: Settings) -> dict[str, Any]:
    _check_size(request, settings)
    if not request.body.strip():
        raise errors.bad_request("The request body is empty; send a JSON object.", code="invalid_json")
    payload = request.json_body()
    if not isinstance(payload, dict):
        raise errors.bad_request("The request body must be a JSON object.", code="invalid_json")
    return payload


def _budget(request: Request, settings: Settings) -> Budget:
    return Budget.from_fn_deadline(request.deadline, settings.deadline_margin_s)


# -- the answer ---------------------------------------------------------------


def _record_answer(
    record: CallRecord, route: Route, answer: Answer, *, text_limit: int = LOGGED_TEXT_LIMIT
) -> answer_fields.Fields:
    """Id, usage and output text of a model answer for the log line, read with bounds (`answer_fields`)."""
    try:
        if answer.ending is not None:
            if answer.ending.final is None:
                return answer_fields.Fields(complete=False)
            fields = answer_fields.read(answer.content, answer.ending.final, text_limit=text_limit)
        elif answer.media_type != "application/json":
            # Files of any flavour (jsonl, json-seq…) and other media pass as they came, unread.
            return answer_fields.Fields(complete=False)
        elif not route.model:
            if not route.path.endswith("/content"):  # a file's content is never read
                answer_fields.check_whole(answer.content)
            return answer_fields.Fields(complete=False)
        else:
            fields = answer_fields.read(answer.content, text_limit=text_limit)
    except answer_fields.Malformed:
        raise errors.upstream_malformed(record.opc_request_id) from None
    if route.model:
        record.response_id = fields.id or ""
        record.input_tokens, record.output_tokens = fields.input_tokens, fields.output_tokens
        record.output = fields.output_text
    return fields


def _model_object(settings: Settings, name: str) -> dict[str, Any]:
    target = settings.model_aliases.get(name, name)
    return {"id": name, "object": "model", "created": 0, "owned_by": target.split(".", 1)[0]}


def _prompt_text(value: Any) -> str | None:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)[:2000]


def _upstream_ref(record: CallRecord) -> dict[str, str]:
    return {"X-Upstream-Request-Id": record.opc_request_id} if record.opc_request_id else {}


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
