"""`make run` configures the local function from the developer's model settings, and its emulator serves them.

Run as a user runs it: `python -m dev.local --once` in its own process, the
whole chain (gateway → fdk → emulator) started by it, on a free port.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from dev.local.emulator import KNOWN_MODELS
from dev.local.stack import MODEL_SETTINGS
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def make_run(settings: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in MODEL_SETTINGS}
    return subprocess.run(
        [sys.executable, "-m", "dev.local", "--once", "--port", "0", "--venv", *args],
        cwd=ROOT,
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_model_settings_reach_the_function_and_the_emulator_serves_them() -> None:
    new_model = "google.gemini-2.5-flash"  # not one the emulator knows by itself
    assert new_model not in KNOWN_MODELS
    run = make_run(
        {
            "GENAI_DEFAULT_MODEL": new_model,
            "GENAI_ALLOWED_MODELS": f"{new_model},openai.gpt-oss-20b",
            "GENAI_MODEL_ALIASES": "gpt-4o-mini=openai.gpt-oss-20b",
        }
    )
    assert run.returncode == 0, run.stderr
    assert "aliases: gpt-4o-mini → openai.gpt-oss-20b" in run.stdout
    # The sample request names the alias; the function sends the model it stands for, signed.
    assert "Sample request through the gateway (model gpt-4o-mini)" in run.stdout
    assert "model:       openai.gpt-oss-20b" in run.stdout
    assert "POST /openai/v1/responses → 200, signature verified" in run.stdout


def test_the_default_model_alone_is_enough() -> None:
    run = make_run({"GENAI_DEFAULT_MODEL": "xai.grok-4", "GENAI_ALLOWED_MODELS": "xai.grok-4"})
    assert run.returncode == 0, run.stderr
    assert "(model xai.grok-4)" in run.stdout and "model:       xai.grok-4" in run.stdout


def test_a_bad_model_setting_is_named_before_anything_starts() -> None:
    run = make_run({"GENAI_MODEL_ALIASES": "gpt-4o-mini=openai.gpt-oss-20b"})
    assert run.returncode == 2 and "Gateway" not in run.stdout
    assert "GENAI_MODEL_ALIASES: maps gpt-4o-mini to openai.gpt-oss-20b" in run.stderr


def test_api_clients_of_the_terraform_file_get_keys_and_their_policy(tmp_path) -> None:
    clients = tmp_path / "clients.auto.tfvars.json"
    bob = {"key_hashes": ["b" * 64], "models": ["openai.gpt-oss-20b"]}
    clients.write_text(json.dumps({"api_clients": {"bob": bob, "carol": {"key_hashes": ["c" * 64]}}}))
    run = make_run({"GENAI_ALLOWED_MODELS": "openai.gpt-oss-120b,openai.gpt-oss-20b"}, "--clients", str(clients))
    assert run.returncode == 0, run.stderr
    assert "Client    bob: key sk-genai-" in run.stdout and '"models": ["openai.gpt-oss-20b"]' in run.stdout
    assert "Client    carol: key sk-genai-" in run.stdout and "policy none (global)" in run.stdout
    # The sample request names the default model, which bob may not use.
    assert "the sample request as bob → 404 model_not_found" in run.stdout
    assert "this client may use: openai.gpt-oss-20b." in run.stdout
    # Three clients with local: each has its own project, and the stack's sample response is no one else's.
    assert run.stdout.count("own project ocid1.generativeaiproject.") == 2
    assert "Isolation the sample response as bob → 404 response_not_found" in run.stdout


def _descendants(pid: int) -> dict[int, tuple[str, str]]:
    """Every process under `pid`, from /proc's children lists: pid → (start time, command line)."""
    found: dict[int, tuple[str, str]] = {}
    queue = [pid]
    while queue:
        parent = queue.pop()
        for task in os.listdir(f"/proc/{parent}/task"):
            with open(f"/proc/{parent}/task/{task}/children") as f:
                for child in map(int, f.read().split()):
                    found[child] = _identity(child)
                    queue.append(child)
    return found


def _identity(pid: int) -> tuple[str, str]:
    """(start time, command line): a pid the kernel handed to a new process after ours ended is not ours."""
    with open(f"/proc/{pid}/stat") as f:
        start = f.read().rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return start, f.read().replace(b"\0", b" ").decode(errors="replace")


def _alive(pid: int, identity: tuple[str, str]) -> bool:
    """Still running, as the same process (a zombie, exited but not yet reaped by whoever adopted it, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z" and _identity(pid)[0] == identity[0]
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_every_process_make_run_started(tmp_path, signum: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in MODEL_SETTINGS}
    run = subprocess.Popen(
        # As `make run` starts it: the image's entry point, the usage-metrics function beside the main one.
        [sys.executable, "-u", "-m", "dev.local", "--port", "0", "--invocations", str(tmp_path / "calls.jsonl"),
         "--metrics-file", str(tmp_path / "metrics.jsonl")],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert run.stdout is not None
        seen = []
        for line in run.stdout:  # until the ready line: everything it starts is running then
            seen.append(line)
            if line.startswith("Try it (Ctrl-C to stop)"):
                break
        else:
            pytest.fail("make run ended before it was ready:\n" + "".join(seen))
        started = _descendants(run.pid)
        commands = [command for _, command in started.values()]
        assert sum("func.py handler" in c for c in commands) == 2, commands  # the main and the usage function
        run.send_signal(signum)
        out, _ = run.communicate(timeout=120)  # a bound for a hung stop, not a timing
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0 and f"Stopped ({signal.Signals(signum).name})." in out
    left = {pid: identity[1] for pid, identity in started.items() if _alive(pid, identity)}
    for pid in left:  # a failing run must not leave them behind for the next test either
        os.kill(pid, signal.SIGKILL)
    assert left == {}, f"still running after {signal.Signals(signum).name}: {left}"
