"""Hostile answers from the model service: status × headers × body, from a real local server.

Each example scripts one answer on tests/reliability/hostile.py's server (any
status, Content-Type, Content-Encoding real or false, Retry-After and
retry-after-ms of any text, opc-request-ids of any length, bodies of every
shape: Responses objects, `[{},{},…]`, deep nesting, event streams, gzip and
deflate bombs, bytes) and sends one request (create, streamed create,
retrieve, file content, the simple route) to one fdk process on the image's
trimmed dependencies. Whatever the answer, the function must:

* answer the status docs/fault-matrix.md gives for the upstream's status
  (2xx passed on byte for byte, or a 502 that says why; 429 → 429 with a
  bounded Retry-After; 401/403 → 502; 404 → 404 on an id, else 502; other
  4xx passed on; anything else → 502), never `internal_error`;
* echo no header value longer than a few hundred characters;
* stay within MEMORY_BUDGET_MIB of peak RSS, checked after every example.

FUZZ_EXAMPLES sets the examples (300 by default, 10,000 in `make soak`); the
test writes how many ran, what they covered and the peak RSS to the terminal.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dev import image_site as site
from dev.local.emulator import Emulator
from dev.local.proc import ProcessProbe
from dev.local.runner import FnRunner
from tests.fuzz.support import EXAMPLES, FUZZ
from tests.reliability.hostile import (
    HostileUpstream,
    Play,
    deep,
    deflate_bomb,
    gzip_bomb,
    response_json,
    sse_final,
    wide,
)

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
MEMORY_BUDGET_MIB = 110
#: The platform's timeout for each example: the function's own budget is 1 s less.
TIMEOUT_S = 10.0
JSON = {"content-type": "application/json"}

#: name → (method, path, body, 404 means "no such resource").
REQUESTS = {
    "create": ("POST", "/v1/responses", b'{"input": "hi", "store": false}', False),
    "stream": ("POST", "/v1/responses", b'{"input": "hi", "store": false, "stream": true}', False),
    "retrieve": ("GET", "/v1/responses/resp_1", b"", True),
    "file content": ("GET", "/v1/files/file-1/content", b"", True),
    "simple": ("POST", "/", b'{"input": "hi"}', False),
}
#: What a 2xx from the upstream may become when the function cannot pass it on (errors.py).
REFUSED_2XX = {"upstream_malformed", "upstream_answer_too_large", "upstream_stream_incomplete"}

STATUSES = st.one_of(
    st.sampled_from([200, 201, 202, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504]),
    st.integers(200, 599).filter(lambda s: s not in (204, 205, 304)),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/jsonl",
        "application/json-seq",
        "text/event-stream",
        "text/event-stream; charset=utf-8",
        "application/octet-stream",
        "text/plain",
        "json",
        "application/json\x7f",
        "a/" + "b" * 400,
    ]
)
NUMBERS = st.one_of(
    st.sampled_from(["1e999", "inf", "-inf", "nan", "-1", "0", "1e308", "0.001", "1", "Wed, 21 Oct 2099 07:28:00 GMT"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
)
REQUEST_IDS = st.one_of(
    st.just("ABCDEF0123/456789/ABCDEF"),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
    st.integers(1, 90_000).map(lambda n: "A" * n),
)


def body_of(kind: str, size: int) -> bytes:
    """One answer body of `kind`, about `size` bytes where the kind has a size."""
    if kind == "response":
        return response_json("x" * size)
    if kind == "wide":
        return wide(size)
    if kind == "wide output":
        return b'{"id":"resp_1","output":' + wide(size) + b"}"
    if kind == "deep":
        return deep(min(size, 30_000))
    if kind == "deep output":
        return b'{"id":"resp_1","output":' + deep(min(size, 30_000)) + b"}"
    if kind == "stream":
        return sse_final(response_json("x" * size))
    if kind == "stream, wide final":
        return sse_final(b'{"id":"resp_1","output":' + wide(size) + b"}")
    if kind == "stream, error event":
        return b'event: error\ndata: {"type":"error","error":{"message":"' + b"m" * size + b'"}}\n\n'
    if kind == "error":
        return json.dumps({"error": {"message": "m" * size, "type": "x", "param": None, "code": "c" * 50}}).encode()
    if kind == "oci error":
        return json.dumps({"code": "TooManyRequests", "message": "m" * size}).encode()
    if kind == "truncated":
        return response_json("x" * size)[: max(1, size // 2)]
    return bytes(range(256)) * (size // 256 + 1)


BODY_KINDS = st.sampled_from(
    [
        "response",
        "wide",
        "wide output",
        "deep",
        "deep output",
        "stream",
        "stream, wide final",
        "stream, error event",
        "error",
        "oci error",
        "truncated",
        "bytes",
    ]
)
SIZES = st.sampled_from([0, 10, 1000, 70_000, 1 * MiB, 5 * MiB, 7 * MiB])
ENCODINGS = st.sampled_from(
    ["", "gzip", "deflate", "fake gzip", "br", "gzip, gzip", "identity", "bomb", "deflate bomb"]
)


@dataclass(frozen=True)
class Example:
    request: str
    status: int
    content_type: str | None
    encoding: str
    body_kind: str
    size: int
    retry_after: str | None
    retry_after_ms: str | None
    request_id: str | None

    def play(self) -> Play:
        body = body_of(self.body_kind, self.size)
        headers = []
        if self.content_type is not None:
            headers.append(("Content-Type", self.content_type))
        if self.encoding == "gzip":
            body, coding = gzip.compress(body, 1), "gzip"
        elif self.encoding == "deflate":
            body, coding = zlib.compress(body, 1), "deflate"
        elif self.encoding == "bomb":
            body, coding = gzip_bomb(64 * MiB), "gzip"
        elif self.encoding == "deflate bomb":
            body, coding = deflate_bomb(64 * MiB), "deflate"
        elif self.encoding == "fake gzip":
            coding = "gzip"
        else:
            coding = self.encoding
        if coding:
            headers.append(("Content-Encoding", coding))
        for name, value in (
            ("Retry-After", self.retry_after),
            ("retry-after-ms", self.retry_after_ms),
            ("opc-request-id", self.request_id),
        ):
            if value is not None:
                headers.append((name, value))
        return Play(self.status, tuple(headers), body)


EXAMPLES_OF = st.builds(
    Example,
    request=st.sampled_from(list(REQUESTS)),
    status=STATUSES,
    content_type=CONTENT_TYPES,
    encoding=ENCODINGS,
    body_kind=BODY_KINDS,
    size=SIZES,
    retry_after=st.none() | NUMBERS,
    retry_after_ms=st.none() | NUMBERS,
    request_id=st.none() | REQUEST_IDS,
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[HostileUpstream]:
    with HostileUpstream() as server:
        yield server


@pytest.fixture
def runner(function_env: dict[str, str], upstream: HostileUpstream, emulator: Emulator) -> Iterator[FnRunner]:
    env = {**function_env, "GENAI_BASE_URL": upstream.base_url, "GENAI_MAX_RETRIES": "0"}
    with FnRunner(env=env, site_dir=site.build(), entrypoint=site.entrypoint(), timeout_s=TIMEOUT_S) as fn:
        yield fn


def expected(example: Example, answer_status: int, code: str | None) -> bool:
    """Whether (status, code) is what docs/fault-matrix.md gives for the upstream's status on this request."""
    status, resource = example.status, REQUESTS[example.request][3]
    if 200 <= status < 300:
        if example.request == "simple":
            return answer_status == 200 or (answer_status == 502 and code in REFUSED_2XX)
        return answer_status == status or (answer_status == 502 and code in REFUSED_2XX)
    if status == 429:
        return (answer_status, code) == (429, "rate_limited")
    if status == 404 and resource:
        return answer_status == 404 and code is not None and code.endswith("_not_found")
    if status in (401, 403, 404):
        return (answer_status, code) == (502, "upstream_not_authorized")
    if 400 <= status < 500:
        return answer_status == status and code is not None
    return (answer_status, code) == (502, "upstream_error")


def test_any_upstream_answer_gets_a_documented_status_within_the_memory_budget(
    runner: FnRunner, upstream: HostileUpstream, quiet_client_logs: None, request: pytest.FixtureRequest
) -> None:
    seen: Counter[str] = Counter()
    upstream_statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()
    peak = [0.0]
    over: list[str] = []

    @FUZZ
    @given(example=EXAMPLES_OF)
    def one(example: Example) -> None:
        play = example.play()
        upstream.play(play)
        method, path, body, _ = REQUESTS[example.request]
        answer = runner.invoke(method, path, headers=JSON, body=body)
        assert runner.pid is not None and runner.starts == 1, "the container was cut off or crashed"
        hwm = ProcessProbe.of(runner.pid).hwm_kb / 1024
        if hwm > MEMORY_BUDGET_MIB and not over:
            # Peak RSS only grows: the first example past the budget is the one to report (hypothesis would
            # shrink to whichever example runs next, since the process keeps its peak).
            over.append(f"{example} took the peak to {hwm:.1f} MiB")
        peak[0] = max(peak[0], hwm)
        code = None
        if not 200 <= answer.status < 300:
            error = json.loads(answer.body)["error"]
            assert set(error) == {"message", "type", "param", "code"}, error
            code = error["code"]
        assert code != "internal_error", answer.body[:500]
        assert expected(example, answer.status, code), (answer.status, code, answer.body[:300])
        assert all(len(value) <= 300 for value in answer.headers.values()), answer.headers
        if answer.status == 429:
            assert 1 <= int(answer.headers["retry-after"]) <= 3600
        if 200 <= answer.status < 300 and example.request != "simple" and example.encoding in ("", "identity"):
            assert bytes(answer.body) == play.body, "a 2xx answer is passed on byte for byte"
        shown = answer.status if answer.status in (404, 429, 502, 504) else f"{answer.status // 100}xx"
        seen[f"{example.request} {shown}"] += 1
        upstream_statuses[
            example.status // 100 * 100 if example.status not in (401, 403, 404, 429) else example.status
        ] += 1
        codes[code or "-"] += 1

    one()
    total = sum(seen.values())
    # Written past pytest's capture, so that `make soak` shows the figures without -s.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    lines = (
        f"upstream fuzz: {total} examples (FUZZ_EXAMPLES={EXAMPLES}), peak RSS {peak[0]:.1f} MiB",
        "  upstream status: " + ", ".join(f"{k}: {v}" for k, v in sorted(upstream_statuses.items())),
        "  caller's code: " + ", ".join(f"{k}: {v}" for k, v in sorted(codes.items())),
        "  route and status: " + ", ".join(f"{k}: {v}" for k, v in sorted(seen.items())),
    )
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + "\n".join(lines))
    assert not over, over[0]
    assert total >= min(EXAMPLES, 50), "hypothesis ran fewer examples than asked"
