"""`make examples`: every client in examples/ against the local stack, each from its own virtual environment.

python -m dev.examples                  # all of them, on the stack `make run` starts (image's dependencies)
python -m dev.examples agents_sdk       # one of them
python -m dev.examples --venv           # the function on .venv's packages instead (faster the first time)
python -m dev.examples --build-only     # build (or reuse) the examples' environments, run nothing (make test, early)

An example is a folder of examples/ with a main.py and a pinned requirements.txt.
Its dependencies go into .venv-examples-<name>, built once per requirements.txt
(a stamp holds its hash), so they never mix with the function's .venv or with
each other. The script runs as a user would run it: `python examples/<name>/main.py`
with GENAI_ENDPOINT, GENAI_API_KEY and GENAI_MODEL set, and nothing else of
the caller's GENAI_*, OCI_*, OPENAI_* or LangSmith settings.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .local.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
LOCKS = ROOT / ".cache" / "examples"
MODEL = "openai.gpt-oss-120b"
#: The caller's settings that could point a client elsewhere, or send traces out, are not passed on.
DROPPED_PREFIXES = ("GENAI_", "OCI_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_")


@dataclass(frozen=True)
class Example:
    name: str

    @property
    def folder(self) -> Path:
        return EXAMPLES / self.name

    @property
    def script(self) -> Path:
        return self.folder / "main.py"

    @property
    def requirements(self) -> Path:
        return self.folder / "requirements.txt"

    @property
    def venv(self) -> Path:
        return ROOT / f".venv-examples-{self.name}"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def examples() -> list[Example]:
    """Every folder of examples/ with a main.py and a requirements.txt, by name."""
    found = (Example(p.name) for p in sorted(EXAMPLES.iterdir()) if p.is_dir())
    return [e for e in found if e.script.is_file() and e.requirements.is_file()]


def ensure_venv(example: Example) -> Path:
    """The example's virtual environment with its requirements installed; built only when they changed.

    The stamp holds a hash of requirements.txt and of this Python's version:
    another pin or another interpreter builds the environment afresh (--clear),
    so nothing of an older resolution is left in it. A lock keeps two runs
    (make examples beside the tests) from building it at once.
    """
    digest = hashlib.sha256(example.requirements.read_bytes() + sys.version.encode()).hexdigest()
    stamp = example.venv / ".installed"
    LOCKS.mkdir(parents=True, exist_ok=True)
    with open(LOCKS / f"{example.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == digest and example.python.exists():
            return example.python
        stamp.unlink(missing_ok=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(example.venv)], check=True)
        # --no-compile: an example imports a small part of what it installs (DSPy's environment is hundreds of MB);
        # Python compiles what it imports when it imports it, instead of pip compiling every file up front.
        pip = [str(example.python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--require-hashes"]
        pip.append("--no-compile")
        installed = subprocess.run([*pip, "-r", str(example.requirements)], capture_output=True, text=True)
        if installed.returncode != 0:
            raise RuntimeError(f"pip install -r {example.requirements} failed:\n{installed.stdout}{installed.stderr}")
        stamp.write_text(digest)
    return example.python


def client_env(base_url: str, api_key: str, model: str = MODEL) -> dict[str, str]:
    """The environment an example runs in: the caller's, less what could redirect it, plus the endpoint's three."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_PREFIXES)}
    # Python's own variables would mix the function's .venv into the example's environment.
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    return {**env, "GENAI_ENDPOINT": base_url, "GENAI_API_KEY": api_key, "GENAI_MODEL": model}


def run(example: Example, env: dict[str, str], timeout_s: float = 180.0) -> subprocess.CompletedProcess[str]:
    """`python examples/<name>/main.py` from the example's own environment, from the repository's root."""
    return subprocess.run(
        [str(example.python), str(example.script.relative_to(ROOT))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.examples", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="examples to run (default: all of examples/)")
    parser.add_argument("--model", default=MODEL, help="GENAI_MODEL for the examples")
    parser.add_argument("--venv", action="store_true", help="run the function on .venv's packages, not the image's")
    parser.add_argument("--build-only", action="store_true", help="build (or reuse) the environments, run nothing")
    args = parser.parse_args(argv)

    every = {e.name: e for e in examples()}
    unknown = sorted(set(args.names) - set(every))
    if unknown:
        parser.error(f"no such example: {', '.join(unknown)} (there are: {', '.join(every)})")
    chosen = [every[n] for n in args.names] if args.names else list(every.values())

    for example in chosen:
        print(
            f"Environment .venv-examples-{example.name} (pip install -r {example.requirements.relative_to(ROOT)}; once)"
        )
    # Side by side: an install mostly waits on downloads, and each environment has its own lock.
    with ThreadPoolExecutor(len(chosen)) as pool:
        list(pool.map(ensure_venv, chosen))
    if args.build_only:
        return 0
    failed: list[str] = []
    with Stack(port=0, image=not args.venv) as stack:
        env = client_env(stack.base_url + "/v1", stack.api_keys.key, args.model)
        print(f"Endpoint    {env['GENAI_ENDPOINT']} (local stack, emulated OCI Generative AI)\n")
        for example in chosen:
            print(f"$ python {example.script.relative_to(ROOT)}")
            result = run(example, env)
            print(result.stdout, end="")
            if result.returncode != 0:
                print(result.stderr, end="", file=sys.stderr)
                print(f"-> exit {result.returncode}", file=sys.stderr)
                failed.append(example.name)
            print()
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"All {len(chosen)} example(s) ran against the local stack.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
