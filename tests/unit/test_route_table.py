"""The route table (genai_fn/routes.py ROUTES) is the one source: what is derived from it is checked equal
to it here (terraform/routes.json, docs/api.md, the local gateway's routes), and its rows are checked
against each other. Behaviour per route is in test_handler.py; through the gateway in tests/integration."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dev import routes_gen
from dev.local.gateway import ROUTES_FILE, load_routes
from genai_fn import dispatch, errors, handlers, routes
from genai_fn.families import Family
from genai_fn.http import Request
from genai_fn.retry import Rule
from genai_fn.route import API_ROOT, Body, Resource, Route, check_table
from genai_fn.routes import ROUTES


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
    check_table(ROUTES)  # also run on import; here so a failure names the test
    # Not every family need have rows: docs/make-it-yours.md turns a family off by filtering its rows out.
    assert all(isinstance(row.repeat, Rule) for row in ROUTES)


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
        check_table([row])


def test_two_rows_for_one_method_and_path_are_refused() -> None:
    with pytest.raises(ValueError, match="two rows"):
        check_table([routes.RESPONSES_CREATE, routes.RESPONSES_CREATE])


def test_a_handler_row_answers_without_passthrough() -> None:
    rows = {row.name: row for row in ROUTES}
    assert rows["POST /"].handler is handlers.simple and rows["GET /health"].handler is handlers.health
    assert rows["GET /v1/models/{id}"].handler is handlers.models
    assert rows["POST /v1/embeddings"].handler is handlers.not_offered
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
    assert dispatch.route_path(_request(path)) == expected


def test_a_direct_invocation_is_the_simple_route_whatever_its_url() -> None:
    assert dispatch.route_path(_request("/v1/responses", through_gateway=False)) == "/"


def test_a_path_written_in_full_wins_over_an_id() -> None:
    assert dispatch.match("POST", "/v1/responses/compact").handler is handlers.not_offered
    # Not offered whatever the method: not a GET of a response called "compact".
    assert dispatch.match("GET", "/v1/responses/compact").handler is handlers.not_offered
    assert dispatch.match("GET", "/v1/responses/resp_1").name == "GET /v1/responses/{id}"


def test_every_row_is_matched_by_its_own_example() -> None:
    for (method, path, _), row in zip(routes_gen.surface(), ROUTES, strict=True):
        assert dispatch.match(method, path) is row


def test_route_is_a_row_type_with_enums_not_strings() -> None:
    fields = {f.name: f.type for f in dataclasses.fields(Route)}
    assert "retry" not in fields, "a field named retry shadows the retry module"
    assert fields["repeat"] == "Rule" and fields["family"] == "Family" and fields["resource"] == "Resource | None"


@pytest.mark.parametrize(
    ("row", "payload", "rule"),
    [
        ("POST /v1/responses", {}, Rule.UNSENT_ONLY),  # stored unless store: false
        ("POST /v1/responses", {"store": False}, Rule.IDEMPOTENT),
        ("POST /v1/responses", {"store": False, "conversation": "conv_1"}, Rule.UNSENT_ONLY),
        ("POST /v1/responses", {"store": False, "background": True}, Rule.UNSENT_ONLY),
        ("POST /v1/chat/completions", {}, Rule.IDEMPOTENT),  # stored only when asked
        ("POST /v1/chat/completions", {"store": True}, Rule.UNSENT_ONLY),
        ("POST /v1/files", {"store": False}, Rule.UNSENT_ONLY),  # not GENERATE: the row's own rule
        ("GET /v1/files/{id}", {}, Rule.IDEMPOTENT),
    ],
)
def test_a_row_s_rule_for_one_request(row: str, payload: dict[str, object], rule: Rule) -> None:
    rows = {r.name: r for r in ROUTES}
    assert rows[row].rule_for(payload) is rule


def test_the_unknown_route_answer_lists_what_the_table_serves() -> None:
    with pytest.raises(errors.ApiError) as caught:
        dispatch.match("GET", "/v1/assistants")
    assert caught.value.status == 404 and caught.value.code == "unknown_route"
    said = caught.value.message
    listed = said.split("…/v1/ (", 1)[1].split(")", 1)[0].split(", ")
    answered = [row for row in ROUTES if row.handler is not handlers.not_offered]
    for row in answered:  # whatever the table holds (a recipe's copy changes it): every row it answers, by its head
        if row.path.startswith(API_ROOT + "/"):
            assert any(row.path.startswith(f"{API_ROOT}/{head}") for head in listed), (row.name, said)
        else:
            assert f"{row.method} …{row.path}" in said, (row.name, said)
    # A family OCI does not offer at all (embeddings, completions, uploads) is not named.
    offered = {row.family for row in answered}
    for row in ROUTES:
        if row.family not in offered:
            assert row.path.split("/")[2] not in listed, (row.name, said)
    # A family turned off (docs/make-it-yours.md) is no longer offered in the answer; the others still are.
    api, others = dispatch.served(ROUTES)
    without = dispatch.served(tuple(row for row in ROUTES if row.family is not Family.CONTAINERS))
    assert without == (tuple(head for head in api if head != "containers"), others)


def test_the_unknown_route_answer_reads_as_a_sentence() -> None:
    api = ("responses", "chat/completions", "conversations", "files", "vector_stores", "containers", "models")
    assert errors.unknown_route("/v1/assistants", api, ("POST …/ (simple)", "GET …/health")).message == (
        "No route for '/v1/assistants'. This endpoint serves OCI Generative AI's OpenAI-compatible API under "
        "…/v1/ (responses, chat/completions, conversations, files, vector_stores, containers, models), "
        "POST …/ (simple) and GET …/health."
    )
    assert errors.unknown_route("/x", ("responses",), ()).message.endswith("under …/v1/ (responses).")
