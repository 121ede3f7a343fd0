"""Build a dependency folder the way the image build does, for the tests and the benchmark.

`build(requirements, trimmed=True)` runs the Dockerfile's two steps, `pip
install --target` (byte-code compiled, as the read-only container needs) and
`image/trim.py`, into `.cache/sites/<name>-<hash>/`. The hash covers the
requirements, the trim script and the Python version, so a change to any of
them builds a new folder and an unchanged one is reused. Processes that ask
for the same folder at once (pytest's workers, `make test` building it early)
take a lock: one builds it, the others wait and reuse it.

    python -m dev.image_site    # build (or reuse) the trimmed folder and the full one it is copied from
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from image import trim

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "sites"


def build(requirements: Path = ROOT / "requirements.txt", *, trimmed: bool = True) -> Path:
    """The folder `pip install --target` (then trim, if asked) makes of `requirements`."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(sys.version.encode())
    if trimmed:
        digest.update(Path(trim.__file__).read_bytes())
    target = CACHE / f"{'trimmed' if trimmed else 'full'}-{digest.hexdigest()[:12]}"
    if (target / ".complete").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            _build_into(target, requirements, trimmed=trimmed)
    return target


def _build_into(target: Path, requirements: Path, *, trimmed: bool) -> None:
    """Build `target` under the lock: in a .partial folder renamed when complete, so no reader sees half of it."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if trimmed:
        # Hard links, not copies: the trim only removes files, so the full folder keeps every one of its own, and
        # the trimmed one costs no second copy of the full folder's bytes.
        shutil.copytree(build(requirements, trimmed=False), partial, symlinks=True, copy_function=os.link)
        (partial / ".complete").unlink()
        trim.trim(partial)
    else:
        partial.mkdir(parents=True)
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        installed = subprocess.run(
            [*command, "--target", str(partial), "-r", str(requirements)], capture_output=True, text=True
        )
        if installed.returncode != 0:
            raise RuntimeError(f"pip install --target failed:\n{installed.stdout}\n{installed.stderr}")
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    # Folders built from an older lock or trim script are never used again.
    kind = target.name.split("-", 1)[0]
    for stale in CACHE.glob(f"{kind}-*"):
        if stale != target and (stale / ".complete").exists():
            shutil.rmtree(stale, ignore_errors=True)


def size_bytes(site: Path) -> int:
    """Bytes on disk, as the image layer would hold them (files only, no directory entries)."""
    return sum(f.lstat().st_size for f in site.rglob("*") if f.is_file() and f.name != ".complete")


def entrypoint(dockerfile: Path = ROOT / "Dockerfile") -> list[str]:
    """The Dockerfile's ENTRYPOINT as interpreter arguments, e.g. `["-m", "genai_fn.boot"]`.

    The image runs `python3 <args> /function/func.py handler`; the local runner
    adds the interpreter and the function's path itself.
    """
    line = next(x for x in dockerfile.read_text().splitlines() if x.startswith("ENTRYPOINT "))
    argv: list[str] = json.loads(line[len("ENTRYPOINT ") :])
    if argv[0] != "python3" or argv[-2:] != ["/function/func.py", "handler"]:
        raise ValueError(f"unexpected ENTRYPOINT in {dockerfile}: {argv}")
    return argv[1:-2]


if __name__ == "__main__":
    print(build())
