"""What the recipe tests share: a copy of the project, the recipes' own text, and `make run` on the copy.

A recipe test does what docs/make-it-yours.md tells a user: it copies the
project (the files git tracks, or would with `git add`), takes the recipe's
code blocks from the document itself, so that the text and the test cannot
drift apart, applies them, and runs the local stack from the copy.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "make-it-yours.md"
#: Settings a developer's own environment must not slip into a recipe's run.
_CLEARED = ("GENAI_", "OCI_", "FN_")


def copy_project(dest: Path) -> Path:
    """The project as a fresh clone holds it (tracked files, and new files not ignored), copied into `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / raw.decode()
        if source.is_file():  # a tracked file deleted in the work tree is not part of the copy
            target = dest / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    return dest


@dataclass(frozen=True)
class Block:
    language: str
    text: str


def recipe(title: str, document: Path = RECIPES) -> list[Block]:
    """The fenced code blocks of the `## title` section, in order; a block indented in a list item, dedented."""
    text = document.read_text()
    sections = re.split(r"^## ", text, flags=re.M)
    found = [s for s in sections if s.split("\n", 1)[0].strip() == title]
    assert found, f"no section '## {title}' in {document.name}"
    fences = re.finditer(r"^( *)```(\w*)\n(.*?)^\1```$", found[0], flags=re.M | re.S)
    return [Block(m[2], re.sub(f"^{m[1]}", "", m[3], flags=re.M)) for m in fences]


def command_env(line: str) -> tuple[dict[str, str], list[str]]:
    """`A=1 B=2 make run` → ({"A": "1", "B": "2"}, ["make", "run"])."""
    words = shlex.split(line)
    env: dict[str, str] = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


@dataclass
class LocalRun:
    """`make run` serving from a copy of the project: its gateway, its API key, what it printed."""

    base_url: str
    key: str
    output: list[str] = field(default_factory=list)


@contextmanager
def make_run(project: Path, env: dict[str, str]) -> Iterator[LocalRun]:
    """`make run`'s command (`python -m dev.local`) in `project`, on a free port; stopped with Ctrl-C (SIGINT).

    The Makefile's own `run` target would first (re)install `.venv` in the
    copy; the copy runs on this checkout's interpreter instead, with `--venv`
    (.venv's packages, fdk's own command) so it needs no image folder.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
    process = subprocess.Popen(
        [sys.executable, "-m", "dev.local", "--port", "0", "--venv"],
        cwd=project,
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        # Serving once it prints its "Try it" lines (after the sample request); the last has the key.
        for line in process.stdout:
            output.append(line)
            if line.strip().startswith("make smoke"):
                break
        text = "".join(output)
        gateway = re.search(r"^Gateway\s+(\S+)", text, flags=re.M)
        key = re.search(r"KEY=(\S+)", text)
        assert gateway and key, f"make run did not start:\n{text}"
        run = LocalRun(gateway[1], key[1], output)
        drain = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
        drain.start()
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(output)
