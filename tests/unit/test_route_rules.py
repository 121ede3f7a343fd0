"""Route defects found by probing the routes, each as it shows to a client, through fdk's request path in-process
against a real upstream on a loopback port (the emulator, or a small SSE server where the emulator has
no such answer). Through the local gateway: tests/integration/test_gateway_routes.py."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import invoke, load_function

MODEL = "openai.gpt-oss-120b"


@pytest.fixture
def fn(monkeypatch, function_env):
    return load_function(monkeypatch, function_env)


def post(fn, url, payload):
    return invoke(fn, "POST", url, json.dumps(payload).encode(), {"content-type": "application/json"})


def error_of(body: bytes) -> dict[str, Any]:
    return json.loads(body)["error"]


def invocation_lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    err = capfd.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.startswith('{"event":"invocation"')]


# -- resuming a background response's stream ------------------------------------------

_DELTA = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":4,"delta":"lo"}\n\n'  # noqa: E501
_DONE = (
    b'event: response.completed\ndata: {"type":"response.completed","sequence_number":5,"response":'
    b'{"id":"resp_bg","object":"response","status":"completed","output":[]}}\n\n'
)


class _Resumer(BaseHTTPRequestHandler):
    """GET …/responses/{id}?stream=true as OpenAI answers it: the events after `starting_after`.
    `resp_cut` stops before its final event."""

    seen: ClassVar[list[tuple[str, dict[str, list[str]]]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.seen.append((url.path, parse_qs(url.query)))
        body = _DELTA if url.path.endswith("/resp_cut") else _DELTA + _DONE
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def resumer(monkeypatch, function_env) -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Resumer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Resumer.seen = []
    env = {**function_env, "GENAI_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/openai/v1"}
    try:
        yield load_function(monkeypatch, env)
    finally:
        server.shutdown()
        server.server_close()


def test_resuming_a_background_stream_is_passed_on_as_a_checked_responses_stream(resumer) -> None:
    status, headers, body = invoke(resumer, "GET", "/genai/v1/responses/resp_bg?stream=true&starting_after=3")
    assert status == 200, body[:300]
    assert headers["content-type"].startswith("text/event-stream") and body == _DELTA + _DONE
    assert _Resumer.seen == [("/openai/v1/responses/resp_bg", {"stream": ["true"], "starting_after": ["3"]})]


def test_a_resumed_stream_that_stops_early_is_a_502_not_half_an_answer(resumer) -> None:
    status, _, body = invoke(resumer, "GET", "/genai/v1/responses/resp_cut?stream=true&starting_after=3")
    assert status == 502 and error_of(body)["code"] == "upstream_stream_incomplete"


# -- paths -----------------------------------------------------------------------------


def test_vector_store_file_content_is_a_route_sent_signed(fn, emulator) -> None:
    status, _, body = invoke(fn, "GET", "/genai/v1/vector_stores/vs_1/files/file_1/content")
    call = emulator.calls[-1]
    # The emulator may or may not serve it yet: what matters here is that the function sent it, signed.
    assert call.path == "/openai/v1/vector_stores/vs_1/files/file_1/content" and call.jti, (status, body[:300])
    assert not (status == 404 and error_of(body)["code"] == "unknown_route")


def test_a_trailing_slash_under_v1_is_the_path_without_it_not_the_simple_route(fn, emulator) -> None:
    status, _, body = post(fn, "/genai/v1/responses/", {"model": MODEL, "input": "slash"})
    assert status == 200 and json.loads(body)["object"] == "response", body[:300]
    assert emulator.calls[-1].path == "/openai/v1/responses"
    status, _, body = invoke(fn, "GET", "/genai/v1/files/")
    assert status == 200 and json.loads(body)["object"] == "list", body[:300]


def test_only_the_deployment_root_is_the_simple_route(fn) -> None:
    status, _, body = post(fn, "/genai/", {"input": "root"})
    assert status == 200 and set(json.loads(body)) == {"id", "model", "output_text", "usage"}


@pytest.mark.parametrize(
    "path", ["/genai/v1/embeddings", "/genai/v1/completions", "/genai/v1/uploads", "/genai/v1/responses/compact"]
)
def test_paths_oci_does_not_offer_say_so(fn, emulator, path: str) -> None:
    before = len(emulator.calls)
    status, _, body = post(fn, path, {"model": MODEL, "input": "x"})
    assert status == 404 and error_of(body)["code"] == "not_offered_by_oci"
    assert len(emulator.calls) == before


# -- not found: identifiers for codes, the missing thing named ------------------------------

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def test_a_missing_container_is_named_and_the_code_is_an_identifier(fn) -> None:
    status, _, body = invoke(fn, "GET", "/genai/v1/containers/cntr_missing/files/cfile_1")
    error = error_of(body)
    # The path's own resource is a container file; the service's code says it is the container that is missing.
    assert status == 404 and error["code"] == "container_not_found" and _CODE.match(error["code"])
    assert error["message"].startswith("No such container,") and "Container with id 'cntr_missing'" in error["message"]


def test_a_missing_vector_store_is_named_and_the_code_is_an_identifier(fn) -> None:
    status, _, body = invoke(fn, "GET", "/genai/v1/vector_stores/vs_missing/files")
    error = error_of(body)
    assert status == 404 and error["code"] == "vector_store_not_found", error
    assert error["message"].startswith("No such vector store,") and "vs_missing" in error["message"]


def test_a_missing_conversation_item_code_is_an_identifier(fn) -> None:
    conversation = json.loads(post(fn, "/genai/v1/conversations", {})[2])["id"]
    status, _, body = invoke(fn, "GET", f"/genai/v1/conversations/{conversation}/items/msg_missing")
    error = error_of(body)
    assert status == 404 and error["code"] == "conversation_item_not_found"
    assert error["message"].startswith("No such conversation item,")


# -- the log line ----------------------------------------------------------------------


def test_a_refused_model_is_logged_as_the_fixed_marker_not_the_clients_string(fn, capfd) -> None:
    capfd.readouterr()
    status, _, _ = post(fn, "/genai/v1/responses", {"model": "x" * 300, "input": "x"})
    (line,) = invocation_lines(capfd)
    assert status == 404 and line["error_code"] == "model_not_found"
    assert line["model"] == "(refused)" and line["route"] == "POST /v1/responses"


def test_an_unknown_route_logs_what_was_asked(fn, capfd) -> None:
    capfd.readouterr()
    status, _, _ = invoke(fn, "GET", "/genai/v1/assistants/" + "a" * 300)
    (line,) = invocation_lines(capfd)
    assert status == 404 and line["route"] == "GET " + ("/v1/assistants/" + "a" * 300)[:100]


def test_a_wrong_method_logs_the_row_it_matched_without_the_id(fn, capfd) -> None:
    capfd.readouterr()
    status, _, _ = invoke(fn, "DELETE", "/genai/v1/files/file-secretish/content")
    (line,) = invocation_lines(capfd)
    assert status == 405 and line["route"] == "DELETE /v1/files/{id}/content"
