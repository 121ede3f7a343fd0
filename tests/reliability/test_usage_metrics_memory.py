"""The usage-metrics function's memory budget: whatever a connector batch holds (up to the 6 MB Functions payload
limit), the function's peak RSS stays well inside func.yaml's `memory: 128`.

Each case runs in a fresh fdk process (usage_metrics/func.py, as the local connector starts it), warmed by one
small batch so that the oci SDK is imported, then given the case; peak RSS is the process's VmHWM afterwards. The
valid case posts its streams to the telemetry emulator on loopback, signed by the emulated resource principal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dev.local.connector import UsageMetrics
from dev.local.credentials import Issuer
from dev.local.metrics import sums
from dev.local.proc import ProcessProbe
from usage_metrics.metering.aggregate import MAX_PAIRS, METRICS

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
#: As the main function's (tests/reliability/test_memory.py): well inside `memory: 128`.
MEMORY_BUDGET_MIB = 110
BODY_LIMIT = 6_000_000


def valid_batch() -> bytes:
    """As many of the main function's lines as fit: 100 clients × 2 models (1,000 streams) over 100 minutes."""
    now = datetime.now(timezone.utc)
    entries: list[bytes] = []
    size, i = 2, 0
    while True:
        message: dict[str, object] = {
            "event": "invocation",
            "call_id": f"{i:032X}",
            "method": "POST",
            "path": "/v1/responses",
            "status": 200 if i % 50 else 500,
            "latency_ms": 812.3,
            "route": "responses",
            "client": f"stack.client{i % 100:03}",
            "model": ("openai.gpt-oss-120b", "xai.grok-4")[i // 100 % 2],
            "attempts": 1,
            "upstream_ms": 790.1,
            "opc_request_id": "A" * 40,
            "response_id": f"resp_{i:030}",
            "input_tokens": 100 + i % 7,
            "output_tokens": 50 + i % 5,
            "retried": [],
            "stream_problem": "",
            "region": "",
            "error_code": None,
        }
        entry = json.dumps(
            {
                "data": {"functionId": "ocid1.fnfunc.oc1..main", "message": json.dumps(message), "src": "stderr"},
                "time": (now - timedelta(minutes=i % 100)).isoformat(),
                "type": "com.oraclecloud.functions.application.functioninvoke",
            }
        ).encode()
        if size + len(entry) + 1 > BODY_LIMIT:
            return b"[" + b",".join(entries) + b"]"
        entries.append(entry)
        size += len(entry) + 1
        i += 1


def hostile_batch() -> bytes:
    """Invocation lines each naming a model of its own (100 characters, as a client once could make the main
    function log): 18,927 of them fit in 6 MB."""
    now = datetime.now(timezone.utc).isoformat()
    entries: list[bytes] = []
    size, i = 2, 0
    while True:
        message = {
            "event": "invocation",
            "status": 400,
            "client": "stack.mallory",
            "model": f"{i:08}" + "m" * 92,
            "input_tokens": None,
            "output_tokens": None,
        }
        entry = json.dumps({"data": {"message": json.dumps(message)}, "time": now}).encode()
        if size + len(entry) + 1 > BODY_LIMIT:
            return b"[" + b",".join(entries) + b"]"
        entries.append(entry)
        size += len(entry) + 1
        i += 1


def fill(prefix: bytes, unit: bytes, suffix: bytes) -> bytes:
    count = (BODY_LIMIT - len(prefix) - len(suffix)) // len(unit)
    return prefix + unit * count + suffix


CASES: dict[str, Callable[[], bytes]] = {
    "6 MB of invocation lines": valid_batch,
    "6 MB of lines each naming its own model": hostile_batch,
    "6 MB of empty objects": lambda: fill(b"[{}", b",{}", b"]"),
    "one 6 MB entry of empty objects": lambda: fill(b'[{"data": {"message": "x"}, "pad": [{}', b",{}", b"]}]"),
    "one 6 MB message": lambda: fill(b'[{"data": {"message": "', b"x", b'"}}]'),
    "6 MB of nesting": lambda: fill(b"[", b"[", b""),
    "6 MB of escapes": lambda: fill(b'[{"data": {"message": "', b"\\u00e9", b'"}}]'),
}


@pytest.mark.parametrize("name", list(CASES))
def test_peak_rss_stays_within_the_budget(name: str, issuer: Issuer, tmp_path: Path) -> None:
    body = CASES[name]()
    assert len(body) <= BODY_LIMIT
    with UsageMetrics(issuer, tmp_path / "invocations.jsonl") as chain:
        runner = chain.runner
        assert runner is not None and runner.pid is not None
        now = datetime.now(timezone.utc).isoformat()
        warm = json.dumps([{"time": now, "data": {"message": "Received function invocation request"}}]).encode()
        assert runner.invoke("POST", "/", body=warm, gateway=False).status == 200
        answer = runner.invoke("POST", "/", body=body, gateway=False)
        peak_mib = ProcessProbe.of(runner.pid).hwm_kb / 1024
        summary = json.loads(answer.body)
        took = f"{answer.status} in {answer.elapsed_s:.2f} s"
        print(f"\n{name}: {len(body) / MiB:.2f} MiB in, {took}, peak RSS {peak_mib:.1f} MiB")
        assert answer.status == 200, summary
        assert peak_mib <= MEMORY_BUDGET_MIB
        if name == "6 MB of invocation lines":
            got = sums(chain.telemetry.datapoints)
            assert summary["counted"] == sum(row["Calls"] for row in got.values()) > 5_000
            assert summary["chunks"] == 20 and summary["failed_chunks"] == 0
        elif name == "6 MB of lines each naming its own model":
            got = sums(chain.telemetry.datapoints)
            assert summary["counted"] == sum(row["Calls"] for row in got.values()) > 15_000
            assert len(got) == MAX_PAIRS + 1 and summary["folded"] == summary["counted"] - MAX_PAIRS
            assert summary["streams"] == (MAX_PAIRS + 1) * len(METRICS) and summary["failed_chunks"] == 0
        else:
            assert summary["counted"] == 0 and chain.telemetry.posts == []
