"""The clients in examples/ run as a user runs them, against the local stack.

Each example runs from its own virtual environment (.venv-examples-<name>,
built here on a fresh machine from its pinned requirements.txt, reused while
they are unchanged) as `python examples/<name>/main.py`, in its own process,
with only GENAI_ENDPOINT, GENAI_API_KEY and GENAI_MODEL to find the endpoint:
the gateway at /genai, the function under fdk, the emulated OCI checking every
signature. A tool-calling agent's loop ends only when the emulator has seen the
tool's output come back, so the printed answers carry the tool's result; the
agent loops (smolagents, DSPy's ReAct) also print how often their tool ran,
which must be once: the emulated model never asks again after a result.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dev import examples as runner
from dev.local.emulator import Call, Emulator
from dev.local.stack import Stack

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Expected:
    #: Labels of the printed answers that went through the tool.
    labels: tuple[str, ...]
    #: Upstream paths the example must reach.
    paths: tuple[str, ...]
    #: Whether the tool goes up as the request's `tools` (DSPy's ReAct describes it in the prompt instead).
    native_tools: bool = True
    #: Printed lines that must read exactly so: how often the tool ran, the tools an agent's trajectory took.
    printed: tuple[tuple[str, str], ...] = ()


EXPECTED = {
    "agents_sdk": Expected(("responses", "chat_completions"), ("/responses", "/chat/completions")),
    "langchain": Expected(("chat_completions + tool", "responses + tool"), ("/responses", "/chat/completions")),
    "smolagents": Expected(("answer",), ("/chat/completions",), printed=(("get_weather calls", "1"),)),
    "dspy": Expected(
        ("chat_adapter", "json_adapter"),
        ("/chat/completions",),
        native_tools=False,
        printed=tuple(
            (f"{adapter} {label}", value)
            for adapter in ("chat_adapter", "json_adapter")
            for label, value in (("get_weather calls", "1"), ("tools", "get_weather, finish"))
        ),
    ),
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
    calls = run_example(name, stack, emulator, monkeypatch)
    for path in EXPECTED[name].paths:
        made = [c.body for c in calls if c.method == "POST" and c.path.endswith(path)]
        assert made, path
        if EXPECTED[name].native_tools:
            assert any(b.get("tools") for b in made), path


def test_dspy_with_an_alias_gets_litellm_s_json_schema(
    make_stack: Callable[..., Stack], emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LiteLLM knows `gpt-4o-mini`: DSPy's JSONAdapter then asks for a strict JSON schema, and the alias
    (reached as `gpt-4o-mini`: LiteLLM takes `openai/` off) sends it to the OCI model."""
    aliased = make_stack(prefix="/genai", config={"GENAI_MODEL_ALIASES": f"gpt-4o-mini={runner.MODEL}"})
    calls = run_example("dspy", aliased, emulator, monkeypatch, model="gpt-4o-mini")
    assert {c.body.get("model") for c in calls} == {runner.MODEL}
    formats = [(c.body.get("response_format") or {}).get("type") for c in calls]
    assert "json_schema" in formats and "json_object" in formats, formats


def run_example(
    name: str, stack: Stack, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, model: str = runner.MODEL
) -> list[Call]:
    """Run the example through the gateway; check its printed answers and lines, and that every call was signed."""
    example = runner.Example(name)
    runner.ensure_venv(example)
    # A developer's own OpenAI settings must not decide where the example goes: the script
    # names its endpoint itself, and the runner passes on only the endpoint's three settings.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-this-one")
    seen = len(emulator.calls)

    result = runner.run(example, runner.client_env(stack.base_url + "/v1", stack.api_keys.key, model))

    assert result.returncode == 0, result.stderr
    # Chicago is the first city the tool's schema allows, the one the emulator's call names.
    tool_result = f"Chicago: {weather_table(example.script)['Chicago']}"
    printed = answers(result.stdout)
    for label in EXPECTED[name].labels:
        assert f"Tool output: {tool_result}" in printed.get(label, ""), result.stdout
    for label, value in EXPECTED[name].printed:
        assert printed.get(label) == value, result.stdout

    calls = emulator.calls[seen:]
    assert calls and all(c.status == 200 and c.jti for c in calls), [(c.path, c.status, c.reason) for c in calls]
    # The round trip: the tool's result went up, through the gateway, after the tool ran.
    for path in EXPECTED[name].paths:
        made = [c.body for c in calls if c.method == "POST" and c.path.endswith(path)]
        assert any(tool_result in str(b.get("input", b.get("messages"))) for b in made), path
    return calls
