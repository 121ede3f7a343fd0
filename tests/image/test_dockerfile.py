"""The Dockerfiles do what the README and the tests assume: hash-checked install, trim, entry point, and the
authorizer's and usage-metrics function's code at /function under its package's one name."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


# --- the authorizer's and the usage-metrics function's images ---------------------------------------------------

#: Functions whose folder is a package of the same name, built by a Dockerfile of its own (fn deploy's context).
PACKAGED = ("authorizer", "usage_metrics")
#: Configuration each needs to import cleanly (what Terraform sets; values only need to be valid).
PACKAGED_ENV = {
    "authorizer": {"API_KEY_HASHES": "alice:" + "0" * 64},
    "usage_metrics": {
        "USAGE_METRICS_COMPARTMENT_OCID": "ocid1.compartment.oc1..aaaa",
        "USAGE_METRICS_ENDPOINT": "http://127.0.0.1:9",
    },
}


def packaged(folder: str, keyword: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", (ROOT / folder / "Dockerfile").read_text())
    return [line[len(keyword) + 1 :] for line in joined.splitlines() if line.startswith(keyword + " ")]


def copies(folder: str) -> list[tuple[list[str], str]]:
    """The Dockerfile's build-context COPY lines as (sources, destination)."""
    return [(c.split()[:-1], c.split()[-1]) for c in packaged(folder, "COPY") if "--from=" not in c]


@pytest.mark.parametrize("folder", PACKAGED)
def test_a_packaged_function_builds_as_the_main_one_does(folder: str) -> None:
    assert [f.split()[0] for f in packaged(folder, "FROM")] == ["fnproject/python:3.11-dev", "fnproject/python:3.11"]
    assert "PYTHONPATH=/function:/python" in packaged(folder, "ENV")
    (install,) = [r for r in packaged(folder, "RUN") if "pip3 install" in r]
    assert "--require-hashes" in install and "--target /python/" in install
    assert any("compileall" in r and "/function" in r for r in packaged(folder, "RUN"))
    assert [json.loads(e) for e in packaged(folder, "ENTRYPOINT")] == [
        ["/python/bin/fdk", "/function/func.py", "handler"]
    ]
    text = (ROOT / folder / "func.yaml").read_text()
    assert re.search(r"^runtime: docker$", text, re.M) and re.search(r"^memory: 128$", text, re.M)


@pytest.mark.parametrize("folder", PACKAGED)
def test_a_packaged_function_context_holds_what_its_dockerfile_copies(folder: str) -> None:
    context = ROOT / folder
    allowed = {
        line[1:].rstrip("/") for line in (context / ".dockerignore").read_text().splitlines() if line.startswith("!")
    }
    copied = {source for sources, _ in copies(folder) for source in sources}
    assert copied <= allowed, copied - allowed
    for path in copied:
        assert (context / path).exists(), path


@pytest.mark.parametrize("folder", PACKAGED)
def test_the_image_layout_imports_the_function_package_by_its_one_name(folder: str, tmp_path: Path) -> None:
    # /function laid out by the Dockerfile's COPY lines, then func.py loaded by path as fdk loads it, with
    # PYTHONPATH=/function and the repository nowhere on the path.
    function = tmp_path / "function"
    for sources, destination in copies(folder):
        target = function / destination.removeprefix("/function").lstrip("/")
        for source in sources:
            path = ROOT / folder / source
            if path.is_dir():  # Docker copies a folder's contents into the destination
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / path.name if destination.endswith("/") else target)
    script = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('func', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert callable(module.handler)\n"
        "print(json.dumps({k: getattr(v, '__file__', None) for k, v in sys.modules.items()"
        " if k.split('.')[0] in ('authorizer', 'usage_metrics', 'metering', 'keys', 'genai_fn')}))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(function), **PACKAGED_ENV[folder]}
    run = subprocess.run(
        [sys.executable, "-c", script, str(function / "func.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout.splitlines()[-1])
    assert loaded and {name.split(".")[0] for name in loaded} == {folder}
    assert all(path is None or path.startswith(str(function / folder)) for path in loaded.values()), loaded
