"""The clients in examples/ run as a user runs them, against the local stack.

Each example runs from its own virtual environment (.venv-examples-<name>,
built here on a fresh machine from its pinned requirements.txt, reused while
they are unchanged) as `python examples/<name>/main.py`, in its own process,
with only GENAI_ENDPOINT, GENAI_API_KEY and GENAI_MODEL to find the endpoint:
the gateway at /genai, the function under fdk, the emulated OCI checking every
signature. A tool-calling agent's loop ends only when the emulator has seen the
tool's output come back, so the printed answers carry the tool's result.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dev import examples as runner
from dev.local.emulator import Emulator
from dev.local.stack import Stack

pytestmark = pytest.mark.integration

#: Per example: the labels of its printed answers that went through a tool, and the upstream paths it must reach.
EXPECTED = {
    "agents_sdk": (("responses", "chat_completions"), ("/responses", "/chat/completions")),
    "langchain": (("chat_completions + tool", "responses + tool"), ("/responses", "/chat/completions")),
}


def weather_table(script: Path) -> dict[str, str]:
    """The example's own WEATHER table, read from its source (its packages are not in this environment)."""
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "WEATHER" for t in node.targets):
            table = ast.literal_eval(node.value)
            assert isinstance(table, dict)
            return table
    raise AssertionError(f"{script} has no WEATHER table")


def answers(stdout: str) -> dict[str, str]:
    """`label: text` lines of the script's output, by label."""
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def test_every_example_is_tested_here() -> None:
    assert sorted(e.name for e in runner.examples()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_against_the_local_stack(
    name: str, stack: Stack, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = runner.Example(name)
    runner.ensure_venv(example)
    # A developer's own OpenAI settings must not decide where the example goes: the script
    # names its endpoint itself, and the runner passes on only the endpoint's three settings.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-this-one")
    seen = len(emulator.calls)

    result = runner.run(example, runner.client_env(stack.base_url + "/v1", stack.api_keys.key))

    assert result.returncode == 0, result.stderr
    # Chicago is the first city the tool's schema allows, the one the emulator's call names.
    tool_result = f"Chicago: {weather_table(example.script)['Chicago']}"
    labels, paths = EXPECTED[name]
    printed = answers(result.stdout)
    for label in labels:
        assert f"Tool output: {tool_result}" in printed.get(label, ""), result.stdout

    calls = emulator.calls[seen:]
    assert calls and all(c.status == 200 and c.jti for c in calls), [(c.path, c.status, c.reason) for c in calls]
    for path in paths:
        made = [c.body for c in calls if c.method == "POST" and c.path.endswith(path)]
        # The round trip: the tool went up with the question, and the tool's result went up after it.
        assert any(b.get("tools") for b in made), path
        assert any(tool_result in str(b.get("input", b.get("messages"))) for b in made), path
