"""Helpers of the soak suite: a recording runner, answer parsing (process probes: dev/local/proc.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dev.local.runner import FnRunner, PlatformResponse

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai.gpt-oss-120b"
OTHER_MODEL = "openai.gpt-oss-20b"


class RecordingRunner(FnRunner):
    """An FnRunner that keeps every answer it gave, as the platform returned it (with elapsed_s)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.answers: list[PlatformResponse] = []

    def invoke(self, *args: Any, **kwargs: Any) -> PlatformResponse:
        answer = super().invoke(*args, **kwargs)
        self.answers.append(answer)
        return answer


def invocation_lines(runner: FnRunner) -> list[dict[str, Any]]:
    """Every per-call log line the function wrote (genai_fn/logs.py), repeats included, in order.

    Waits first for the line of every call the runner answered, so that none is still unread.
    """
    runner.invocations()
    return [json.loads(line) for line in runner.lines() if line.startswith('{"event":"invocation"')]


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text", "")
        for item in response.get("output") or []
        if item.get("type") == "message"
        for part in item.get("content") or []
        if part.get("type") == "output_text"
    )


def sse_events(body: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of a buffered server-sent event stream, in order."""
    return [json.loads(line[5:]) for line in body.splitlines() if line.startswith(b"data:")]


def echo_of(text: str, limit: int | None = None) -> str:
    """What the emulator answers for `text`: "Echo: <text>", whitespace collapsed as its word split does,
    cut to `limit` words (max_output_tokens) when longer."""
    return " ".join(f"Echo: {text}".split()[:limit])


def echo_is_complete(text: str, limit: int) -> bool:
    return len(f"Echo: {text}".split()) <= limit
