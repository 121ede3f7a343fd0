"""The Dockerfile does what the README and the tests assume: hash-checked install, trim, entry point."""

from __future__ import annotations

import re
from pathlib import Path

from dev import image_site as site

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(keyword: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line[len(keyword) + 1 :] for line in joined.splitlines() if line.startswith(keyword + " ")]


def test_builds_on_the_python_runtime_images_fn_uses() -> None:
    assert [f.split()[0] for f in instructions("FROM")] == ["fnproject/python:3.11-dev", "fnproject/python:3.11"]
    assert "PYTHONPATH=/function:/python" in instructions("ENV")


def test_installs_the_lock_with_hashes_then_trims_it() -> None:
    (install,) = [r for r in instructions("RUN") if "pip3 install" in r]
    assert "--require-hashes" in install and "--target /python/" in install
    assert install.index("pip3 install") < install.index("trim.py /python")


def test_compiles_the_function_for_a_read_only_filesystem() -> None:
    assert any("compileall" in r and "/function" in r for r in instructions("RUN"))


def test_entry_point_is_fdk_through_boot() -> None:
    assert len(instructions("ENTRYPOINT")) == 1
    # site.entrypoint refuses anything but ["python3", ..., "/function/func.py", "handler"].
    assert site.entrypoint(ROOT / "Dockerfile") == ["-m", "genai_fn.boot"]


def test_func_yaml_builds_this_dockerfile_at_128_mb() -> None:
    text = (ROOT / "func.yaml").read_text()
    assert re.search(r"^runtime: docker$", text, re.M)
    assert re.search(r"^memory: 128$", text, re.M)


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    allowed = {
        line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")
    }
    copied = set()
    for copy in instructions("COPY"):
        if "--from=" in copy:
            continue
        copied.update(copy.split()[:-1])
    assert copied <= allowed, copied - allowed
    for path in copied:
        assert (ROOT / path).exists(), path
