"""What a row of the route table is, and the rules rows obey (`check_table`).

The table itself is genai_fn/routes.py (`ROUTES`); how a request finds its row
is genai_fn/dispatch.py. A row says:
  method, path    `{…}` segments are ids, checked against `ID`
  family          which API the row belongs to (`Family`, genai_fn/families.py): docs/api.md,
                  and what a per-client family restriction names
  handler         None: checked as below and sent on (`handlers.passthrough`); else the
                  function that answers, `(call: Call) -> Reply` (genai_fn/call.py: the row,
                  the request, the client with its policy, and the checks a handler may use)
  body            what the request carries (JSON object, multipart upload, nothing)
  model           the body names a model: allow-list and aliases apply
  tokens          the body's output-token fields: capped by GENAI_MAX_OUTPUT_TOKENS
  default_tokens  the one of `tokens` that GENAI_DEFAULT_OUTPUT_TOKENS fills in
                  when the request sets none of them ("" for none)
  query           the query parameters passed on; any other is refused, since
                  the function signs what it sends with its own identity
  repeat          when a failed attempt is tried again (`retry.Rule`; GENERATE is
                  decided per request by `Route.rule_for`)
  stream          the event stream a streamed answer is checked as (whole, or 502):
                  asked for with `"stream": true` in a JSON body, or with
                  `?stream=true` on a route without a body
  resource        what a 404 on this path means (`Resource`): code `<resource>_not_found`
  plane           where OCI serves it: the inference endpoint, or the control plane
                  (vector store create/list/retrieve/update/delete)
  anonymous       served without an API key (GET /health, on its own deployment)
  about           one line for docs/api.md: what a handler row answers, or what a
                  not-offered path is
  sends           a handler row that answers by sending another row's request: that
                  row (the simple route sends a Responses create)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import streams
from .families import PAGES, Family
from .retry import Rule

if TYPE_CHECKING:
    from .call import Call
    from .http import Reply

#: A resource id: OpenAI's (resp_…, conv_…, file-…) or an OCID.
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}$")
#: The API's paths start here, under the deployment's prefix; what follows is the OpenAI path.
API_ROOT = "/v1"


class Body(enum.Enum):
    NONE = "none"
    JSON = "json"
    #: A multipart upload, or a JSON body (containers accept either for a file).
    UPLOAD = "upload"


class Plane(enum.Enum):
    INFERENCE = "inference"
    CONTROL = "control"


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
Handler = Callable[["Call"], "Reply"]


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
    repeat: Rule = Rule.IDEMPOTENT
    stream: streams.Kind | None = None
    resource: Resource | None = None
    plane: Plane = Plane.INFERENCE
    anonymous: bool = False
    about: str = ""
    #: A handler row that answers by sending another row's request: that row (the simple route sends a
    #: Responses create, checked and retried as that row says).
    sends: Route | None = None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def upstream_path(self) -> str:
        """The OpenAI path: relative to the OpenAI-compatible base URL."""
        return self.path.removeprefix(API_ROOT)

    def rule_for(self, payload: dict[str, Any]) -> Rule:
        """The row's retry rule for one request: GENERATE becomes IDEMPOTENT or UNSENT_ONLY, the others stay."""
        if self.repeat is not Rule.GENERATE:
            return self.repeat
        # A model answer that is not stored creates nothing, so repeating it is safe.
        # Responses are stored unless `store: false`; chat completions only when asked.
        stores = payload.get("store", self.family is Family.RESPONSES) is not False or bool(
            payload.get("conversation") or payload.get("background")
        )
        return Rule.UNSENT_ONLY if stores else Rule.IDEMPOTENT


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
        if row.sends is not None and (row.handler is None or row.sends.handler is not None):
            problems.append(f"{where}: only a handler row sends, and what it sends is a row without a handler")
        if row.family not in PAGES:
            problems.append(f"{where}: family {row.family.name} has no entry in PAGES")
    if problems:
        raise ValueError("route table: " + "; ".join(problems))
