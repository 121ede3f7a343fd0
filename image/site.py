"""Build a dependency folder the way the image build does, for the tests and the benchmark.

`build(requirements, trimmed=True)` runs the Dockerfile's two steps, `pip
install --target` (byte-code compiled, as the read-only container needs) and
`image/trim.py`, into `.cache/sites/<name>-<hash>/`. The hash covers the
requirements, the trim script and the Python version, so a change to any of
them builds a new folder and an unchanged one is reused.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from . import trim

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
    return target


def size_bytes(site: Path) -> int:
    """Bytes on disk, as the image layer would hold them (files only, no directory entries)."""
    return sum(f.lstat().st_size for f in site.rglob("*") if f.is_file() and f.name != ".complete")
