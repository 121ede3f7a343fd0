"""Helpers of the soak suite: process probes, a recording runner, answer parsing."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.runner import FnRunner, PlatformResponse

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai.gpt-oss-120b"
OTHER_MODEL = "openai.gpt-oss-20b"


@dataclass(frozen=True)
class ProcessProbe:
    """What /proc says about one process at one moment."""

    rss_kb: int
    hwm_kb: int
    threads: int
    fds: int
    fd_targets: tuple[str, ...]

    @classmethod
    def of(cls, pid: int) -> ProcessProbe:
        status: dict[str, str] = {}
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                name, _, value = line.partition(":")
                status[name] = value.strip()
        fd_dir = f"/proc/{pid}/fd"
        targets = []
        for name in os.listdir(fd_dir):
            try:
                targets.append(_fd_kind(os.readlink(os.path.join(fd_dir, name))))
            except FileNotFoundError:  # closed between listdir and readlink
                continue
        return cls(
            rss_kb=int(status["VmRSS"].split()[0]),
            hwm_kb=int(status["VmHWM"].split()[0]),
            threads=int(status["Threads"]),
            fds=len(targets),
            fd_targets=tuple(sorted(targets)),
        )

    def as_dict(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for target in self.fd_targets:
            kinds[target] = kinds.get(target, 0) + 1
        return {
            "rss_kb": self.rss_kb,
            "hwm_kb": self.hwm_kb,
            "threads": self.threads,
            "fds": self.fds,
            "fd_kinds": kinds,
        }


def _fd_kind(target: str) -> str:
    """`socket:[123]` → `socket`, `/dev/null` → `/dev/null`: comparable between two probes."""
    return target.split(":", 1)[0] if target.endswith("]") and ":[" in target else target


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
    """The function's own per-call log lines (genai_fn/logs.py)."""
    return [json.loads(line) for line in list(runner.logs) if line.startswith('{"event":"invocation"')]


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
