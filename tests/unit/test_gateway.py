"""The local gateway mirrors the API Gateway deployment, and never echoes or logs a header value.

A real gateway on a 127.0.0.1 port in front of a real fdk process (a small
echo function written for the test), called over its socket with httpx, or
with a raw socket for requests no HTTP client would send.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dev.local.credentials import ResourcePrincipal, function_memory_mb
from dev.local.gateway import Gateway, Route
from dev.local.runner import FnRunner
from dev.local.stack import ApiKeys
from dev.routes_gen import surface

KEY_MARK = "sk-never-echo-this"

ECHO_FUNCTION = """
import hashlib, json, os

from fdk import response

BINARY = bytes(range(256)) * 16


def handler(ctx, data=None):
    body = data.read() if hasattr(data, "read") else (data or b"")
    if isinstance(body, str):
        body = body.encode()
    if ctx.RequestURL().endswith("/binary"):
        return response.Response(ctx, response_data=BINARY, headers={"Content-Type": "image/png"})
    seen = {
        "method": ctx.Method(),
        "url": ctx.RequestURL(),
        "headers": {k.lower(): v for k, v in ctx.HTTPHeaders().items()},
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "fn_memory": os.environ.get("FN_MEMORY"),
    }
    return response.Response(ctx, response_data=json.dumps(seen), headers={"Content-Type": "application/json"})
"""
BINARY = bytes(range(256)) * 16


@pytest.fixture(scope="module")
def api_keys() -> ApiKeys:
    return ApiKeys.generate("unit")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, issuer, api_keys: ApiKeys) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("echo-fn")
    (folder / "func.py").write_text(ECHO_FUNCTION)
    with (
        ResourcePrincipal(issuer) as principal,
        FnRunner(func_path=folder / "func.py", env=principal.environ(), timeout_s=30) as runner,
        Gateway([runner], authenticate=api_keys.authenticate, prefix="/genai") as gw,
    ):
        yield gw


@pytest.fixture
def http(gateway: Gateway, api_keys: ApiKeys) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {api_keys.key}"}
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as client:
        yield client


def raw_request(gateway: Gateway, head: bytes) -> bytes:
    """Send bytes no HTTP client would, and read the whole answer (the gateway closes after an error)."""
    with socket.create_connection((gateway.host, gateway.port), timeout=30) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


# -- routes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    # Every row of the function's table (genai_fn/routes.py), as a client calls it; the trailing-slash form
    # of a path API Gateway's `{rest*}` takes with zero segments.
    [(m, p) for m, p, anonymous in surface() if not anonymous] + [("POST", "/v1/responses/")],
)
def test_every_path_of_the_surface_reaches_the_function(http: httpx.Client, method: str, path: str) -> None:
    answer = http.request(method, path, json={} if method == "POST" else None)
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert seen["method"] == method and seen["url"] == "/genai" + (path if path != "/" else "/")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/chat/completions", 405),
        ("DELETE", "/v1/files", 405),
        ("GET", "/v1/unknown", 404),
        ("GET", "/v1/responses//x", 404),
        ("GET", "/v1/chat/completions/", 404),
        ("GET", "/elsewhere", 404),
    ],
)
def test_paths_outside_the_deployment_are_refused_by_the_gateway(
    http: httpx.Client, method: str, path: str, status: int
) -> None:
    answer = http.request(method, path)
    assert answer.status_code == status and answer.json() == {"code": status, "message": answer.reason_phrase}


def test_health_is_anonymous_and_the_rest_is_not(gateway: Gateway) -> None:
    assert httpx.get(gateway.base_url + "/health").status_code == 200
    refused = httpx.get(gateway.base_url + "/v1/files")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")


def test_wildcard_matches_zero_or_more_segments() -> None:
    route = Route("/v1/files/{rest*}", ["GET"], anonymous=False)
    assert route.matches("/v1/files/a") and route.matches("/v1/files/a/content") and route.matches("/v1/files/")
    assert route.matches("/v1/files/a/")
    assert not route.matches("/v1/files") and not route.matches("/v1/files//b") and not route.matches("/v1/filesx/a")


# -- headers and bodies ------------------------------------------------------------------------


def test_authorization_never_reaches_the_function(http: httpx.Client) -> None:
    seen = http.post("/v1/responses", json={}, headers={"X-Other": "kept"}).json()
    assert "authorization" not in seen["headers"] and seen["headers"]["x-other"] == "kept"


def test_duplicate_authorization_is_refused(gateway: Gateway, api_keys: ApiKeys) -> None:
    key = f"Bearer {api_keys.key}".encode()
    head = b"POST /genai/v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: " + key + b"\r\nAuthorization: " + key
    answer = raw_request(gateway, head + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert answer.startswith(b"HTTP/1.1 401") and api_keys.key.encode() not in answer


def test_the_gateway_names_the_client_over_any_value_the_client_sent(http: httpx.Client, gateway: Gateway) -> None:
    # As the deployment's set_headers (OVERWRITE) on every authenticated route (terraform/apigateway.tf).
    seen = http.post("/v1/responses", json={}, headers={"x-genai-client": "someone-else"}).json()
    assert seen["headers"]["x-genai-client"] == "unit"
    # The anonymous route names nobody, and drops what a client sent (filter_headers BLOCK).
    seen = httpx.get(gateway.base_url + "/health", headers={"X-GenAI-Client": "unit"}).json()
    assert "x-genai-client" not in seen["headers"]


def test_the_gateway_401_is_what_the_deployment_is_configured_to_send(gateway: Gateway) -> None:
    policy = json.loads((Path(__file__).resolve().parents[2] / "terraform" / "gateway.json").read_text())
    refused = httpx.post(gateway.base_url + "/v1/responses", json={}, headers={"Authorization": "Bearer sk-wrong"})
    assert refused.status_code == policy["unauthorized"]["status"] == 401
    assert refused.text == policy["unauthorized"]["message"]
    for name, value in policy["unauthorized"]["headers"].items():
        assert refused.headers[name] == value


def test_multipart_and_binary_bodies_pass_untouched(http: httpx.Client) -> None:
    request = http.build_request("POST", "/v1/files", files={"file": ("a.bin", BINARY, "application/octet-stream")})
    sent = request.read()
    seen = http.send(request).json()
    assert seen["length"] == len(sent) and seen["sha256"] == hashlib.sha256(sent).hexdigest()
    assert seen["headers"]["content-type"].startswith("multipart/form-data; boundary=")


def test_binary_answers_come_back_untouched(http: httpx.Client) -> None:
    answer = http.get("/v1/files/file-1/binary")
    assert answer.status_code == 200 and answer.content == BINARY and answer.headers["content-type"] == "image/png"


def test_body_limit_is_six_megabytes(http: httpx.Client, gateway: Gateway) -> None:
    limit = gateway.max_body_bytes
    assert limit == 6 * 1024 * 1024
    body = b'{"input": "' + b"x" * (limit - 13) + b'"}'
    assert len(body) == limit - 0 and http.post("/v1/responses", content=body).json()["length"] == limit
    too_big = http.post("/v1/responses", content=body + b" ")
    assert too_big.status_code == 413 and too_big.json() == {"code": 413, "message": "Payload Too Large"}


def test_the_container_has_the_memory_func_yaml_declares(http: httpx.Client) -> None:
    assert http.post("/", json={}).json()["fn_memory"] == function_memory_mb() == "128"


# -- hygiene: malformed requests ----------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_line",
    [
        b"Authorization: Bearer " + KEY_MARK.encode() + b"\r\r\n",  # a stray CR
        b"Authorization: Bearer sk-never-\x01echo-this\r\n",  # a control character
        b"Authorization: Bearer " + KEY_MARK.encode() + b"\n",  # LF without CR
        b"Authorization: Bearer " + KEY_MARK.encode() + b"\x00\r\n",  # NUL
    ],
)
def test_a_malformed_header_is_refused_without_echo_or_log(
    gateway: Gateway, bad_line: bytes, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    head = b"POST /genai/v1/responses HTTP/1.1\r\nHost: x\r\n" + bad_line + b"Content-Length: 0\r\n\r\n"
    answer = raw_request(gateway, head)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.") and b" 400 " in status_line
    body = rest.partition(b"\r\n\r\n")[2]
    assert json.loads(body) == {"code": 400, "message": "Bad Request"}
    for secret in (b"never", b"echo-this"):
        assert secret not in answer
    logged = caplog.text + "".join(capfd.readouterr())
    assert "400" in logged, "the refusal is logged"
    assert "never" not in logged and "echo-this" not in logged
