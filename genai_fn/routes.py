"""The route table: every path the function answers, one row each, with what is checked on it.

`ROUTES` is the one source of truth for the function's surface. Each row is a
method on a path relative to the API Gateway deployment's path prefix:
`/v1/<OpenAI path>` for the API (checked as the row says, then sent, signed by
the function's identity, to `<GENAI_BASE_URL>/<OpenAI path>`), `/` for the
simple route (one prompt in, the text out; also what `fn invoke` reaches) and
`/health`. Rows with a `handler` are answered by the function itself
(genai_fn/handlers.py): the simple route, health, the model list, and the
OpenAI paths OCI does not offer (`not_offered`: 404 `not_offered_by_oci`).
What each field of a row means, and the rules rows obey (`check_table`), is
genai_fn/route.py; the checks themselves are genai_fn/checks.py; how a request
finds its row is genai_fn/dispatch.py.

Generated from the rows, never written by hand (`make routes` rewrites them,
and tests/unit/test_route_table.py fails, naming the difference, while either
is stale; the generator is dev/routes_gen.py):
  terraform/routes.json  the gateway routes terraform/apigateway.tf builds, and
                         the routes the local gateway (dev/local/gateway.py) serves
  docs/api.md            the route-by-route table

Adding a route is one `Route(...)` row in `ROUTES`, the emulator's support for
it (dev/local/emulator/, for a path OCI serves), its tests, and `make routes`.
A row the function answers itself names its handler, `(call: Call) -> Reply`
(genai_fn/call.py; examples/custom_route/). A new API family is also one
`Family` member and its Oracle page in `PAGES` (genai_fn/families.py).
"""

from __future__ import annotations

from . import handlers, streams
from .families import Family
from .retry import Rule
from .route import Body, Plane, Resource, Route, check_table

_PAGE = frozenset({"after", "before", "limit", "order"})
_INCLUDE = frozenset({"include", "include[]"})

#: Also what the simple route sends.
RESPONSES_CREATE = Route(
    "POST", "/v1/responses", Family.RESPONSES, body=Body.JSON, model=True, tokens=("max_output_tokens",),
    default_tokens="max_output_tokens", repeat=Rule.GENERATE, stream=streams.Kind.RESPONSES,
)  # fmt: skip

# Sources for what OCI serves: docs/api.md (one Oracle page per family, `PAGES`).
ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/",
        Family.SIMPLE,
        handlers.simple,
        sends=RESPONSES_CREATE,
        about="one prompt in (JSON or text), the text out; sent as a Responses create",
    ),
    Route("GET", "/health", Family.HEALTH, handlers.health, anonymous=True, about="up and configured; no model call"),
    # Responses
    RESPONSES_CREATE,
    Route(
        "GET",
        "/v1/responses/{id}",
        Family.RESPONSES,
        query=_INCLUDE | {"starting_after", "include_obfuscation", "stream"},
        stream=streams.Kind.RESPONSES,
        resource=Resource.RESPONSE,
    ),
    Route("DELETE", "/v1/responses/{id}", Family.RESPONSES, resource=Resource.RESPONSE),
    Route(
        "GET", "/v1/responses/{id}/input_items", Family.RESPONSES, query=_PAGE | _INCLUDE, resource=Resource.RESPONSE
    ),
    Route("POST", "/v1/responses/{id}/cancel", Family.RESPONSES, repeat=Rule.UNSENT_ONLY, resource=Resource.RESPONSE),
    Route(
        "POST",
        "/v1/responses/input_tokens",
        Family.RESPONSES,
        handlers.not_offered,
        about="Counting input tokens (POST /responses/input_tokens)",
    ),
    Route(
        "POST",
        "/v1/responses/compact",
        Family.RESPONSES,
        handlers.not_offered,
        about="Compacting a response (POST /responses/compact)",
    ),
    # Chat Completions
    Route(
        "POST",
        "/v1/chat/completions",
        Family.CHAT,
        body=Body.JSON,
        model=True,
        tokens=("max_tokens", "max_completion_tokens"),
        default_tokens="max_tokens",
        repeat=Rule.GENERATE,
        stream=streams.Kind.CHAT,
    ),
    # Conversations and their items
    Route("POST", "/v1/conversations", Family.CONVERSATIONS, body=Body.JSON, repeat=Rule.UNSENT_ONLY),
    Route("GET", "/v1/conversations/{id}", Family.CONVERSATIONS, resource=Resource.CONVERSATION),
    Route("POST", "/v1/conversations/{id}", Family.CONVERSATIONS, body=Body.JSON, resource=Resource.CONVERSATION),
    Route("DELETE", "/v1/conversations/{id}", Family.CONVERSATIONS, resource=Resource.CONVERSATION),
    Route(
        "GET",
        "/v1/conversations/{id}/items",
        Family.CONVERSATIONS,
        query=_PAGE | _INCLUDE,
        resource=Resource.CONVERSATION,
    ),
    Route(
        "POST",
        "/v1/conversations/{id}/items",
        Family.CONVERSATIONS,
        body=Body.JSON,
        query=_INCLUDE,
        repeat=Rule.UNSENT_ONLY,
        resource=Resource.CONVERSATION,
    ),
    Route(
        "GET",
        "/v1/conversations/{id}/items/{item}",
        Family.CONVERSATIONS,
        query=_INCLUDE,
        resource=Resource.CONVERSATION_ITEM,
    ),
    Route("DELETE", "/v1/conversations/{id}/items/{item}", Family.CONVERSATIONS, resource=Resource.CONVERSATION_ITEM),
    # Files
    Route("POST", "/v1/files", Family.FILES, body=Body.UPLOAD, repeat=Rule.UNSENT_ONLY),
    Route("GET", "/v1/files", Family.FILES, query=_PAGE | {"purpose"}),
    Route("GET", "/v1/files/{id}", Family.FILES, resource=Resource.FILE),
    Route("DELETE", "/v1/files/{id}", Family.FILES, resource=Resource.FILE),
    Route("GET", "/v1/files/{id}/content", Family.FILES, resource=Resource.FILE),
    # Vector stores: the stores themselves on the control plane, their files and search on inference
    Route(
        "POST", "/v1/vector_stores", Family.VECTOR_STORES, body=Body.JSON, repeat=Rule.UNSENT_ONLY, plane=Plane.CONTROL
    ),
    Route("GET", "/v1/vector_stores", Family.VECTOR_STORES, query=_PAGE, plane=Plane.CONTROL),
    Route("GET", "/v1/vector_stores/{id}", Family.VECTOR_STORES, resource=Resource.VECTOR_STORE, plane=Plane.CONTROL),
    Route(
        "POST",
        "/v1/vector_stores/{id}",
        Family.VECTOR_STORES,
        body=Body.JSON,
        resource=Resource.VECTOR_STORE,
        plane=Plane.CONTROL,
    ),
    Route(
        "DELETE", "/v1/vector_stores/{id}", Family.VECTOR_STORES, resource=Resource.VECTOR_STORE, plane=Plane.CONTROL
    ),
    Route(
        "POST",
        "/v1/vector_stores/{id}/files",
        Family.VECTOR_STORES,
        body=Body.JSON,
        repeat=Rule.UNSENT_ONLY,
        resource=Resource.VECTOR_STORE,
    ),
    Route(
        "GET",
        "/v1/vector_stores/{id}/files",
        Family.VECTOR_STORES,
        query=_PAGE | {"filter"},
        resource=Resource.VECTOR_STORE,
    ),
    Route("GET", "/v1/vector_stores/{id}/files/{file}", Family.VECTOR_STORES, resource=Resource.VECTOR_STORE_FILE),
    Route(
        "POST",
        "/v1/vector_stores/{id}/files/{file}",
        Family.VECTOR_STORES,
        body=Body.JSON,
        resource=Resource.VECTOR_STORE_FILE,
    ),
    Route("DELETE", "/v1/vector_stores/{id}/files/{file}", Family.VECTOR_STORES, resource=Resource.VECTOR_STORE_FILE),
    Route(
        "GET", "/v1/vector_stores/{id}/files/{file}/content", Family.VECTOR_STORES, resource=Resource.VECTOR_STORE_FILE
    ),
    Route(
        "POST", "/v1/vector_stores/{id}/search", Family.VECTOR_STORES, body=Body.JSON, resource=Resource.VECTOR_STORE
    ),
    Route(
        "POST",
        "/v1/vector_stores/{id}/file_batches",
        Family.VECTOR_STORES,
        body=Body.JSON,
        repeat=Rule.UNSENT_ONLY,
        resource=Resource.VECTOR_STORE,
    ),
    Route("GET", "/v1/vector_stores/{id}/file_batches/{batch}", Family.VECTOR_STORES, resource=Resource.FILE_BATCH),
    Route(
        "POST",
        "/v1/vector_stores/{id}/file_batches/{batch}/cancel",
        Family.VECTOR_STORES,
        repeat=Rule.UNSENT_ONLY,
        resource=Resource.FILE_BATCH,
    ),
    Route(
        "GET",
        "/v1/vector_stores/{id}/file_batches/{batch}/files",
        Family.VECTOR_STORES,
        query=_PAGE | {"filter"},
        resource=Resource.FILE_BATCH,
    ),
    # Containers and their files
    Route("POST", "/v1/containers", Family.CONTAINERS, body=Body.JSON, repeat=Rule.UNSENT_ONLY),
    Route("GET", "/v1/containers", Family.CONTAINERS, query=_PAGE),
    Route("GET", "/v1/containers/{id}", Family.CONTAINERS, resource=Resource.CONTAINER),
    Route("DELETE", "/v1/containers/{id}", Family.CONTAINERS, resource=Resource.CONTAINER),
    Route(
        "POST",
        "/v1/containers/{id}/files",
        Family.CONTAINERS,
        body=Body.UPLOAD,
        repeat=Rule.UNSENT_ONLY,
        resource=Resource.CONTAINER,
    ),
    Route("GET", "/v1/containers/{id}/files", Family.CONTAINERS, query=_PAGE, resource=Resource.CONTAINER),
    Route("GET", "/v1/containers/{id}/files/{file}", Family.CONTAINERS, resource=Resource.CONTAINER_FILE),
    Route("DELETE", "/v1/containers/{id}/files/{file}", Family.CONTAINERS, resource=Resource.CONTAINER_FILE),
    Route("GET", "/v1/containers/{id}/files/{file}/content", Family.CONTAINERS, resource=Resource.CONTAINER_FILE),
    # Models: this deployment's allow-list and aliases
    Route(
        "GET", "/v1/models", Family.MODELS, handlers.models, about="the allow-list (GENAI_ALLOWED_MODELS) and aliases"
    ),
    Route("GET", "/v1/models/{id}", Family.MODELS, handlers.models, about="one allowed model or alias"),
    # OpenAI paths OCI does not serve (not in Oracle's documentation)
    Route(
        "POST",
        "/v1/embeddings",
        Family.EMBEDDINGS,
        handlers.not_offered,
        about="Embeddings on the OpenAI-compatible base (OCI serves them through its own API)",
    ),
    Route("POST", "/v1/completions", Family.COMPLETIONS, handlers.not_offered, about="The legacy Completions API"),
    Route("POST", "/v1/uploads", Family.UPLOADS, handlers.not_offered, about="Multipart uploads (/uploads)"),
    Route("POST", "/v1/uploads/{id}/parts", Family.UPLOADS, handlers.not_offered, about="Multipart uploads (/uploads)"),
    Route(
        "POST", "/v1/uploads/{id}/complete", Family.UPLOADS, handlers.not_offered, about="Multipart uploads (/uploads)"
    ),
    Route(
        "POST", "/v1/uploads/{id}/cancel", Family.UPLOADS, handlers.not_offered, about="Multipart uploads (/uploads)"
    ),
)


check_table(ROUTES)
