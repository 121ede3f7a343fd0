"""Soak: N mixed, sequential calls through ONE function process; its answers stay right and it does not grow.

One fdk process (`FnRunner`: the real fdk on its unix socket), the emulator
upstream, and a deterministic mix (`random.Random(SOAK_SEED)`) of every route:
create (JSON and `stream: true`, stored or not), retrieve and delete of ids
created earlier (and of deleted or unstored ones: 404), health, the simple
route (plain text and JSON) and deliberately bad requests (400, 404, 405, 413,
415), with inputs from a few bytes to 100 kB. The function runs with its
default output cap (2048 tokens), so long echoes end `incomplete`, as they
would in production. Every call's status and error code are known before it
is sent, every answer must be the echo of its own input, and the function's
log line of every call must agree with the answer.

Between call 100 and call N the process may not grow: peak RSS (VmHWM) and
RSS each by under 5 MB, and exactly as many open file descriptors and threads.
No timings are asserted.

    SOAK_CALLS=10000 .venv/bin/python -m pytest tests/reliability/test_soak.py -s -p no:cacheprovider

prints the figures and, when SOAK_CALLS is set, writes them to dev/bench/results/soak.json.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from dev.local.emulator import Emulator
from dev.local.proc import ProcessProbe
from dev.local.runner import FnRunner, PlatformResponse
from dev.local.stack import Stack
from tests.reliability.support import (
    MODEL,
    OTHER_MODEL,
    ROOT,
    echo_is_complete,
    echo_of,
    invocation_lines,
    output_text,
    sse_events,
)

pytestmark = pytest.mark.soak

CALLS = int(os.environ.get("SOAK_CALLS", "1000"))
SEED = int(os.environ.get("SOAK_SEED", "20251125"))
#: The call after which the process is measured the first time: warm, every route and size seen.
BASELINE = min(100, CALLS // 2)
#: How many times the largest call of each kind comes before the baseline (see Plan).
WARM_ROUNDS = int(os.environ.get("SOAK_WARM_ROUNDS", "4"))
MAX_INPUT_BYTES = 100_000
MAX_BODY_BYTES = 256 * 1024
#: GENAI_MAX_OUTPUT_TOKENS: the function's default, so answers are as large as in production.
OUTPUT_CAP = 2048
#: "Under 5 MB" of growth, in the kB that /proc reports.
GROWTH_LIMIT_KB = 5_000_000 // 1024
#: Stored responses tracked for GET and DELETE at most; older ones are only forgotten.
MAX_LIVE = 64
#: Share of creates sent with `store: false`: not retrievable, their ids answer 404.
STORE_FALSE = 0.4
JSON_TYPE = {"Content-Type": "application/json"}
WORDS = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon "
    "phi chi psi omega soak leak fdk socket token budget deadline gateway function emulator response stream "
    "a an of to in is it x y z 0 1 42 3.14 -7 naïve café über résumé façade 日本語 中文 한국어 Ελληνικά emoji😀 ✓"
).split()
WEIGHTS = {
    "create": 28,
    "stream": 13,
    "get": 12,
    "delete": 8,
    "gone": 4,
    "health": 7,
    "simple_text": 6,
    "simple_json": 7,
    "bad": 18,
}
CREATING = ("create", "stream", "simple_text", "simple_json")
#: Bad requests: name -> (method, url, headers, body, status, code). A body of None is made to size.
BAD: dict[str, tuple[str, str, dict[str, str], bytes | None, int, str]] = {
    "unterminated_json": ("POST", "/v1/responses", JSON_TYPE, None, 400, "invalid_json"),
    "json_array": ("POST", "/v1/responses", JSON_TYPE, b"[1, 2, 3]", 400, "invalid_json"),
    "empty_body": ("POST", "/v1/responses", JSON_TYPE, b"", 400, "invalid_json"),
    "nan": ("POST", "/v1/responses", JSON_TYPE, b'{"input": "x", "temperature": NaN}', 400, "invalid_json"),
    "bad_utf8": ("POST", "/v1/responses", JSON_TYPE, b'{"input": "\xff\xfe"}', 400, "invalid_json"),
    "blank_input": ("POST", "/v1/responses", JSON_TYPE, b'{"input": "   "}', 400, "invalid_request"),
    "temperature": ("POST", "/v1/responses", JSON_TYPE, b'{"input": "x", "temperature": 5}', 400, "invalid_request"),
    "max_tokens": (
        "POST",
        "/v1/responses",
        JSON_TYPE,
        b'{"input": "x", "max_output_tokens": 0}',
        400,
        "invalid_request",
    ),
    "stream_type": ("POST", "/v1/responses", JSON_TYPE, b'{"input": "x", "stream": "yes"}', 400, "invalid_request"),
    "model": ("POST", "/v1/responses", JSON_TYPE, b'{"input": "x", "model": "xai.grok-4"}', 404, "model_not_found"),
    "response_id": ("GET", "/v1/responses/bad!id", {}, b"", 400, "invalid_request"),
    "simple_field": ("POST", "/v1/", JSON_TYPE, b'{"input": "x", "tools": []}', 400, "invalid_request"),
    "simple_plain_media": ("POST", "/v1/", {"Content-Type": "application/xml"}, b"<x/>", 415, "unsupported_media_type"),
    "route": ("GET", "/v1/assistants", {}, b"", 404, "unknown_route"),
    "method": ("PUT", "/v1/responses", JSON_TYPE, b"{}", 405, "method_not_allowed"),
    "media_type": ("POST", "/v1/responses", {"Content-Type": "text/plain"}, None, 415, "unsupported_media_type"),
    "too_large": ("POST", "/v1/responses", JSON_TYPE, None, 413, "payload_too_large"),
}


@dataclass
class Step:
    """One call and everything its answer must be."""

    kind: str
    method: str
    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    code: str = ""
    #: The output text the answer must carry (create, stream, simple, get), and whether it is all of it.
    text: str | None = None
    complete: bool = True
    #: The input the emulator must receive, if the call reaches it.
    sent_input: str | None = None
    upstream_calls: int = 0
    response_id: str = ""


class Plan:
    """Deterministic steps; GET and DELETE use ids of earlier answers, so the plan follows the run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.live: dict[str, tuple[str, bool]] = {}  # response id -> (output text, complete)
        self.missing: list[str] = []  # ids deleted or never stored: 404
        self.stored: set[str] = set()  # every id stored upstream, removed from the emulator at the end
        # Before the baseline, the largest call of each kind, WARM_ROUNDS times over, between ordinary
        # calls. Peak RSS is a maximum, and this test looks for growth over time, not for the first few
        # calls of the largest size: the allocator takes a few of those to reach its steady peak.
        largest: tuple[Callable[[int], Step], ...] = (
            lambda i: self.create(i, MAX_INPUT_BYTES),
            lambda i: self.stream(i, MAX_INPUT_BYTES),
            lambda i: self.get(i),
            lambda i: self.simple_text(i, MAX_INPUT_BYTES),
            lambda i: self.simple_json(i, MAX_INPUT_BYTES),
            lambda i: self.bad(i, "too_large"),
            lambda i: self.bad(i, "unterminated_json", MAX_INPUT_BYTES),
        )
        count = WARM_ROUNDS * len(largest)
        spacing = max(1, (BASELINE - 10) // max(1, count))
        self.forced = {2 + n * spacing: largest[n % len(largest)] for n in range(count) if 2 + n * spacing < BASELINE}

    def step(self, i: int) -> Step:
        if i in self.forced:
            return self.forced[i](i)
        kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if kind in ("get", "delete") and not self.live:
            kind = "create"
        if kind == "gone" and not self.missing:
            kind = "health"
        if kind in CREATING:
            return getattr(self, kind)(i, self.size())  # type: ignore[no-any-return]
        return getattr(self, kind)(i)  # type: ignore[no-any-return]

    def size(self) -> int:
        """Log-uniform between 5 bytes and MAX_INPUT_BYTES: most inputs small, some large."""
        return int(math.exp(self.rng.uniform(math.log(5), math.log(MAX_INPUT_BYTES))))

    def text(self, i: int, size: int) -> str:
        """About `size` bytes of words, starting with the call's number: every input is unique."""
        words = [f"call-{i}"]
        length = len(words[0])
        while length < size:
            word = self.rng.choice(WORDS)
            words.append(word)
            length += len(word.encode()) + 1
        return " ".join(words)

    def json_body(self, payload: dict[str, Any]) -> bytes:
        return json.dumps(payload, ensure_ascii=self.rng.random() < 0.5).encode()

    def creating(self, kind: str, url: str, headers: dict[str, str], body: bytes, text: str) -> Step:
        return Step(
            kind,
            "POST",
            url,
            200,
            headers,
            body,
            text=echo_of(text, OUTPUT_CAP),
            complete=echo_is_complete(text, OUTPUT_CAP),
            sent_input=text,
            upstream_calls=1,
        )

    def create(self, i: int, size: int) -> Step:
        text = self.text(i, size)
        payload: dict[str, Any] = {"input": text}
        if self.rng.random() < 0.3:
            payload["model"] = self.rng.choice((MODEL, OTHER_MODEL))
        if self.rng.random() < STORE_FALSE:
            payload["store"] = False
        return self.creating("create", "/v1/responses", JSON_TYPE, self.json_body(payload), text)

    def stream(self, i: int, size: int) -> Step:
        text = self.text(i, size)
        payload: dict[str, Any] = {"input": text, "stream": True}
        if self.rng.random() < STORE_FALSE:
            payload["store"] = False
        return self.creating("stream", "/v1/responses", JSON_TYPE, self.json_body(payload), text)

    def simple_text(self, i: int, size: int) -> Step:
        text = self.text(i, size)
        return self.creating("simple_text", "/v1/", {"Content-Type": "text/plain; charset=utf-8"}, text.encode(), text)

    def simple_json(self, i: int, size: int) -> Step:
        text = self.text(i, size)
        body = self.json_body({"input": text, "model": OTHER_MODEL, "temperature": 0.5})
        return self.creating("simple_json", "/v1/", JSON_TYPE, body, text)

    def get(self, i: int) -> Step:
        response_id = self.rng.choice(list(self.live))
        text, complete = self.live[response_id]
        url = f"/v1/responses/{response_id}"
        return Step("get", "GET", url, 200, text=text, complete=complete, upstream_calls=1, response_id=response_id)

    def delete(self, i: int) -> Step:
        response_id = self.rng.choice(list(self.live))
        return Step("delete", "DELETE", f"/v1/responses/{response_id}", 200, upstream_calls=1, response_id=response_id)

    def gone(self, i: int) -> Step:
        response_id = self.rng.choice(self.missing)
        method = self.rng.choice(("GET", "DELETE"))
        url = f"/v1/responses/{response_id}"
        return Step("gone", method, url, 404, code="response_not_found", upstream_calls=1, response_id=response_id)

    def health(self, i: int) -> Step:
        return Step("health", "GET", self.rng.choice(("/v1/health", "/health")), 200)

    def bad(self, i: int, name: str | None = None, size: int | None = None) -> Step:
        name = name or self.rng.choice(list(BAD))
        method, url, headers, body, status, code = BAD[name]
        if body is None:
            if name == "too_large":
                body = json.dumps({"input": "y" * (MAX_BODY_BYTES + self.rng.randint(1, 50_000))}).encode()
            else:
                text = self.text(i, size or self.size())
                body = f'{{"input": "{text}"'.encode() if name == "unterminated_json" else text.encode()
        return Step(f"bad:{name}", method, url, status, dict(headers), body, code)

    def observe(self, step: Step, answer: dict[str, Any]) -> None:
        """Keep the ids the run created and deleted, for later steps."""
        if step.kind in CREATING:
            assert step.text is not None
            if answer.get("store", True):  # the simple route's answer has no "store": always stored
                self.live[answer["id"]] = (step.text, step.complete)
                self.stored.add(answer["id"])
                if len(self.live) > MAX_LIVE:
                    del self.live[next(iter(self.live))]
            else:
                self.missing = [*self.missing[-63:], answer["id"]]
        elif step.kind == "delete":
            del self.live[step.response_id]
            self.missing = [*self.missing[-63:], step.response_id]


def check(step: Step, answer: PlatformResponse, calls: list[Any]) -> dict[str, Any]:
    """Assert that `answer` is exactly what `step` should get; return the answer's response object."""
    where = f"{step.kind} {step.method} {step.url} ({len(step.body)} bytes)"
    assert answer.status == step.status, f"{where}: {answer.status} {answer.body[:300]!r}"
    assert len(calls) == step.upstream_calls, f"{where}: the emulator saw {len(calls)} calls"
    if step.sent_input is not None:
        assert calls[0].body.get("input") == step.sent_input, f"{where}: the emulator got another input"
    if step.response_id:
        assert calls[0].path.endswith("/" + step.response_id) and calls[0].method == step.method, where
    status = "completed" if step.complete else "incomplete"
    if step.kind == "stream":
        events = sse_events(answer.body)
        assert answer.headers["content-type"].startswith("text/event-stream"), where
        assert events[0]["type"] == "response.created" and events[-1]["type"] == f"response.{status}", where
        deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        final: dict[str, Any] = events[-1]["response"]
        assert deltas == step.text == output_text(final), f"{where}: the stream is not its own echo"
        return final
    data = json.loads(answer.body)
    assert isinstance(data, dict), where
    if step.code:
        assert data["error"]["code"] == step.code, f"{where}: {data}"
    elif step.kind in ("create", "get"):
        assert data["status"] == status and output_text(data) == step.text, f"{where}: not its own echo"
        assert not step.response_id or data["id"] == step.response_id, where
    elif step.kind.startswith("simple"):
        assert data["output_text"] == step.text, f"{where}: not its own echo"
    elif step.kind == "delete":
        assert data == {"id": step.response_id, "object": "response", "deleted": True}, where
    elif step.kind == "health":
        assert data == {"status": "ok"}, where  # anonymous: says nothing about the configuration
    return data


@pytest.fixture
def soak_runner(make_stack: Callable[..., Stack]) -> FnRunner:
    config = {
        "GENAI_ALLOWED_MODELS": f"{MODEL},{OTHER_MODEL}",
        "GENAI_MAX_OUTPUT_TOKENS": str(OUTPUT_CAP),
        # Caps are no longer injected; a default makes every answer as large as the old cap did.
        "GENAI_DEFAULT_OUTPUT_TOKENS": str(OUTPUT_CAP),
        "GENAI_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
    }
    # As the image runs it: trimmed dependencies under python -S, the Dockerfile's entry point. Invoked
    # directly, as the platform does behind the gateway.
    return make_stack(image=True, gateway=False, config=config).runner


def test_soak_one_process_many_calls(soak_runner: FnRunner, emulator: Emulator, quiet_client_logs: None) -> None:
    runner = soak_runner
    pid = runner.pid
    assert pid is not None
    plan = Plan(SEED)
    every = max(100, CALLS // 10)
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    trace: list[dict[str, Any]] = []
    #: call id -> (status, response id, output tokens) of every call, to compare with the function's log.
    answered: dict[str, tuple[int, str | None, int | None]] = {}
    sent = received = upstream = 0
    baseline: ProcessProbe | None = None
    started = time.monotonic()

    for i in range(1, CALLS + 1):
        step = plan.step(i)
        emulator.calls.clear()  # only this call's upstream requests, and no list growing over the run
        answer = runner.invoke(step.method, step.url, headers=step.headers, body=step.body)
        data = check(step, answer, list(emulator.calls))
        plan.observe(step, data)
        usage = data.get("usage") if step.kind in CREATING else None
        answered[answer.call_id] = (
            answer.status,
            data["id"] if step.kind in CREATING else None,
            usage["output_tokens"] if usage else None,
        )
        statuses[answer.status] += 1
        kinds[step.kind.split(":")[0]] += 1
        sent, received, upstream = sent + len(step.body), received + len(answer.body), upstream + len(emulator.calls)
        if i == BASELINE or i % every == 0 or i == CALLS:
            probe = ProcessProbe.of(pid)
            trace.append({"call": i, **{k: v for k, v in probe.as_dict().items() if k != "fd_kinds"}})
            if i == BASELINE:
                baseline = probe
    seconds = time.monotonic() - started
    end = ProcessProbe.of(pid)
    assert baseline is not None
    for response_id in plan.stored:  # the emulator outlives this test: leave it as small as it was
        emulator.responses.pop(response_id, None)

    lines = invocation_lines(runner)
    figures: dict[str, Any] = {
        "calls": CALLS,
        "seed": SEED,
        "seconds": round(seconds, 2),
        "calls_per_s": round(CALLS / seconds, 1),
        "baseline_call": BASELINE,
        "at_baseline": baseline.as_dict(),
        "at_end": end.as_dict(),
        "rss_growth_kb": end.rss_kb - baseline.rss_kb,
        "hwm_growth_kb": end.hwm_kb - baseline.hwm_kb,
        "fds": [baseline.fds, end.fds],
        "threads": [baseline.threads, end.threads],
        "statuses": dict(sorted(statuses.items())),
        "kinds": dict(sorted(kinds.items())),
        "bytes_sent": sent,
        "bytes_received": received,
        "upstream_calls": upstream,
        "function_log_lines": len(lines),
        "trace": trace,
        "python": sys.version.split()[0],
    }
    print(
        f"\nsoak: {CALLS} calls through one fdk process (pid {pid}) in {seconds:.1f} s ({CALLS / seconds:.0f}/s), "
        f"seed {SEED}; {sent / 1e6:.1f} MB sent, {received / 1e6:.1f} MB received, {upstream} upstream calls\n"
        f"  statuses {figures['statuses']}\n  kinds {figures['kinds']}\n"
        f"  RSS at call {BASELINE}: {baseline.rss_kb} kB, at call {CALLS}: {end.rss_kb} kB "
        f"(growth {figures['rss_growth_kb']} kB; limit {GROWTH_LIMIT_KB} kB)\n"
        f"  peak RSS (VmHWM) at call {BASELINE}: {baseline.hwm_kb} kB, at call {CALLS}: {end.hwm_kb} kB "
        f"(growth {figures['hwm_growth_kb']} kB; limit {GROWTH_LIMIT_KB} kB)\n"
        f"  open fds {baseline.fds} -> {end.fds} {figures['at_end']['fd_kinds']}\n"
        f"  threads {baseline.threads} -> {end.threads}"
    )
    for row in trace:
        print(
            f"    call {row['call']:>6}: rss {row['rss_kb']} kB, hwm {row['hwm_kb']} kB, "
            f"fds {row['fds']}, threads {row['threads']}"
        )
    if "SOAK_CALLS" in os.environ:
        out = ROOT / "dev" / "bench" / "results" / "soak.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"  written to {out.relative_to(ROOT)}")

    # The same process served every call and logged each one once, as it answered it.
    assert runner.pid == pid and runner.starts == 1
    assert len(lines) == CALLS == len(answered)
    for line in lines:
        want_status, want_id, want_tokens = answered[cast(str, line["call_id"])]
        assert line["status"] == want_status, line
        if want_id is not None:
            assert (line["response_id"], line["output_tokens"]) == (want_id, want_tokens), line
    # Nothing grows between the warm baseline and the end.
    assert end.hwm_kb - baseline.hwm_kb < GROWTH_LIMIT_KB, figures
    assert end.rss_kb - baseline.rss_kb < GROWTH_LIMIT_KB, figures
    # No slack: sequential calls hold one connection from the platform and at most one pooled upstream
    # connection, and fdk runs the handler on its event loop thread (measured: the same descriptors, by
    # kind, and one thread at every probe).
    assert end.fds <= baseline.fds, (baseline.fd_targets, end.fd_targets)
    assert end.threads <= baseline.threads, figures
