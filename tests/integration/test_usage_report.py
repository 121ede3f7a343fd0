"""make usage on the local stack: its totals are the sums of the `usage` the emulator returned, per client and model.

Through the local gateway with two client keys, over two function
containers appending to one file, a mixed run of Responses and Chat
Completions calls, half of them streamed; then `python -m ops.usage --local`
reads the file the containers wrote, and `make run` (dev.local) is checked
to write it too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import openai
import pytest

from authorizer import keys
from dev.local.gateway import Gateway
from dev.local.stack import Stack
from ops import usage
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

CALLS = 208
MODELS = ("openai.gpt-oss-120b", "xai.grok-4")


def call(sdk: openai.OpenAI, kind: str, model: str, i: int) -> tuple[int, int]:
    """One call of `kind`; the (input, output) tokens the answer reported to the client."""
    text = f"usage test call {i}: " + "word " * (i % 17)
    if kind == "responses":
        response = sdk.responses.create(model=model, input=text)
        assert response.usage is not None
        return response.usage.input_tokens, response.usage.output_tokens
    if kind == "responses-stream":
        with sdk.responses.stream(model=model, input=text) as stream:
            final = stream.get_final_response()
        assert final.usage is not None
        return final.usage.input_tokens, final.usage.output_tokens
    messages = [{"role": "user", "content": text}]
    if kind == "chat":
        completion = sdk.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
        assert completion.usage is not None
        return completion.usage.prompt_tokens, completion.usage.completion_tokens
    chunks = sdk.chat.completions.create(  # type: ignore[call-overload]
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    usages = [chunk.usage for chunk in chunks if chunk.usage is not None]
    assert len(usages) == 1
    return usages[0].prompt_tokens, usages[0].completion_tokens


def test_usage_totals_equal_the_usage_the_upstream_returned(
    make_stack: Callable[..., Stack], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "invocations.jsonl"
    stack = make_stack(gateway=False, containers=2, invocation_log=path, config={"GENAI_ALLOWED_MODELS": "*"})
    alice, bob = keys.new_key(), keys.new_key()
    hashes = keys.parse_hashes(f"alice:{keys.hash_key(alice)},bob:{keys.hash_key(bob)}")
    with Gateway(
        stack.runners,
        authenticate=lambda headers: keys.authenticate(headers.get("Authorization"), hashes),
        prefix="/genai",
    ) as gateway:
        sdks = {
            name: openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=key, max_retries=0)
            for name, key in (("alice", alice), ("bob", bob))
        }
        expected: dict[tuple[str, str], list[int]] = {}
        kinds: Counter[str] = Counter()
        for i in range(CALLS):
            client = "alice" if i % 3 else "bob"
            model = MODELS[i % 2]
            kind = ("responses", "responses-stream", "chat", "chat-stream")[(i // 2) % 4]
            inp, out = call(sdks[client], kind, model, i)
            # The gateway names the client to the function (X-GenAI-Client), which logs it.
            sums = expected.setdefault((client, model), [0, 0, 0])
            sums[0] += 1
            sums[1] += inp
            sums[2] += out
            kinds[kind] += 1
        for sdk in sdks.values():
            sdk.close()
    # Every call's line is in the file once the runner has read it (FnRunner writes the file first).
    assert sum(len(runner.invocations()) for runner in stack.runners) == CALLS
    assert all(runner.invocations() for runner in stack.runners), "both containers served calls"
    assert min(kinds.values()) == CALLS // 4

    assert usage.main(["--local", "--file", str(path), "--json", "--since", "1h"]) == 0
    report = json.loads(capsys.readouterr().out)
    got = {(r["client"], r["model"]): [r["calls"], r["input_tokens"], r["output_tokens"]] for r in report["rows"]}
    assert got == expected
    assert report["total"]["calls"] == CALLS and report["total"]["errors"] == 0
    assert report["malformed_lines"] == 0
    assert sum(v[1] + v[2] for v in expected.values()) == report["total"]["total_tokens"] > 0


def test_make_run_writes_the_lines_make_usage_reads(tmp_path: Path):
    path = tmp_path / "invocations.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "dev.local", "--once", "--port", "0", "--venv", "--invocations", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert f"appended to {path}" in run.stdout
    # The sample call's usage, as make run printed it, is what the report counts.
    usage_line = next(line for line in run.stdout.splitlines() if "usage:" in line)
    done = subprocess.run(
        [sys.executable, "-m", "ops.usage", "--local", "--file", str(path), "--csv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = done.stdout.splitlines()
    assert rows[0] == ",".join(usage.COLUMNS) and len(rows) == 2
    _, _, calls, errors, inp, out, _ = rows[1].split(",")
    assert (calls, errors) == ("1", "0")
    assert f"'input_tokens': {inp}, 'output_tokens': {out}" in usage_line
