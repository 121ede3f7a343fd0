"""From a request to its row (genai_fn/routes.py), its client's policy, and the handler that answers.

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
A path written out in full wins over a row with ids (`/v1/responses/compact` is
not a response id); no row is a 404 that lists what the table serves, a row for
another method a 405.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from . import clients, errors
from .call import Call
from .checks import check_ids
from .families import Family
from .handlers import not_offered, passthrough
from .http import Reply, Request
from .logs import CallRecord
from .route import API_ROOT, Route
from .routes import ROUTES
from .service import Service
from .settings import Settings


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
    """A row's path, split once: rows_at runs twice a call over every row."""
    return tuple(template.split("/"))


def match(method: str, path: str) -> Route:
    """The row for `method` on `path` (ids checked), or the 404/405 that says why there is none."""
    return _choose(method, path, rows_at(path))


def _choose(method: str, path: str, candidates: Sequence[Route]) -> Route:
    for route in candidates:
        if route.method == method:
            check_ids(route.path, path)
            return route
    if candidates and all(r.handler is not_offered for r in candidates):
        return candidates[0]  # not offered, whichever the method
    if candidates:
        raise errors.method_not_allowed(method, tuple(dict.fromkeys(r.method for r in candidates)))
    raise errors.unknown_route(path[:200], *served(ROUTES))


@functools.cache
def served(rows: tuple[Route, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the table serves, for the 404 of a path without a row: the OpenAI paths under /v1/, one per family
    (its shortest path without ids: `responses`, `chat/completions`…), and the other rows (`POST …/ (simple)`)."""
    api: dict[Family, str] = {}
    others: list[str] = []
    for row in rows:
        if row.handler is not_offered:
            continue
        if row.path.startswith(API_ROOT + "/"):
            head = row.path.removeprefix(API_ROOT + "/").split("/{", 1)[0]
            if row.family not in api or len(head) < len(api[row.family]):
                api[row.family] = head
        else:
            others.append(f"{row.method} …{row.path}" + (f" ({row.family.value})" if row.path == "/" else ""))
    return tuple(api.values()), tuple(others)
