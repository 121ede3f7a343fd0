"""Token metrics on the local stack: the sums Monitoring receives are the sums of the `usage` the upstream returned.

A mixed run through the local gateway (two clients, Responses and Chat
Completions, half streamed) appends the function's lines to one file; the
local connector delivers them in batches to the usage-metrics function under
the real fdk, which posts signed PostMetricData requests to the telemetry
emulator. Then the connector's redelivery after a failed chunk.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import openai
import pytest

from authorizer import keys
from dev.local.connector import IDENTITY, UsageMetrics
from dev.local.credentials import Issuer, ResourcePrincipal
from dev.local.gateway import Gateway
from dev.local.metrics import sums
from dev.local.runner import append_invocation
from dev.local.stack import Stack
from tests.conftest import ROOT
from tests.integration.test_usage_report import MODELS, call
from usage_metrics.metering import post

pytestmark = pytest.mark.integration

CALLS = 208


def test_metric_sums_equal_the_usage_the_upstream_returned(
    make_stack: Callable[..., Stack], issuer: Issuer, tmp_path: Path
) -> None:
    path = tmp_path / "invocations.jsonl"
    stack = make_stack(gateway=False, containers=2, invocation_log=path, config={"GENAI_ALLOWED_MODELS": "*"})
    alice, bob = keys.new_key(), keys.new_key()
    hashes = keys.parse_hashes(f"alice:{keys.hash_key(alice)},bob:{keys.hash_key(bob)}")
    expected: dict[tuple[str, str], dict[str, float]] = {}
    with Gateway(stack.runners, authenticate=lambda h: keys.authenticate(h.get("Authorization"), hashes)) as gateway:
        sdks = {
            name: openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=key, max_retries=0)
            for name, key in (("alice", alice), ("bob", bob))
        }
        for i in range(CALLS):
            client = "alice" if i % 3 else "bob"
            model = MODELS[i % 2]
            kind = ("responses", "responses-stream", "chat", "chat-stream")[(i // 2) % 4]
            inp, out = call(sdks[client], kind, model, i)
            row = expected.setdefault((client, model), dict.fromkeys(("Calls", "InputTokens", "OutputTokens"), 0.0))
            row["Calls"] += 1
            row["InputTokens"] += inp
            row["OutputTokens"] += out
        for sdk in sdks.values():
            sdk.close()
    assert sum(len(runner.invocations()) for runner in stack.runners) == CALLS  # every line is in the file

    with UsageMetrics(issuer, path, record=tmp_path / "metrics.jsonl") as chain:
        assert chain.connector is not None and chain.runner is not None
        chain.connector.batch_entries = 40
        assert chain.connector.deliver()
        assert chain.connector.delivered == 6  # 208 lines in batches of 40
        summaries = [json.loads(answer.body) for answer in chain.connector.answers]
        got = sums(chain.telemetry.datapoints)

    assert sum(s["counted"] for s in summaries) == CALLS
    assert sum(s["unreadable"] + s["oversized"] + s["too_old"] for s in summaries) == 0
    # Every request was signed by the function's resource principal and checked (dev/local/telemetry.py).
    assert {p.status for p in chain.telemetry.posts} == {200} and all(p.jti for p in chain.telemetry.posts)
    for row in expected.values():
        row["TotalTokens"] = row["InputTokens"] + row["OutputTokens"]
        row["ErrorCalls"] = 0.0
    assert got == expected
    assert sum(row["TotalTokens"] for row in got.values()) > 0


def invocation(client: str, tokens: int) -> str:
    return json.dumps(
        {
            "event": "invocation",
            "client": client,
            "model": "m",
            "status": 200,
            "input_tokens": tokens,
            "output_tokens": 1,
        }
    )


def test_a_chunk_monitoring_keeps_failing_fails_the_invocation_and_the_batch_is_delivered_again(
    issuer: Issuer, tmp_path: Path
) -> None:
    path = tmp_path / "invocations.jsonl"
    clients = [f"client{i:02}" for i in range(11)]  # 55 streams: chunks of 50 and 5
    for client in clients:
        append_invocation(path, invocation(client, 10))
    with UsageMetrics(issuer, path) as chain:
        assert chain.connector is not None
        chain.telemetry.inject(500, times=post.MAX_ATTEMPTS)  # every attempt of the first chunk
        assert not chain.connector.deliver()
        first = chain.connector.answers[-1]
        assert first.status == 502 and json.loads(first.body)["failed_chunks"] == 1
        assert chain.connector.offset == 0  # the batch is not taken: the connector will deliver it again
        assert chain.connector.deliver()
        got = sums(chain.telemetry.datapoints)

    # At least once: the chunk that went through the first time is counted twice, the failed one once.
    assert [got[c, "m"]["Calls"] for c in clients] == [1.0] * 10 + [2.0]
    assert {got[c, "m"]["InputTokens"] for c in clients[:10]} == {10.0}
    assert [p.status for p in chain.telemetry.posts] == [500] * post.MAX_ATTEMPTS + [200, 200, 200]


def test_a_function_signing_with_a_key_iam_did_not_issue_is_refused_and_the_batch_kept(
    issuer: Issuer, tmp_path: Path
) -> None:
    path = tmp_path / "invocations.jsonl"
    append_invocation(path, invocation("a", 1))
    with ResourcePrincipal(Issuer(), IDENTITY) as stranger, UsageMetrics(issuer, path, principal=stranger) as chain:
        assert chain.connector is not None
        assert not chain.connector.deliver()
        assert chain.connector.answers[-1].status == 502 and chain.connector.offset == 0
    assert chain.telemetry.posts and {p.status for p in chain.telemetry.posts} == {401}
    assert "security token is invalid" in chain.telemetry.posts[0].reason
    assert chain.telemetry.datapoints == []


def test_the_function_answers_a_batch_of_hostile_entries_with_its_counts(issuer: Issuer, tmp_path: Path) -> None:
    path = tmp_path / "invocations.jsonl"
    now = datetime.now(timezone.utc).isoformat()
    with UsageMetrics(issuer, path) as chain:
        assert chain.runner is not None
        body = (
            b'[{"time": "'
            + now.encode()
            + b'", "data": {"message": '
            + json.dumps(invocation("a", 1)).encode()
            + b"}},"
            b' {"data": {"message": "' + b"x" * 100_000 + b'"}}, {"data": [' + b"[" * 3000 + b"]" * 3000 + b"]}, 5,"
            b' {"logContent": {"time": "' + now.encode() + b'", "data": {"message": "Served function invocation"}}}'
        )  # and no closing bracket
        answer = chain.runner.invoke("POST", "/", body=body, gateway=False)
        assert answer.status == 200, answer.body
        summary = json.loads(answer.body)
        assert {k: summary[k] for k in ("entries", "counted", "oversized", "unreadable", "ignored", "truncated")} == {
            "entries": 5,
            "counted": 1,
            "oversized": 1,
            "unreadable": 2,
            "ignored": 1,
            "truncated": True,
        }
        line = chain.runner.wait_for_line(lambda x: x.startswith('{"event": "usage_metrics"'))
        assert json.loads(line) == summary
        assert sums(chain.telemetry.datapoints)["a", "m"]["Calls"] == 1.0


def test_make_run_posts_the_sample_calls_metrics_and_dev_local_metrics_prints_them(tmp_path: Path) -> None:
    invocations, record = tmp_path / "invocations.jsonl", tmp_path / "metrics.jsonl"
    files = ["--invocations", str(invocations), "--metrics-file", str(record)]
    run = subprocess.run(
        [sys.executable, "-m", "dev.local", "--once", "--port", "0", "--venv", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    usage = re.search(r"usage: +\{'input_tokens': (\d+), 'output_tokens': (\d+)\}", run.stdout)
    assert usage, run.stdout
    inp, out = int(usage[1]), int(usage[2])
    assert f"local / openai.gpt-oss-120b: Calls 1, ErrorCalls 0, InputTokens {inp}, OutputTokens {out}" in run.stdout
    printed = subprocess.run(
        [sys.executable, "-m", "dev.local.metrics", "--file", str(record)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert printed.stdout.splitlines()[1].split() == [
        "local",
        "openai.gpt-oss-120b",
        "1",
        "0",
        str(inp),
        str(out),
        str(inp + out),
    ]
