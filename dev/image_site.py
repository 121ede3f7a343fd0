"""Build a dependency folder the way the image build does, for the tests and the benchmark.

`build(requirements, trimmed=True)` runs the Dockerfile's two steps, `pip
install --target` (byte-code compiled, as the read-only container needs) and
`image/trim.py`, into `.cache/sites/<name>-<hash>/`. The hash covers the
requirements, the trim script and the Python version, so a change to any of
them builds a new folder and an unchanged one is reused.
"""

from __future__ import annotations

import hashlib
import json
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
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if trimmed:
        shutil.copytree(build(requirements, trimmed=False), partial, symlinks=True)
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
    return target


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
