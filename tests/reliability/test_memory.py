"""The memory budget: whatever a client sends (up to the 6 MB body limit) and whatever the
model service answers (up to the 6 MB the platform returns), the function's peak RSS stays
within MEMORY_BUDGET_MIB, well inside func.yaml's `memory: 128`.

Each case runs in a fresh fdk process on the image's trimmed dependencies, started by the
Dockerfile's entry point (as `make run` and the image do), warmed by one small call; peak
RSS is the process's VmHWM after the case. A memory bound, not a timing: deterministic.
Hostile shapes are refused *before* parsing (413 too_many_json_values); answers that the
platform could not deliver are refused as they are read (502 upstream_answer_too_large).

The second table is what the upstream answers: hostile shapes, encodings, header values
and paces from a real local server, and files a client uploads and downloads. docs/fault-matrix.md
lists every case with its answer and peak RSS.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dev import image_site as site
from dev.local.emulator import Emulator
from dev.local.proc import ProcessProbe
from dev.local.runner import DEFAULT_TIMEOUT_S, FnRunner
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
BODY_LIMIT = 6 * MiB
JSON = {"content-type": "application/json"}


def fill(prefix: bytes, unit: bytes, suffix: bytes, size: int = BODY_LIMIT - 64) -> bytes:
    """`prefix unit,unit,… suffix`, as close to `size` bytes as whole units allow."""
    return prefix + b",".join([unit] * ((size - len(prefix) - len(suffix)) // (len(unit) + 1))) + suffix


def text_input(text: str, *, ascii_only: bool = False, **fields: object) -> bytes:
    return json.dumps({"input": text, "store": False, **fields}, ensure_ascii=ascii_only).encode()


def near_limit(unit: str, *, escaped: bool = False) -> str:
    width = len(json.dumps(unit)) - 2 if escaped else len(unit.encode())
    return unit * ((BODY_LIMIT - 200) // width)


IMAGE = {
    "role": "user",
    "content": [
        {"type": "input_text", "text": "What is in this image?"},
        {"type": "input_image", "image_url": "data:image/png;base64," + "A" * (BODY_LIMIT - 400)},
    ],
}

#: name → (request body, the status it must get). Bodies at the limit, answers near 6 MB.
CASES: dict[str, tuple[bytes, int]] = {
    "wide array of {}": (fill(b'{"input":[', b"{}", b"]}"), 413),
    "wide array of []": (fill(b'{"input":[', b"[]", b"]}"), 413),
    "many small numbers": (fill(b'{"input":"x","metadata":{"n":[', b"7", b"]}}"), 413),
    "many keys": (b'{"input":"x","metadata":{' + b",".join(b'"%08x":0' % i for i in range(480_000)) + b"}}", 413),
    # Each {} counts twice (its opener and its comma): 49,000 of them are just under 100,000 values.
    "just under the value limit": (fill(b'{"input":"x","metadata":{"n":[', b"{}", b"]}}", 49_000 * 3), 200),
    "long ASCII string, echoed (5.9 MB JSON answer)": (text_input("a" * int(5.9 * MiB)), 200),
    "long ASCII string, answer past 6 MB": (text_input(near_limit("a")), 502),
    "non-ASCII text, answer larger than 6 MB": (text_input(near_limit("é")), 502),
    "emoji text": (text_input(near_limit("😀")), 502),
    "non-ASCII escaped by the client, answer past 6 MB": (
        text_input(near_limit("é", escaped=True), ascii_only=True),
        502,
    ),
    # A string that never ends, full of escaped quotes and commas: the value count must not go quadratic.
    "unterminated string of escaped quotes and commas": (fill(b'{"input":"', b'\\"', b""), 400),
    "base64 image": (json.dumps({"input": [IMAGE], "store": False}).encode(), 200),
    "streamed answer near the limit": (text_input("a" * int(0.8 * MiB), stream=True), 200),
    "streamed answer past the limit": (text_input("a" * (3 * MiB), stream=True), 502),
    "rewritten body (alias) with emoji": (
        json.dumps(
            {"model": "gpt-4o-mini", "input": near_limit("😀")[:-100], "store": False}, ensure_ascii=False
        ).encode(),
        502,
    ),
}


@pytest.fixture(scope="module")
def trimmed() -> Path:
    return site.build()


@pytest.fixture
def env(function_env: dict[str, str]) -> dict[str, str]:
    return {
        **function_env,
        "GENAI_ALLOWED_MODELS": "openai.gpt-oss-120b,openai.gpt-oss-20b",
        "GENAI_MODEL_ALIASES": "gpt-4o-mini=openai.gpt-oss-20b",
    }


@pytest.fixture
def container(env: dict[str, str], trimmed: Path) -> Iterator[FnRunner]:
    with FnRunner(env=env, site_dir=trimmed, entrypoint=site.entrypoint()) as runner:
        warm = runner.invoke("POST", "/v1/responses", headers=JSON, body=text_input("warm"))
        assert warm.status == 200
        yield runner


@pytest.mark.parametrize("name", list(CASES))
def test_peak_rss_stays_within_the_budget(name: str, container: FnRunner, emulator: Emulator) -> None:
    body, expected = CASES[name]
    assert len(body) <= BODY_LIMIT, "every case is a body the function accepts by size"
    answer = container.invoke("POST", "/v1/responses", headers=JSON, body=body)
    assert container.pid is not None
    peak_mib = ProcessProbe.of(container.pid).hwm_kb / 1024
    print(
        f"\n{name}: {len(body) / MiB:.2f} MiB in, {answer.status}, {len(answer.body) / MiB:.2f} MiB out, "
        f"peak RSS {peak_mib:.1f} MiB"
    )
    assert answer.status == expected, answer.body[:300]
    if expected != 200:
        code = json.loads(answer.body)["error"]["code"]
        assert code == {400: "invalid_json", 413: "too_many_json_values", 502: "upstream_answer_too_large"}[expected]
    assert peak_mib <= MEMORY_BUDGET_MIB


# -- what the upstream answers ----------------------------------------------------------------------------------
# Answers a client can make the service give (by uploading a file and downloading it) and answers only the
# upstream controls (statuses, headers, encodings, pace). Each runs in a fresh process as above, on a real local
# server (tests/reliability/hostile.py) that answers byte for byte what the case says: each is a way to crash the
# function (internal_error), get it killed at its deadline or take it past its memory budget.

FIVE_NINE_MB = 5_900_000
WIDE = wide(FIVE_NINE_MB)
CREATE = ("POST", "/v1/responses", text_input("hi"))
STREAM = ("POST", "/v1/responses", text_input("hi", stream=True))
RETRIEVE = ("GET", "/v1/responses/resp_1", b"")
FILE_CONTENT = ("GET", "/v1/files/file-1/content", b"")
SIMPLE = ("POST", "/", b'{"input": "hi"}')
#: The deadline of the cases about pace: the platform's timeout (the function's budget is 1 s less).
PACE_TIMEOUT_S = 5.0


def json_answer(body: bytes, content_type: str = "application/json", *extra: tuple[str, str]) -> Play:
    return Play(body=body, headers=(("Content-Type", content_type), ("opc-request-id", "HOSTILE/1"), *extra))


def throttled(*headers: tuple[str, str], body: bytes = b'{"code":"TooManyRequests","message":"slow down"}') -> Play:
    return Play(429, (("Content-Type", "application/json"), *headers), body)


def in_response(value: bytes) -> bytes:
    """A Responses object whose `output` is `value`: the shape is right, what is inside is hostile."""
    return b'{"id":"resp_hostile","object":"response","output":' + value + b',"usage":{"output_tokens":3}}'


@dataclass(frozen=True)
class Hostile:
    """One upstream case: the request, the answer the server gives, and what the caller must get."""

    request: tuple[str, str, bytes]
    play: Play
    status: int
    #: The error code of the answer (None: not an error, and then the body must be the upstream's, byte for byte).
    code: str | None
    #: Extra checks: the answer's headers, what the server saw.
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    #: The fewest seconds between two attempts the server saw (the backoff was taken), when set.
    backoff_s: float | None = None


HOSTILE: dict[str, Hostile] = {
    # A client's file of [{},{},…] (5.9 MB), downloaded; the same answer on the other routes.
    "file content: 5.9 MB of [{},{},…] as application/json": Hostile(FILE_CONTENT, json_answer(WIDE), 200, None),
    "retrieve: 5.9 MB of [{},{},…]": Hostile(RETRIEVE, json_answer(WIDE), 200, None),
    "create: a response whose output is 5.9 MB of [{},{},…]": Hostile(
        CREATE, json_answer(in_response(WIDE)), 200, None
    ),
    "simple route: a response whose output is 5.9 MB of [{},{},…]": Hostile(
        SIMPLE, json_answer(in_response(WIDE)), 502, "upstream_malformed"
    ),
    "stream: final event whose response holds 5.9 MB of [{},{},…]": Hostile(
        STREAM, json_answer(sse_final(in_response(WIDE)), "text/event-stream"), 200, None
    ),
    # Nested 5,000 deep (10 KB): past the interpreter's recursion limit for json.loads.
    "file content: 10 KB nested 5,000 deep": Hostile(FILE_CONTENT, json_answer(deep(5000)), 200, None),
    "retrieve: 10 KB nested 5,000 deep": Hostile(RETRIEVE, json_answer(deep(5000)), 200, None),
    "create: output nested 5,000 deep": Hostile(CREATE, json_answer(in_response(deep(5000))), 200, None),
    "simple route: output nested 5,000 deep": Hostile(
        SIMPLE, json_answer(in_response(deep(5000))), 502, "upstream_malformed"
    ),
    "stream: final event nested 5,000 deep": Hostile(
        STREAM, json_answer(sse_final(in_response(deep(5000))), "text/event-stream"), 200, None
    ),
    "error body nested 20,000 deep (400)": Hostile(
        CREATE, Play(400, (("Content-Type", "application/json"),), deep(20_000)), 400, "upstream_rejected"
    ),
    # JSON files of every flavour download byte for byte.
    "file content: application/jsonl": Hostile(
        FILE_CONTENT, json_answer(b'{"a":1}\n{"a":2}\n', "application/jsonl"), 200, None
    ),
    "file content: application/json-seq": Hostile(
        FILE_CONTENT, json_answer(b'\x1e{"a":1}\n\x1e{"a":2}\n', "application/json-seq"), 200, None
    ),
    "file content: two documents as application/json": Hostile(
        FILE_CONTENT, json_answer(b'{"a":1}\n{"a":2}\n'), 200, None
    ),
    # Retry-After and retry-after-ms: bounded, NaN and negative values mean backoff.
    "429 with Retry-After: 1e999": Hostile(
        CREATE, throttled(("Retry-After", "1e999")), 429, "rate_limited", {"retry-after": "3600"}
    ),
    "429 with Retry-After: inf": Hostile(
        CREATE, throttled(("Retry-After", "inf")), 429, "rate_limited", {"retry-after": "3600"}
    ),
    "429 with retry-after-ms: 1e999": Hostile(
        CREATE, throttled(("retry-after-ms", "1e999")), 429, "rate_limited", {"retry-after": "3600"}
    ),
    "429 with Retry-After: 1e308": Hostile(
        CREATE, throttled(("Retry-After", "1e308")), 429, "rate_limited", {"retry-after": "3600"}
    ),
    "429 with Retry-After: nan (backoff, not none)": Hostile(
        CREATE, throttled(("Retry-After", "nan")), 429, "rate_limited", {"retry-after": "1"}, backoff_s=0.37
    ),
    "429 with Retry-After: -5 (backoff, not none)": Hostile(
        CREATE, throttled(("Retry-After", "-5")), 429, "rate_limited", {"retry-after": "1"}, backoff_s=0.37
    ),
    "a 90 KB opc-request-id is not echoed": Hostile(
        CREATE, json_answer(response_json(), "application/json", ("opc-request-id", "A" * 90_000)), 200, None
    ),
    # Compressed answers: the cap holds on decoded bytes.
    "gzip bomb (200 MiB decoded)": Hostile(
        CREATE,
        Play(body=gzip_bomb(200 * MiB), headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip"))),
        502,
        "upstream_answer_too_large",
    ),
    "deflate bomb (200 MiB decoded)": Hostile(
        CREATE,
        Play(
            body=deflate_bomb(200 * MiB),
            headers=(("Content-Type", "application/json"), ("Content-Encoding", "deflate")),
        ),
        502,
        "upstream_answer_too_large",
    ),
    "nested gzip, gzip bomb": Hostile(
        CREATE,
        Play(
            body=gzip.compress(gzip_bomb(200 * MiB)),
            headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip, gzip")),
        ),
        502,
        "upstream_malformed",
    ),
    "gzip bomb in a 429's error body": Hostile(
        CREATE,
        Play(429, (("Content-Type", "application/json"), ("Content-Encoding", "gzip")), gzip_bomb(200 * MiB)),
        429,
        "rate_limited",
    ),
    # A 401 makes the signer sign again: the refused answer is closed unread (httpx would read and decode it whole).
    "gzip bomb in a 401's error body": Hostile(
        CREATE,
        Play(401, (("Content-Type", "application/json"), ("Content-Encoding", "gzip")), gzip_bomb(200 * MiB)),
        502,
        "upstream_not_authorized",
    ),
    "a 401 whose body does not decode (false gzip)": Hostile(
        CREATE,
        Play(401, (("Content-Type", "application/json"), ("Content-Encoding", "gzip")), b'{"code":"x"}'),
        502,
        "upstream_not_authorized",
    ),
    # Pace: the deadline holds while headers and body are read; the platform never has to cut the call off.
    "header bytes trickled, one per 50 ms": Hostile(
        RETRIEVE,
        # 1,000 header bytes at 50 ms each: 50 s of headers, each byte well within any read timeout.
        Play(body=b"{}", headers=(("X-Pad", "p" * 1000),), trickle_s=0.05),
        504,
        "deadline_exceeded",
        timeout_s=PACE_TIMEOUT_S,
    ),
    "a few body bytes, then a stall": Hostile(
        RETRIEVE,
        Play(body=response_json(), stall_after=10, delay_s=2.0),
        504,
        "deadline_exceeded",
        timeout_s=PACE_TIMEOUT_S,
    ),
}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    with HostileUpstream() as upstream:
        yield upstream


@pytest.mark.parametrize("name", list(HOSTILE))
def test_no_upstream_answer_crashes_or_bloats_the_function(
    name: str, hostile: HostileUpstream, env: dict[str, str], trimmed: Path
) -> None:
    case = HOSTILE[name]
    hostile.play(Play(body=response_json()))
    config = {**env, "GENAI_BASE_URL": hostile.base_url}
    with FnRunner(env=config, site_dir=trimmed, entrypoint=site.entrypoint()) as runner:
        warm = runner.invoke(*CREATE[:2], headers=JSON, body=CREATE[2])
        assert warm.status == 200, warm.body[:300]
        hostile.play(case.play)
        hostile.seen.clear()
        method, path, body = case.request
        probe = Probe(runner)
        answer = runner.invoke(method, path, headers=JSON, body=body, timeout_s=case.timeout_s)
        peak_mib = probe.peak_mib()
        print(f"\n{name}: {answer.status}, {len(answer.body) / MiB:.2f} MiB out, peak RSS {peak_mib:.1f} MiB")
        assert runner.pid is not None, "the platform had to cut the call off at its deadline"
        assert answer.status == case.status, answer.body[:300]
        if case.code is None:
            assert bytes(answer.body) == case.play.body, "a 2xx answer is passed on byte for byte"
        else:
            assert json.loads(answer.body)["error"]["code"] == case.code, answer.body[:300]
        for header, value in case.headers.items():
            assert answer.headers.get(header) == value, answer.headers
        assert all(len(v) <= 300 for v in answer.headers.values()), "an upstream header value was echoed whole"
        if case.backoff_s is not None:
            times = [seen.at for seen in hostile.seen]
            assert len(times) == 3 and min(b - a for a, b in itertools.pairwise(times)) >= case.backoff_s, times
        assert peak_mib <= MEMORY_BUDGET_MIB


class Probe:
    """Peak RSS of a runner's process, read while it still runs (a call cut off at its deadline stops it)."""

    def __init__(self, runner: FnRunner) -> None:
        assert runner.pid is not None
        self.pid = runner.pid

    def peak_mib(self) -> float:
        try:
            return ProcessProbe.of(self.pid).hwm_kb / 1024
        except FileNotFoundError:
            return float("nan")


def multipart(data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = "hostileboundary7"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="data.json"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


UPLOADS = {
    "uploaded 5.9 MB of [{},{},…] (application/json), downloaded": (WIDE, "application/json"),
    "uploaded 10 KB nested 5,000 deep, downloaded": (deep(5000), "application/json"),
    "uploaded JSON lines (application/jsonl), downloaded": (b'{"a":1}\n{"a":2}\n', "application/jsonl"),
}


@pytest.mark.parametrize("name", list(UPLOADS))
def test_a_file_a_client_uploads_downloads_byte_for_byte_within_the_budget(name: str, container: FnRunner) -> None:
    data, content_type = UPLOADS[name]
    body, multipart_type = multipart(data, content_type)
    created = container.invoke("POST", "/v1/files", headers={"content-type": multipart_type}, body=body)
    assert created.status == 200, created.body[:300]
    file_id = json.loads(created.body)["id"]
    answer = container.invoke("GET", f"/v1/files/{file_id}/content")
    assert container.pid is not None
    peak_mib = ProcessProbe.of(container.pid).hwm_kb / 1024
    print(f"\n{name}: {answer.status}, {len(answer.body) / MiB:.2f} MiB out, peak RSS {peak_mib:.1f} MiB")
    assert answer.status == 200, answer.body[:300]
    assert bytes(answer.body) == data
    assert peak_mib <= MEMORY_BUDGET_MIB
