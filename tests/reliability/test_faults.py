"""The fault matrix, end to end through the gateway: what tests/integration/test_chain.py does not cover.

test_chain.py proves, for a create through the gateway, that retries exhausted
on 429 (with and without retry-after), 500, 503 and a dropped connection reach
the caller as documented, that a malformed body is `upstream_malformed`, that
a stream truncated once is retried, that credentials rotated mid-run and an
expired token behave, and that a hanging upstream gets the function's own 504.

This file adds the rest: transient faults that a retry heals; a Retry-After
longer than the budget; persistent faults on the other routes (stream, simple,
retrieve), with the number of attempts; slow answers; a stream truncated on
every attempt; a hang on the stream and simple routes; and the private key
missing or unreadable, at start and mid-run. Every test also checks that the
function answered inside its deadline (the platform never had to cut it off)
and that the next healthy call succeeds. docs/fault-matrix.md is the table.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dev.local.credentials import ResourcePrincipal
from dev.local.emulator import Emulator
from dev.local.stack import Stack
from tests.conftest import stack_for_tests
from tests.reliability.support import ROOT, RecordingRunner, output_text

pytestmark = pytest.mark.soak

#: The platform's timeout for these containers; the function's own budget is this minus 1 s (its margin).
TIMEOUT_S = 4.0
#: A deadline a cold start fits in on a loaded machine: a container's first model call imports the SDKs and
#: builds the client, which on a busy machine can take most of the 3 s budget above.
COLD_TIMEOUT_S = 30.0
MAX_RETRIES = 2


#: One function container that records its answers, behind the gateway at /genai.
CONTAINER: dict[str, Any] = {"runner_class": RecordingRunner, "timeout_s": TIMEOUT_S, "prefix": "/genai"}
CONFIG = {"GENAI_ALLOWED_MODELS": "*", "GENAI_MAX_RETRIES": str(MAX_RETRIES)}


def container(stack: Stack) -> tuple[RecordingRunner, httpx.Client]:
    """The stack's function container, and a client with the API key."""
    runner = stack.runner
    assert isinstance(runner, RecordingRunner)
    return runner, stack.client()


def warm(runner: RecordingRunner) -> None:
    """Make the container's first model call (SDK imports, client) with a deadline a cold start fits in,
    invoked as the platform does, so that no test's budget pays for it; then forget its answer."""
    body = b'{"input": "warm"}'
    answer = runner.invoke(
        "POST", "/v1/responses", headers={"Content-Type": "application/json"}, body=body, timeout_s=COLD_TIMEOUT_S
    )
    assert answer.status == 200, answer.body
    runner.answers.clear()


@pytest.fixture(scope="module")
def shared(emulator_server: Emulator) -> Iterator[tuple[RecordingRunner, httpx.Client]]:
    """One warm container for the upstream faults: each test leaves it healthy (and checks that it does)."""
    with stack_for_tests(emulator_server, config=CONFIG, **CONTAINER) as stack:
        pair = container(stack)
        warm(pair[0])
        yield pair


@pytest.fixture
def runner(shared: tuple[RecordingRunner, httpx.Client], emulator: Emulator) -> RecordingRunner:
    """The shared container, its record of answers emptied; `emulator` clears the faults around each test."""
    shared[0].answers.clear()
    return shared[0]


@pytest.fixture
def client(shared: tuple[RecordingRunner, httpx.Client]) -> httpx.Client:
    return shared[1]


@pytest.fixture
def fresh(make_stack: Callable[..., Stack]) -> tuple[RecordingRunner, httpx.Client]:
    """A container of its own, on the test's principal: its client is built on its first model call.

    That call is cold by design (what these tests are about is the credentials it reads), so the container's
    deadline is one a cold start fits in; every answer is still checked to come before it, from the function.
    """
    return container(make_stack(config=CONFIG, **{**CONTAINER, "timeout_s": COLD_TIMEOUT_S}))


def create(client: httpx.Client, text: str, **fields: Any) -> httpx.Response:
    return client.post("/v1/responses", json={"input": text, **fields}, timeout=30)


def error_of(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]  # type: ignore[no-any-return]


def answered_in_time_and_healthy(runner: RecordingRunner, client: httpx.Client) -> None:
    """Every answer came from the function before the deadline, and the next healthy call succeeds."""
    assert runner.answers and all(a.elapsed_s < runner.timeout_s for a in runner.answers), [
        (a.status, round(a.elapsed_s, 2)) for a in runner.answers
    ]
    assert runner.starts == 1, "the platform had to cut a call off and restart the container"
    answer = create(client, "healthy again")
    assert answer.status_code == 200 and output_text(answer.json()) == "Echo: healthy again"


def last_log_line(runner: RecordingRunner, status: int) -> dict[str, Any]:
    """The function's log line of the last call it answered (waited for), which answered `status`."""
    line = runner.log_for(runner.answers[-1].call_id)
    assert line["status"] == status, line
    return line


# -- transient faults: one retry heals them ------------------------------------------


@pytest.mark.parametrize(
    "fault, value",
    [("429", 0.5), ("429-no-retry-after", 0), ("500", 0), ("503", 0), ("drop", 0)],
)
def test_a_transient_fault_is_retried_and_the_caller_gets_200(runner, client, emulator, fault, value):
    emulator.inject(fault, times=1, value=value)
    before = len(emulator.calls)
    # store: false creates nothing, so any transient failure may be retried (genai_fn/retry.py).
    answer = create(client, f"after one {fault}", store=False)
    assert answer.status_code == 200 and output_text(answer.json()) == f"Echo: after one {fault}"
    assert [c.fault for c in emulator.calls[before:]] == [fault, ""], "one failed attempt, one retry"
    assert last_log_line(runner, 200)["attempts"] == 2
    if fault == "429":
        assert runner.answers[-1].elapsed_s >= value, "the retry waited for the upstream's Retry-After"
    answered_in_time_and_healthy(runner, client)


@pytest.mark.parametrize("fault", ["500", "503", "drop"])
def test_a_stored_create_is_not_repeated_after_a_failure_that_may_have_stored_it(runner, client, emulator, fault):
    emulator.inject(fault, times=1)
    before = len(emulator.calls)
    answer = create(client, f"stored, then {fault}")
    assert answer.status_code == 502 and error_of(answer)["code"] in ("upstream_error", "upstream_unreachable")
    assert [c.fault for c in emulator.calls[before:]] == [fault], "no second stored response"
    emulator.clear_faults()
    answered_in_time_and_healthy(runner, client)


def test_a_retry_after_longer_than_the_budget_is_not_waited_for(runner, client, emulator):
    emulator.inject("429", times=5, value=30)
    before = len(emulator.calls)
    answer = create(client, "throttled for long")
    assert answer.status_code == 429 and error_of(answer)["code"] == "rate_limited"
    assert answer.headers["retry-after"] == "30", "the caller learns how long to wait"
    assert len(emulator.calls) - before == 1, "a 30 s wait cannot fit a 3 s budget: no retry"
    emulator.clear_faults()
    answered_in_time_and_healthy(runner, client)


# -- persistent faults on the routes test_chain.py does not exercise -----------------


def send(client: httpx.Client, route: str, response_id: str = "") -> httpx.Response:
    if route == "stream":
        return client.post("/v1/responses", json={"input": "x", "stream": True}, timeout=30)
    if route == "stream-unstored":
        return client.post("/v1/responses", json={"input": "x", "stream": True, "store": False}, timeout=30)
    if route == "chat-stream":
        body = {"messages": [{"role": "user", "content": "x"}], "stream": True}
        return client.post("/v1/chat/completions", json=body, timeout=30)
    if route == "simple":  # the deployment's simple route is the prefix itself
        return client.post("/", content=b"x", headers={"Content-Type": "text/plain"}, timeout=30)
    return client.get(f"/v1/responses/{response_id}", timeout=30)


@pytest.mark.parametrize(
    "route, fault, status, code, attempts",
    [
        ("stream", "429-no-retry-after", 429, "rate_limited", 1 + MAX_RETRIES),
        ("simple", "429", 429, "rate_limited", 1 + MAX_RETRIES),
        # The simple route stores its response (previous_response_id works on it): a 503 is not repeated.
        ("simple", "503", 502, "upstream_error", 1),
        ("retrieve", "500", 502, "upstream_error", 1 + MAX_RETRIES),
        ("retrieve", "drop", 502, "upstream_unreachable", 1 + MAX_RETRIES),
        ("stream", "truncate", 502, "upstream_unreachable", 1),
        ("stream-unstored", "truncate", 502, "upstream_unreachable", 1 + MAX_RETRIES),
        # Streams are whole or refused: never a 200 with half an answer.
        ("stream-unstored", "partial-stream", 502, "upstream_stream_incomplete", 1 + MAX_RETRIES),
        ("stream-unstored", "error-event", 502, "upstream_stream_incomplete", 1 + MAX_RETRIES),
        ("stream", "partial-stream", 502, "upstream_stream_incomplete", 1),
        ("chat-stream", "no-done", 502, "upstream_stream_incomplete", 1 + MAX_RETRIES),
        ("chat-stream", "error-event", 502, "upstream_stream_incomplete", 1 + MAX_RETRIES),
        ("simple", "malformed", 502, "upstream_malformed", 1),
        ("retrieve", "malformed", 502, "upstream_malformed", 1),
    ],
)
def test_a_persistent_fault_on_every_route(runner, client, emulator, route, fault, status, code, attempts):
    response_id = create(client, "stored, to be retrieved").json()["id"] if route == "retrieve" else ""
    emulator.inject(fault, times=10, value=0.1)
    before = len(emulator.calls)
    answer = send(client, route, response_id)
    assert answer.status_code == status and error_of(answer)["code"] == code, answer.text
    assert [c.fault for c in emulator.calls[before:]] == [fault] * attempts
    assert last_log_line(runner, status)["attempts"] == attempts
    if status == 429:
        assert answer.headers["retry-after"] == "1"
    emulator.clear_faults()
    answered_in_time_and_healthy(runner, client)


# -- slow and hanging upstreams ------------------------------------------------------------


def test_a_slow_answer_within_the_budget_is_waited_for(runner, client, emulator):
    before = len(emulator.calls)
    answer = create(client, "take your time [[fault:slow:1.5]]")
    assert answer.status_code == 200 and output_text(answer.json()) == "Echo: take your time"
    assert len(emulator.calls) - before == 1, "slow is not failed: no retry"
    assert runner.answers[-1].elapsed_s >= 1.5
    answered_in_time_and_healthy(runner, client)


def test_an_attempt_slower_than_its_timeout_is_retried_then_504(make_stack, emulator):
    fn, http = container(make_stack(config={**CONFIG, "GENAI_TIMEOUT_SECONDS": "1"}, **CONTAINER))
    warm(fn)  # the SDK's import is not to eat the budget under test
    emulator.inject("slow", times=10, value=2.5)
    before = len(emulator.calls)
    answer = create(http, "too slow every time", store=False)
    assert answer.status_code == 504 and error_of(answer)["code"] == "deadline_exceeded"
    attempts = last_log_line(fn, 504)["attempts"]
    assert attempts >= 2 and len(emulator.calls) - before == attempts, "each timed-out attempt was retried"
    emulator.clear_faults()
    answered_in_time_and_healthy(fn, http)


@pytest.mark.parametrize("route", ["stream", "simple"])
def test_a_hang_on_the_other_routes_gets_the_functions_504(runner, client, emulator, route):
    if route == "stream":
        answer = client.post("/v1/responses", json={"input": "[[fault:hang]]", "stream": True}, timeout=30)
    else:
        answer = client.post("/", json={"input": "[[fault:hang]]"}, timeout=30)
    assert answer.status_code == 504 and error_of(answer)["code"] == "deadline_exceeded"
    assert answer.headers["content-type"] == "application/json", "a JSON error, not an event stream"
    assert last_log_line(runner, 504)["attempts"] == 1, "the one attempt was given the whole budget"
    answered_in_time_and_healthy(runner, client)


# -- the resource principal's private key, missing or unreadable ----------------------------


def key_lines(principal: ResourcePrincipal) -> list[str]:
    """The base64 lines of the principal's private key as it is now (before a test breaks the file)."""
    return Path(principal.pem_path).read_text().splitlines()[1:-1]


def assert_discloses_nothing(error: dict[str, Any], principal: ResourcePrincipal, key: list[str]) -> None:
    """The documented credentials_unavailable error: mode and culprit named, nothing else."""
    message = error["message"]
    assert error["type"] == "server_error" and error["code"] == "credentials_unavailable"
    assert message.startswith("OCI_AUTH=resource_principal: "), message
    for secret in ("BEGIN", "PRIVATE KEY", principal.token[:40], principal.directory, str(ROOT), "Traceback", 'File "'):
        assert secret not in message, f"{secret!r} in {message!r}"
    assert not any(line in message for line in key), message
    assert not re.search(r"(?<![\w.~:/])/(tmp|home|root|work|var|etc)\b", message), message


def test_a_missing_private_key_is_credentials_unavailable_until_rotated(fresh, principal, emulator):
    runner, client = fresh
    key = key_lines(principal)
    os.unlink(principal.pem_path)
    before = len(emulator.calls)
    answer = create(client, "no key yet")
    assert answer.status_code == 502
    error = error_of(answer)
    assert_discloses_nothing(error, principal, key)
    assert "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM" in error["message"], "the culprit is named"
    assert len(emulator.calls) == before, "nothing was sent unsigned"
    principal.rotate()  # the platform writes the key and token again
    answered_in_time_and_healthy(runner, client)


def _corrupt(path: str) -> None:
    lines = Path(path).read_bytes().splitlines()
    body = base64.b64decode(b"".join(lines[1:-1]))
    flipped = bytes(b ^ 0xFF for b in body[:64]) + body[64:]
    encoded = base64.encodebytes(flipped)
    Path(path).write_bytes(lines[0] + b"\n" + encoded + lines[-1] + b"\n")


def _replace_with_a_directory(path: str) -> None:
    os.unlink(path)
    os.mkdir(path)


UNREADABLE = {
    "corrupt": _corrupt,
    "empty": lambda path: Path(path).write_bytes(b""),
    "not_pem": lambda path: Path(path).write_bytes(os.urandom(256)),
    "directory": _replace_with_a_directory,
    "no_permission": lambda path: os.chmod(path, 0),
}


@pytest.mark.parametrize("how", list(UNREADABLE))
def test_an_unreadable_private_key_is_credentials_unavailable_until_rotated(fresh, principal, how):
    runner, client = fresh
    if how == "no_permission" and os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode: chmod 000 cannot make it unreadable here")
    key = key_lines(principal)
    UNREADABLE[how](principal.pem_path)
    answer = create(client, "key unreadable")
    assert answer.status_code == 502
    assert_discloses_nothing(error_of(answer), principal, key)
    if os.path.isdir(principal.pem_path):
        shutil.rmtree(principal.pem_path)
    principal.rotate()
    answered_in_time_and_healthy(runner, client)


def test_a_key_removed_mid_run_is_only_needed_when_the_token_is_refused(fresh, principal, emulator):
    runner, client = fresh
    assert create(client, "key loaded").status_code == 200
    os.unlink(principal.pem_path)
    # The signer holds the key in memory: calls go on while the token is valid.
    assert create(client, "key file gone").status_code == 200
    # A 401 makes the signer re-read the files; with no key there, the caller gets the IAM error, no retry loop.
    emulator.inject("401-until-rotate")
    before = len(emulator.calls)
    answer = create(client, "token refused")
    assert answer.status_code == 502 and error_of(answer)["code"] == "upstream_not_authorized"
    assert [c.status for c in emulator.calls[before:]] == [401]
    for secret in (principal.directory, "BEGIN", "Traceback"):
        assert secret not in answer.text
    principal.rotate()
    # The old token is still revoked: 401, re-read of the new files, retry, 200.
    answered_in_time_and_healthy(runner, client)
    assert [c.status for c in emulator.calls[-2:]] == [401, 200]


def test_the_fault_matrix_names_only_tests_that_exist() -> None:
    """docs/fault-matrix.md cites file::test for every row; each must be a test in that file."""
    table = (ROOT / "docs" / "fault-matrix.md").read_text()
    cited = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)", table))
    assert len(cited) >= 10, cited
    for path, name in cited:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), f"{path}::{name} does not exist"
