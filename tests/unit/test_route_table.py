"""The route table (genai_fn/routes.py ROUTES) is the one source: what is derived from it is checked equal
to it here (terraform/routes.json, docs/api.md, the local gateway's routes), and its rows are checked
against each other. Behaviour per route is in test_handler.py; through the gateway in tests/integration."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dev import routes_gen
from dev.local.gateway import ROUTES_FILE, load_routes
from genai_fn import routes
from genai_fn.http import Request
from genai_fn.routes import ROUTES, Body, Repeat, Resource, Route


def test_generated_files_are_up_to_date() -> None:
    stale = routes_gen.differences()
    assert not stale, "\n\n".join(stale)


def test_the_check_names_the_stale_file_and_the_difference(tmp_path, monkeypatch) -> None:
    stale_json = tmp_path / "routes.json"
    stale_json.write_text(ROUTES_FILE.read_text().replace('{"path": "/v1/completions", "methods": ["POST"]},\n', ""))
    monkeypatch.setattr(routes_gen, "ROUTES_JSON", stale_json)
    monkeypatch.setattr(routes_gen, "ROOT", tmp_path)
    monkeypatch.setattr(routes_gen, "API_DOC", tmp_path / "api.md")
    (tmp_path / "api.md").write_text(routes_gen.api_md())
    (found,) = routes_gen.differences()
    assert found.startswith("routes.json is stale") and '+    {"path": "/v1/completions"' in found


def test_the_local_gateway_serves_routes_json() -> None:
    raw = json.loads(ROUTES_FILE.read_text())
    served = [(r.template, list(r.methods), r.anonymous) for r in load_routes()]
    listed = [
        (r["path"], r["methods"], kind == "anonymous") for kind in ("authenticated", "anonymous") for r in raw[kind]
    ]
    assert served == listed


def _gateway_route(method: str, path: str, anonymous: bool) -> list[str]:
    """The gateway routes (routes.json, matched as the local gateway matches) that take this call."""
    return [r.template for r in load_routes() if r.anonymous is anonymous and method in r.methods and r.matches(path)]


@pytest.mark.parametrize(("method", "path", "anonymous"), routes_gen.surface())
def test_every_row_has_exactly_one_gateway_route(method: str, path: str, anonymous: bool) -> None:
    assert len(_gateway_route(method, path, anonymous)) == 1, (
        f"{method} {path}: {_gateway_route(method, path, anonymous)}"
    )
    assert not _gateway_route(method, path, not anonymous), f"{method} {path} is also served on the other deployment"


def test_no_gateway_route_or_method_is_without_a_row() -> None:
    used = {(route, m) for m, p, anon in routes_gen.surface() for route in _gateway_route(m, p, anon)}
    opened = {(r.template, m) for r in load_routes() for m in r.methods}
    assert opened - used == set()


def test_the_gateway_routes_are_few_and_valid_for_api_gateway() -> None:
    table = routes_gen.gateway_routes()
    heads = {row.path.split("/")[2] for row in ROUTES if row.path.startswith("/v1/")}
    # One exact route and one wildcard per OpenAI resource, at most; the root; nothing else.
    assert len(table["authenticated"]) <= 2 * len(heads) + 1
    assert table["anonymous"] == [{"path": "/health", "methods": ["GET"]}]


# -- the rows ---------------------------------------------------------------------


def test_the_table_is_consistent() -> None:
    routes.check_table(ROUTES)  # also run on import; here so a failure names the test
    # Not every family need have rows: docs/make-it-yours.md turns a family off by filtering its rows out.
    assert all(isinstance(row.repeat, Repeat) for row in ROUTES)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"default_tokens": "max_tokens"}, "default_tokens 'max_tokens' is not one of tokens"),
        ({"resource": Resource.FILE, "path": "/v1/files"}, "resource on a path without an id"),
        ({"method": "PUT"}, "method must be GET, POST or DELETE"),
        ({"path": "/files"}, "path must be /, /health or start with /v1/"),
        ({"path": "/v1/files//content"}, "empty segment"),
        ({"model": True, "body": Body.NONE}, "a model row needs a JSON body"),
        ({"anonymous": True}, "only /health is anonymous"),
    ],
)
def test_a_contradictory_row_is_refused_naming_it(change: dict[str, object], named: str) -> None:
    row = dataclasses.replace(routes.RESPONSES_CREATE, **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=named):
        routes.check_table([row])


def test_two_rows_for_one_method_and_path_are_refused() -> None:
    with pytest.raises(ValueError, match="two rows"):
        routes.check_table([routes.RESPONSES_CREATE, routes.RESPONSES_CREATE])


def test_a_handler_row_answers_without_passthrough() -> None:
    rows = {row.name: row for row in ROUTES}
    assert rows["POST /"].handler is routes.simple and rows["GET /health"].handler is routes.health
    assert rows["GET /v1/models/{id}"].handler is routes.models
    assert rows["POST /v1/embeddings"].handler is routes.not_offered
    assert rows["GET /v1/vector_stores/{id}/files/{file}/content"].handler is None


# -- from a request to a row --------------------------------------------------------


def _request(path: str, through_gateway: bool = True) -> Request:
    return Request("call", "POST", path, {}, {}, b"", None, through_gateway)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/genai/", "/"),
        ("/genai/v1/responses", "/v1/responses"),
        ("/genai/v1/responses/", "/v1/responses"),  # {rest*} with zero segments
        ("/a/b/v1/files/file-1/content", "/v1/files/file-1/content"),
        ("/genai-health/health", "/health"),
        ("/genai/v1/health", "/health"),
        ("/genai/v1/conversations/conv_1/items/health", "/v1/conversations/conv_1/items/health"),
        ("/genai/v1/responses//", "/v1/responses/"),  # only one trailing / is dropped: no row
        ("/genai", "/genai"),
        ("/genai/v1/assistants", "/v1/assistants"),
        # A deployment prefix with a /v1 of its own (terraform's path_prefix allows it).
        ("/v1/", "/"),
        ("/v1/v1/responses", "/v1/responses"),
        ("/api/v1/genai/v1/files/file-1/content", "/v1/files/file-1/content"),
        ("/api/v1-health/health", "/health"),
    ],
)
def test_route_path_is_relative_to_the_deployment(path: str, expected: str) -> None:
    assert routes.route_path(_request(path)) == expected


def test_a_direct_invocation_is_the_simple_route_whatever_its_url() -> None:
    assert routes.route_path(_request("/v1/responses", through_gateway=False)) == "/"


def test_a_path_written_in_full_wins_over_an_id() -> None:
    assert routes.match("POST", "/v1/responses/compact").handler is routes.not_offered
    # Not offered whatever the method: not a GET of a response called "compact".
    assert routes.match("GET", "/v1/responses/compact").handler is routes.not_offered
    assert routes.match("GET", "/v1/responses/resp_1").name == "GET /v1/responses/{id}"


def test_every_row_is_matched_by_its_own_example() -> None:
    for (method, path, _), row in zip(routes_gen.surface(), ROUTES, strict=True):
        assert routes.match(method, path) is row


def test_route_is_a_row_type_with_enums_not_strings() -> None:
    fields = {f.name: f.type for f in dataclasses.fields(Route)}
    assert "retry" not in fields, "a field named retry shadows the retry module"
    assert fields["repeat"] == "Repeat" and fields["family"] == "Family" and fields["resource"] == "Resource | None"
