"""The HTTP API: one table of every path the function answers, and how each is checked.

`ROUTES` is the one source of truth for the function's surface. Each row is a
method on a path relative to the API Gateway deployment's path prefix:
`/v1/<OpenAI path>` for the API (checked as the row says, then sent, signed by
the function's identity, to `<GENAI_BASE_URL>/<OpenAI path>`), `/` for the
simple route (one prompt in, the text out; also what `fn invoke` reaches) and
`/health`. Rows with a `handler` are answered by the function itself: the
simple route, health, the model list, and the OpenAI paths OCI does not offer
(`not_offered`: 404 `not_offered_by_oci`).

Generated from the rows, never written by hand (`make routes` rewrites them,
and tests/unit/test_route_table.py fails, naming the difference, while either
is stale; the generator is dev/routes_gen.py):
  terraform/routes.json  the gateway routes terraform/apigateway.tf builds, and
                         the routes the local gateway (dev/local/gateway.py) serves
  docs/api.md            the route-by-route table

Adding a route is one `Route(...)` row in `ROUTES`, the emulator's support for
it (dev/local/emulator/, for a path OCI serves), its tests, and `make routes`.
A new API family is also one `Family` member and its Oracle page in `PAGES`.

A row says:
  method, path    `{…}` segments are ids, checked against `ID`
  family          which API the row belongs to (`Family`): docs/api.md, and what a
                  per-client family restriction names
  handler         None: checked as below and sent on (`passthrough`); else the
                  function that answers, `(call: Call) -> Reply`: the row, the
                  route path, the request, the service, the log record and the
                  calling client with its policy (see `Call`, and `health`,
                  `models`, `not_offered`, `simple`)
  body            what the request carries (JSON object, multipart upload, nothing)
  model           the body names a model: allow-list and aliases apply
  tokens          the body's output-token fields: capped by GENAI_MAX_OUTPUT_TOKENS
  default_tokens  the one of `tokens` that GENAI_DEFAULT_OUTPUT_TOKENS fills in
                  when the request sets none of them ("" for none)
  query           the query parameters passed on; any other is refused, since
                  the function signs what it sends with its own identity
  repeat          when a failed attempt is tried again (`Repeat`)
  stream          the event stream a streamed answer is checked as (whole, or 502):
                  asked for with `"stream": true` in a JSON body, or with
                  `?stream=true` on a route without a body
  resource        what a 404 on this path means (`Resource`): code `<resource>_not_found`
  plane           where OCI serves it: the inference endpoint, or the control plane
                  (vector store create/list/retrieve/update/delete)
  anonymous       served without an API key (GET /health, on its own deployment)
  about           one line for docs/api.md: what a handler row answers, or what a
                  not-offered path is

How a request finds its row. The function is not told the deployment's prefix, so:
  - a direct invocation (`fn invoke`, not through the gateway) is the simple route;
  - a path with a `/v1/` segment is `/v1/` and what follows, one trailing `/`
    dropped (when the prefix has a `/v1/` of its own, the one that leads to a
    row). API Gateway's `{rest*}` also matches zero segments
    (https://docs.oracle.com/en-us/iaas/Content/APIGateway/Tasks/apigatewayaddingparamswildcards.htm),
    so `…/v1/responses/` reaches the function, and it means `/v1/responses`, as
    an OpenAI SDK user would expect;
  - a path whose last segment is `health` is `/health` (`…/v1/health` too: the
    health deployment routes `/health`, and an SDK user's base URL ends in `/v1`);
  - a path ending in `/` is the deployment root `/` (the gateway's only route
    outside `/v1/…` and `/health`), unless it has a `/v1/` with more after it.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import answer_fields, clients, errors, failover, limits, retry, streams, tenancy
from .deadline import Budget
from .families import PAGES, Family
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
#: The log line's `model` for a refused model name: the client's string is not logged, since the line's
#: model becomes a metric dimension (usage_metrics/), and names a client chooses would make one each.
REFUSED_MODEL = "(refused)"
#: The API's paths start here, under the deployment's prefix; what follows is the OpenAI path.
API_ROOT = "/v1"

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


class Repeat(enum.Enum):
    """When a failed upstream attempt is tried again (see `retry`)."""

    #: Reads, deletes, updates: after any transient failure.
    IDEMPOTENT = "idempotent"
    #: Creates: only after failures that show the service never acted on the request.
    UNSENT_ONLY = "unsent_only"
    #: A model answer: IDEMPOTENT when it stores nothing, else UNSENT_ONLY (decided per request).
    GENERATE = "generate"


class Resource(enum.Enum):
    """What a path's ids point at; the value is an identifier, used in error codes."""

    RESPONSE = "response"
    CONVERSATION = "conversation"
    CONVERSATION_ITEM = "conversation_item"
    FILE = "file"
    VECTOR_STORE = "vector_store"
    VECTOR_STORE_FILE = "vector_store_file"
    FILE_BATCH = "file_batch"
    CONTAINER = "container"
    CONTAINER_FILE = "container_file"


#: Answers a row itself: the call (`Call`: its row, request, client…) -> the reply.
Handler = Callable[["Call"], Reply]


@dataclass(frozen=True)
class Route:
    """One row of the table: a method on a path, and everything the function checks on it."""

    method: str
    path: str
    family: Family
    handler: Handler | None = None
    body: Body = Body.NONE
    model: bool = False
    tokens: tuple[str, ...] = ()
    default_tokens: str = ""
    query: frozenset[str] = frozenset()
    repeat: Repeat = Repeat.IDEMPOTENT
    stream: streams.Kind | None = None
    resource: Resource | None = None
    plane: Plane = Plane.INFERENCE
    anonymous: bool = False
    about: str = ""

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def upstream_path(self) -> str:
        """The OpenAI path: relative to the OpenAI-compatible base URL."""
        return self.path.removeprefix(API_ROOT)


@dataclass(frozen=True)
class Call:
    """One call as a handler gets it: its row, the request, and who is calling under which policy.

    `dispatch` builds it once the row is chosen and the client is resolved: a
    client the policy table refuses, or a family its policy leaves out, is
    answered with a 403 before any handler runs.
    """

    #: The table's row for the request.
    route: Route
    #: The request's path as the table writes it, ids filled in (`/v1/models/gpt-4o-mini`).
    path: str
    request: Request
    #: The container's settings and upstream client: `service.require()`, `service.send()`, `service.openai()`.
    service: Service
    #: The call's log line (genai_fn/logs.py): set what the call learns (model, response id, output).
    record: CallRecord
    #: The client the gateway named (X-GenAI-Client, genai_fn/clients.py); "" for an anonymous row or a
    #: direct invocation (`fn invoke`), which no gateway names.
    client: str = ""
    #: That client's policy (GENAI_CLIENT_POLICIES); None: the global settings apply (no policies
    #: configured, a direct invocation, an anonymous row, or settings that failed to load).
    policy: clients.Policy | None = None


# -- rows the function answers itself -------------------------------------------


def health(call: Call) -> Reply:
    """Anonymous: says the function is up and configured, nothing about how."""
    call.service.require()
    return Reply.json(200, {"status": "ok"})


def models(call: Call) -> Reply:
    """GET …/v1/models and …/v1/models/{id}, answered from the allow-list and aliases.

    Oracle documents no /models on the OpenAI-compatible base, and the names a
    client may use here are this deployment's choice anyway (GENAI_ALLOWED_MODELS,
    GENAI_MODEL_ALIASES): the function answers itself, without a model call.
    """
    settings, _ = call.service.require()
    names = settings.served_models()
    policy = call.policy
    if policy is not None:  # a client limited to some models sees those
        names = [
            n for n in names if clients.allows_model(policy, settings.resolve_model(n) or n, settings.resolve_model)
        ]
    if "{" not in call.route.path:
        return Reply.json(200, {"object": "list", "data": [_model_object(settings, n) for n in names]})
    name = call.path.rsplit("/", 1)[-1]
    resolved = settings.resolve_model(name)
    if (name not in names and resolved is None) or (
        policy is not None and not clients.allows_model(policy, resolved or name, settings.resolve_model)
    ):
        raise errors.model_not_found(name)
    return Reply.json(200, _model_object(settings, name))


def not_offered(call: Call) -> Reply:
    """A path OpenAI serves and OCI Generative AI does not: a 404 that says so."""
    raise errors.not_offered(call.route.about)


def simple(call: Call) -> Reply:
    """One prompt in, the text out: for curl, scripts, `fn invoke` and people without an OpenAI SDK.

    The request becomes a Responses create (`RESPONSES_CREATE`) and takes the same path as every other route.
    """
    request, service, record = call.request, call.service, call.record
    settings, _ = service.require()
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
    create = RESPONSES_CREATE
    capped = _check_generation(create, fields, settings, record, service.log_prompts, call.policy)
    out = Outbound(
        "POST",
        create.upstream_path,
        retry_rule=_retry_rule(create, fields),
        content=_dumps(fields),
        content_type="application/json",
        project=tenancy.scope(call.policy)[0],
    )
    budget = _budget(request, settings)
    with (spend := _spend(call, create, fields, settings, budget)):
        # Stored (the simple route sends no `store: false`): never fails over.
        answer = service.send(out, budget, record)
        result = _record_answer(record, create, answer, text_limit=answer_fields.SIMPLE_TEXT_LIMIT)
        if not result.complete or result.output_text is None:
            raise errors.upstream_malformed(
                record.opc_request_id, "an answer the simple route cannot read its text from"
            )
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
        {**_upstream_ref(record), **capped, **spend.headers},
    )


# -- the table -------------------------------------------------------------------

_IDEM = Repeat.IDEMPOTENT
_CREATE = Repeat.UNSENT_ONLY
_R = Family.RESPONSES
_CONV = Family.CONVERSATIONS
_FILES = Family.FILES
_VS = Family.VECTOR_STORES
_CNTR = Family.CONTAINERS

#: Also what the simple route sends.
RESPONSES_CREATE = Route(
    "POST", "/v1/responses", _R, body=Body.JSON, model=True, tokens=("max_output_tokens",),
    default_tokens="max_output_tokens", repeat=Repeat.GENERATE, stream=streams.Kind.RESPONSES,
)  # fmt: skip

# Sources for what OCI serves: docs/api.md (one Oracle page per family, `PAGES`).
ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/",
        Family.SIMPLE,
        simple,
        about="one prompt in (JSON or text), the text out; sent as a Responses create",
    ),
    Route("GET", "/health", Family.HEALTH, health, anonymous=True, about="up and configured; no model call"),
    # Responses
    RESPONSES_CREATE,
    Route(
        "GET",
        "/v1/responses/{id}",
        _R,
        query=_INCLUDE | {"starting_after", "include_obfuscation", "stream"},
        stream=streams.Kind.RESPONSES,
        resource=Resource.RESPONSE,
    ),
    Route("DELETE", "/v1/responses/{id}", _R, resource=Resource.RESPONSE),
    Route("GET", "/v1/responses/{id}/input_items", _R, query=_PAGE | _INCLUDE, resource=Resource.RESPONSE),
    Route("POST", "/v1/responses/{id}/cancel", _R, repeat=_CREATE, resource=Resource.RESPONSE),
    Route(
        "POST",
        "/v1/responses/input_tokens",
        _R,
        not_offered,
        about="Counting input tokens (POST /responses/input_tokens)",
    ),
    Route("POST", "/v1/responses/compact", _R, not_offered, about="Compacting a response (POST /responses/compact)"),
    # Chat Completions
    Route(
        "POST",
        "/v1/chat/completions",
        Family.CHAT,
        body=Body.JSON,
        model=True,
        tokens=("max_tokens", "max_completion_tokens"),
        default_tokens="max_tokens",
        repeat=Repeat.GENERATE,
        stream=streams.Kind.CHAT,
    ),
    # Conversations and their items
    Route("POST", "/v1/conversations", _CONV, body=Body.JSON, repeat=_CREATE),
    Route("GET", "/v1/conversations/{id}", _CONV, resource=Resource.CONVERSATION),
    Route("POST", "/v1/conversations/{id}", _CONV, body=Body.JSON, resource=Resource.CONVERSATION),
    Route("DELETE", "/v1/conversations/{id}", _CONV, resource=Resource.CONVERSATION),
    Route("GET", "/v1/conversations/{id}/items", _CONV, query=_PAGE | _INCLUDE, resource=Resource.CONVERSATION),
    Route(
        "POST",
        "/v1/conversations/{id}/items",
        _CONV,
        body=Body.JSON,
        query=_INCLUDE,
        repeat=_CREATE,
        resource=Resource.CONVERSATION,
    ),
    Route("GET", "/v1/conversations/{id}/items/{item}", _CONV, query=_INCLUDE, resource=Resource.CONVERSATION_ITEM),
    Route("DELETE", "/v1/conversations/{id}/items/{item}", _CONV, resource=Resource.CONVERSATION_ITEM),
    # Files
    Route("POST", "/v1/files", _FILES, body=Body.UPLOAD, repeat=_CREATE),
    Route("GET", "/v1/files", _FILES, query=_PAGE | {"purpose"}),
    Route("GET", "/v1/files/{id}", _FILES, resource=Resource.FILE),
    Route("DELETE", "/v1/files/{id}", _FILES, resource=Resource.FILE),
    Route("GET", "/v1/files/{id}/content", _FILES, resource=Resource.FILE),
    # Vector stores: the stores themselves on the control plane, their files and search on inference
    Route("POST", "/v1/vector_stores", _VS, body=Body.JSON, repeat=_CREATE, plane=Plane.CONTROL),
    Route("GET", "/v1/vector_stores", _VS, query=_PAGE, plane=Plane.CONTROL),
    Route("GET", "/v1/vector_stores/{id}", _VS, resource=Resource.VECTOR_STORE, plane=Plane.CONTROL),
    Route("POST", "/v1/vector_stores/{id}", _VS, body=Body.JSON, resource=Resource.VECTOR_STORE, plane=Plane.CONTROL),
    Route("DELETE", "/v1/vector_stores/{id}", _VS, resource=Resource.VECTOR_STORE, plane=Plane.CONTROL),
    Route("POST", "/v1/vector_stores/{id}/files", _VS, body=Body.JSON, repeat=_CREATE, resource=Resource.VECTOR_STORE),
    Route("GET", "/v1/vector_stores/{id}/files", _VS, query=_PAGE | {"filter"}, resource=Resource.VECTOR_STORE),
    Route("GET", "/v1/vector_stores/{id}/files/{file}", _VS, resource=Resource.VECTOR_STORE_FILE),
    Route("POST", "/v1/vector_stores/{id}/files/{file}", _VS, body=Body.JSON, resource=Resource.VECTOR_STORE_FILE),
    Route("DELETE", "/v1/vector_stores/{id}/files/{file}", _VS, resource=Resource.VECTOR_STORE_FILE),
    Route("GET", "/v1/vector_stores/{id}/files/{file}/content", _VS, resource=Resource.VECTOR_STORE_FILE),
    Route("POST", "/v1/vector_stores/{id}/search", _VS, body=Body.JSON, resource=Resource.VECTOR_STORE),
    Route(
        "POST",
        "/v1/vector_stores/{id}/file_batches",
        _VS,
        body=Body.JSON,
        repeat=_CREATE,
        resource=Resource.VECTOR_STORE,
    ),
    Route("GET", "/v1/vector_stores/{id}/file_batches/{batch}", _VS, resource=Resource.FILE_BATCH),
    Route(
        "POST", "/v1/vector_stores/{id}/file_batches/{batch}/cancel", _VS, repeat=_CREATE, resource=Resource.FILE_BATCH
    ),
    Route(
        "GET",
        "/v1/vector_stores/{id}/file_batches/{batch}/files",
        _VS,
        query=_PAGE | {"filter"},
        resource=Resource.FILE_BATCH,
    ),
    # Containers and their files
    Route("POST", "/v1/containers", _CNTR, body=Body.JSON, repeat=_CREATE),
    Route("GET", "/v1/containers", _CNTR, query=_PAGE),
    Route("GET", "/v1/containers/{id}", _CNTR, resource=Resource.CONTAINER),
    Route("DELETE", "/v1/containers/{id}", _CNTR, resource=Resource.CONTAINER),
    Route("POST", "/v1/containers/{id}/files", _CNTR, body=Body.UPLOAD, repeat=_CREATE, resource=Resource.CONTAINER),
    Route("GET", "/v1/containers/{id}/files", _CNTR, query=_PAGE, resource=Resource.CONTAINER),
    Route("GET", "/v1/containers/{id}/files/{file}", _CNTR, resource=Resource.CONTAINER_FILE),
    Route("DELETE", "/v1/containers/{id}/files/{file}", _CNTR, resource=Resource.CONTAINER_FILE),
    Route("GET", "/v1/containers/{id}/files/{file}/content", _CNTR, resource=Resource.CONTAINER_FILE),
    # Models: this deployment's allow-list and aliases
    Route("GET", "/v1/models", Family.MODELS, models, about="the allow-list (GENAI_ALLOWED_MODELS) and aliases"),
    Route("GET", "/v1/models/{id}", Family.MODELS, models, about="one allowed model or alias"),
    # OpenAI paths OCI does not serve (not in Oracle's documentation)
    Route(
        "POST",
        "/v1/embeddings",
        Family.EMBEDDINGS,
        not_offered,
        about="Embeddings on the OpenAI-compatible base (OCI serves them through its own API)",
    ),
    Route("POST", "/v1/completions", Family.COMPLETIONS, not_offered, about="The legacy Completions API"),
    Route("POST", "/v1/uploads", Family.UPLOADS, not_offered, about="Multipart uploads (/uploads)"),
    Route("POST", "/v1/uploads/{id}/parts", Family.UPLOADS, not_offered, about="Multipart uploads (/uploads)"),
    Route("POST", "/v1/uploads/{id}/complete", Family.UPLOADS, not_offered, about="Multipart uploads (/uploads)"),
    Route("POST", "/v1/uploads/{id}/cancel", Family.UPLOADS, not_offered, about="Multipart uploads (/uploads)"),
)


def check_table(rows: Sequence[Route]) -> None:
    """Refuse a table whose rows contradict each other; run on import, so a bad row fails at start-up."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        where = row.name
        if (row.method, row.path) in seen:
            problems.append(f"{where}: two rows")
        seen.add((row.method, row.path))
        if row.method not in ("GET", "POST", "DELETE"):
            problems.append(f"{where}: method must be GET, POST or DELETE (the gateway routes only those)")
        if not (row.path == "/" or row.path == "/health" or row.path.startswith(API_ROOT + "/")):
            problems.append(f"{where}: path must be /, /health or start with {API_ROOT}/")
        if any(
            not s or (s.startswith("{") and not re.fullmatch(r"\{[a-z_]+\}", s)) for s in row.path[1:].split("/")[1:]
        ):
            problems.append(f"{where}: empty segment or bad {{id}} name")
        if row.default_tokens and row.default_tokens not in row.tokens:
            problems.append(f"{where}: default_tokens {row.default_tokens!r} is not one of tokens {row.tokens}")
        if row.tokens and not row.model:
            problems.append(f"{where}: tokens without model")
        if row.model and row.body is not Body.JSON:
            problems.append(f"{where}: a model row needs a JSON body")
        if row.resource is not None and "{" not in row.path:
            problems.append(f"{where}: resource on a path without an id")
        if row.handler is not None and not row.about:
            problems.append(f"{where}: a handler row needs `about` (docs/api.md)")
        if row.anonymous and row.path != "/health":
            problems.append(f"{where}: only /health is anonymous (it has its own deployment)")
        if row.family not in PAGES:
            problems.append(f"{where}: family {row.family.name} has no entry in PAGES")
    if problems:
        raise ValueError("route table: " + "; ".join(problems))


check_table(ROUTES)


# -- dispatch --------------------------------------------------------------------


def dispatch(request: Request, service: Service, record: CallRecord) -> Reply:
    """Answer `request`, or raise `ApiError`.

    The row is chosen, then the client and its policy are resolved, once, and
    checked (`_client_policy`, the row's family), before the row's handler gets the `Call`.
    """
    path = route_path(request)
    candidates = rows_at(path)
    # Until a row is chosen the log line says what was asked: the row's path for a 405 (no ids).
    record.route = f"{request.method} {candidates[0].path if candidates else path[:100]}"
    route = _choose(request.method, path, candidates)
    record.route = route.name
    client, policy = "", None
    if not route.anonymous:
        client = record.client = clients.client_name(request.headers, request.through_gateway)
        if service.settings is not None:  # else the handler answers with the setting to fix
            policy = _client_policy(client, request, service.settings)
            _check_family(route, policy)
    return (route.handler or passthrough)(Call(route, path, request, service, record, client, policy))


def _client_policy(name: str, request: Request, settings: Settings) -> clients.Policy | None:
    """The policy of `name`, the client the gateway named (genai_fn/clients.py); None for the global settings.

    With policies configured, a call through the gateway without a listed client is refused: the
    gateway names every authenticated client, so an unlisted name is a configuration out of step.
    """
    if settings.client_policies is None or not request.through_gateway:
        return None
    policy = settings.client_policies.get(name)
    if policy is None:
        raise errors.client_forbidden(
            f"The client {name[:100]!r} has no policy in {clients.SETTING}, so it may not call this API."
            if name
            else f"The request does not name its client ({clients.CLIENT_HEADER}, set by the gateway) and "
            f"{clients.SETTING} is configured, so it is refused.",
            code="client_not_allowed",
        )
    return policy


def _check_family(route: Route, policy: clients.Policy | None) -> None:
    if policy is None or policy.families is None or route.family.value in policy.families:
        return
    raise errors.client_forbidden(
        f"This client may not call {route.family.value} ({route.name}); it may call: "
        f"{', '.join(sorted(policy.families))}.",
        code="family_not_allowed",
    )


def route_path(request: Request) -> str:
    """The path a request asks for, as the table writes it (see the module's docstring)."""
    if not request.through_gateway:
        return "/"
    path = request.path
    root = API_ROOT + "/"
    # The prefix may itself contain /v1/ (`/api/v1`): the API starts at the first /v1/ that leads to a row.
    starts = [i for i in range(len(path)) if path.startswith(root, i)]
    asked = [(root + path[i + len(root) :]).removesuffix("/") for i in starts]
    if path.rsplit("/", 1)[-1] == "health" and (not asked or asked[-1] == API_ROOT + "/health"):
        return "/health"
    found = next((p for p in asked if rows_at(p)), None)
    if found is not None:
        return found
    if path.endswith("/") and (not asked or asked[-1] == API_ROOT):
        return "/"  # the deployment's root (`<prefix>/`, a prefix that may end in /v1)
    return asked[0] if asked else path


def rows_at(path: str) -> list[Route]:
    """The rows whose path matches `path`, whatever their method."""
    segments = path.split("/")
    rows = [
        row
        for row in ROUTES
        if len(template := _segments(row.path)) == len(segments)
        and all(t == s or (t.startswith("{") and s) for t, s in zip(template, segments, strict=True))
    ]
    # A path written out in full wins over one with ids: /responses/compact is not a response id.
    exact = [row for row in rows if row.path == path]
    return exact or rows


@functools.cache
def _segments(template: str) -> tuple[str, ...]:
    """A row's path, split once: rows_at runs twice a call over every row (21-25 µs a lookup before, 13-17 after)."""
    return tuple(template.split("/"))


def match(method: str, path: str) -> Route:
    """The row for `method` on `path` (ids checked), or the 404/405 that says why there is none."""
    return _choose(method, path, rows_at(path))


def _choose(method: str, path: str, candidates: Sequence[Route]) -> Route:
    for route in candidates:
        if route.method == method:
            _check_ids(route.path, path)
            return route
    if candidates and all(r.handler is not_offered for r in candidates):
        return candidates[0]  # not offered, whichever the method
    if candidates:
        raise errors.method_not_allowed(method, tuple(dict.fromkeys(r.method for r in candidates)))
    raise errors.unknown_route(path[:200])


def passthrough(call: Call) -> Reply:
    """Check the request as its row says, send it signed, and pass the answer back as it came."""
    route, path, request, service, record = call.route, call.path, call.request, call.service, call.record
    settings, _ = service.require()
    content, content_type, payload, capped, hide_usage = _request_body(
        route, request, settings, record, service.log_prompts, call.policy
    )
    budget = _budget(request, settings)
    project, compartment = tenancy.scope(call.policy)
    if project:  # this client's objects are kept apart from other clients' (genai_fn/tenancy.py)
        content = tenancy.guard(call, payload, content, budget)
    out = Outbound(
        method=route.method,
        path=path.removeprefix(API_ROOT),
        retry_rule=_retry_rule(route, payload),
        content=content,
        content_type=content_type,
        params=_query(route, request),
        stream=route.stream if _streamed(route, request, payload) else None,
        resource=route.resource.value if route.resource else "",
        control_plane=route.plane is Plane.CONTROL,
        project=project,
        compartment=compartment,
    )
    # With one region (failover off) nothing is checked: no work added to the call.
    portable = service.fails_over and _portable(route, out, payload)
    with (spend := _spend(call, route, payload, settings, budget)):
        answer = service.send(out, budget, record, portable=portable)
        _record_answer(record, route, answer)
    if hide_usage and answer.ending is not None:
        answer.content = streams.without_usage_chunk(answer.content, answer.ending)
    headers = {"Content-Type": answer.content_type, **_upstream_ref(record), **capped, **spend.headers}
    if answer.ending is not None:
        headers["Cache-Control"] = "no-cache"
    return Reply(answer.status, answer.content, headers)


# -- checks -------------------------------------------------------------------


def _streamed(route: Route, request: Request, payload: dict[str, Any]) -> bool:
    """Did the request ask for an event stream: `"stream": true` in its body, or `?stream=true` without one."""
    if route.stream is None:
        return False
    if route.body is Body.NONE:
        return request.query.get("stream", [""])[-1].lower() == "true"
    return payload.get("stream") is True


def _spend(call: Call, route: Route, payload: dict[str, Any], settings: Settings, budget: Budget) -> limits.Spend:
    """Reserve a model call's possible spend for a limited client (genai_fn/limits/); else a no-op.

    Its output cap is the request's (already capped) token field, else the client's or the global cap.
    """
    if not route.model or call.service.limits is None:
        return limits.Spend()
    policy = call.policy
    cap = policy.max_output_tokens if policy and policy.max_output_tokens is not None else settings.max_output_tokens
    asked = [payload[name] for name in route.tokens if _is_int(payload.get(name))]
    return limits.Spend.start(
        call.service.limits,
        call.client,
        policy,
        through_gateway=call.request.through_gateway,
        output_cap=min([cap, *asked]),
        body_bytes=len(call.request.body),
        record=call.record,
        budget=budget,
    )


def _check_ids(template: str, path: str) -> None:
    for name, value in zip(template.split("/"), path.split("/"), strict=True):
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
    route: Route,
    request: Request,
    settings: Settings,
    record: CallRecord,
    log_prompts: bool,
    policy: clients.Policy | None,
) -> tuple[bytes | None, str, dict[str, Any], dict[str, str], bool]:
    """(bytes to send, their content type, the parsed JSON or {}, headers saying what was capped,
    whether the answer's usage-only stream chunk is for the function alone: the client did not ask for it)."""
    if route.body is Body.NONE:
        if request.body.strip():
            raise errors.bad_request(f"{route.name} takes no request body.")
        return None, "", {}, {}, False
    _check_size(request, settings)
    if route.body is Body.UPLOAD and request.content_type == MULTIPART:
        # Passed on byte for byte, boundary included; the service checks the parts.
        return request.body, request.headers.get("content-type", MULTIPART), {}, {}, False
    accepted = (*JSON_TYPES, MULTIPART) if route.body is Body.UPLOAD else JSON_TYPES
    if request.content_type not in JSON_TYPES:
        raise errors.unsupported_media_type(request.content_type, accepted)
    payload = _json_object(request, settings)
    capped: dict[str, str] = {}
    changed = hide_usage = False
    if route.model:
        before = dict((k, payload.get(k)) for k in ("model", *route.tokens))
        capped = _check_generation(route, payload, settings, record, log_prompts, policy)
        changed = any(payload.get(k) != v for k, v in before.items())
        if route.stream is streams.Kind.CHAT and payload.get("stream") is True:
            hide_usage = streams.ask_chat_usage(payload)
            changed = changed or hide_usage
    # Unchanged bodies go on as the client sent them: no second copy, byte for byte.
    return (_dumps(payload) if changed else request.body), "application/json", payload, capped, hide_usage


def _check_generation(
    route: Route,
    payload: dict[str, Any],
    settings: Settings,
    record: CallRecord,
    log_prompts: bool,
    policy: clients.Policy | None = None,
) -> dict[str, str]:
    """Model, output tokens and basic shape of a request for a model answer; the cap headers, if any."""
    requested = payload.get("model", settings.default_model)
    if not isinstance(requested, str) or not requested:
        raise errors.bad_request("'model' must be a non-empty string.", param="model")
    model = settings.resolve_model(requested)
    if model is None:
        record.model = REFUSED_MODEL
        if policy is not None and policy.models is not None:  # it learns only what GET …/v1/models shows it
            raise errors.model_not_found(requested, _client_models(policy, settings), for_client=True)
        raise errors.model_not_found(requested, settings.served_models())
    if policy is not None and not clients.allows_model(policy, model, settings.resolve_model):
        record.model = REFUSED_MODEL
        raise errors.model_not_found(requested, _client_models(policy, settings), for_client=True)
    payload["model"] = model
    record.model = model

    if route.family is Family.CHAT:
        if not isinstance(payload.get("messages"), list) or not payload["messages"]:
            raise errors.bad_request("'messages' must be a non-empty list.", param="messages")
        if log_prompts:
            record.prompt = _prompt_text(payload["messages"])
    else:
        _check_input(payload)
        if log_prompts:
            record.prompt = _prompt_text(payload.get("input"))

    capped: dict[str, str] = {}
    cap = settings.max_output_tokens
    if policy is not None and policy.max_output_tokens is not None:
        cap = policy.max_output_tokens  # never above the global cap (genai_fn/clients.py checks)
    present = [name for name in route.tokens if payload.get(name) is not None]
    for name in present:
        tokens = payload[name]
        if not _is_int(tokens) or tokens < 1:
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


def _check_choices(payload: dict[str, Any], client_cap: bool) -> None:
    """Chat's `n` asks for n answers, each up to the output cap: above 1, refused for a capped client."""
    n = payload.get("n")
    if n is None:
        return
    if not _is_int(n) or n < 1:
        raise errors.bad_request("'n' must be a positive integer.", param="n")
    if n > 1 and client_cap:
        raise errors.bad_request(
            f"'n' is {n}: this client's output tokens are capped, so it may ask for one answer per call (n: 1).",
            param="n",
            code="n_not_allowed",
        )


def _client_models(policy: clients.Policy, settings: Settings) -> list[str]:
    """The names a restricted client may use: what GET …/v1/models lists for it, and its own policy's names."""
    allowed = (n for n in settings.served_models() if clients.allows_model(policy, n, settings.resolve_model))
    return sorted({*(policy.models or ()), *allowed})


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
    if route.repeat is Repeat.IDEMPOTENT:
        return retry.Rule.IDEMPOTENT
    if route.repeat is Repeat.UNSENT_ONLY:
        return retry.Rule.UNSENT_ONLY
    # GENERATE: a model answer that is not stored creates nothing, so repeating it is safe.
    # Responses are stored unless `store: false`; chat completions only when asked.
    stores = payload.get("store", route.family is Family.RESPONSES) is not False or bool(
        payload.get("conversation") or payload.get("background")
    )
    return retry.Rule.UNSENT_ONLY if stores else retry.Rule.IDEMPOTENT


def _portable(route: Route, out: Outbound, payload: dict[str, Any]) -> bool:
    """A model answer that stores nothing and names nothing stored: another region may serve it (failover.py)."""
    return (
        route.repeat is Repeat.GENERATE
        and _retry_rule(route, payload) is retry.Rule.IDEMPOTENT
        and not failover.references_stored(payload)
    )


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
    ref = {"X-Upstream-Request-Id": record.opc_request_id} if record.opc_request_id else {}
    # Set only when regional failover is on (genai_fn/failover.py): which region answered.
    return {**ref, "X-GenAI-Region": record.region} if record.region else ref


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
