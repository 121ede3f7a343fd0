"""Tripwire: genai_fn/boot.py mirrors fdk's own `fdk` command; an fdk upgrade that changes it must be noticed.

The image starts `python3 -m genai_fn.boot /function/func.py handler` instead of
fdk's `fdk` script (see the Dockerfile), so any change fdk makes to that script
would silently not reach the container. The first test pins the script's code
(compared as a syntax tree, so comments and formatting do not matter): when it
fails, read the new fdk/scripts/fdk.py, carry the change into genai_fn/boot.py,
then paste the new code below. The other tests check that, with eager start
off, boot hands fdk exactly what fdk's script would.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import fdk
import pytest

from genai_fn import boot

# fdk 0.1.128, fdk/scripts/fdk.py (licence header left out): the code boot.py mirrors.
MIRRORED = """
import fdk
import os
import sys

from fdk import customer_code


def main():
    if len(sys.argv) < 1:
        print("Usage: fdk <func_module> [entrypoint]")
        sys.exit("at least func module must be specified")

    if not os.path.exists(sys.argv[1]):
        sys.exit("Module: {0} doesn't exist".format(sys.argv[1]))

    if len(sys.argv) > 2:
        handler = customer_code.Function(
            sys.argv[1], entrypoint=sys.argv[2])
    else:
        handler = customer_code.Function(sys.argv[1])

    fdk.handle(handler)
"""

MINIMAL = {"GENAI_PROJECT_OCID": "ocid1.generativeaiproject.oc1..tripwire", "GENAI_REGION": "us-chicago-1"}


def fdk_console_script() -> metadata.EntryPoint:
    (entry,) = metadata.distribution("fdk").entry_points.select(group="console_scripts", name="fdk")
    return entry


def normalised(source: str) -> str:
    """The code as Python reads it: comments, blank lines and line wrapping dropped."""
    return ast.unparse(ast.parse(source))


def test_fdk_entry_point_is_the_code_boot_mirrors() -> None:
    entry = fdk_console_script()
    module = importlib.import_module(entry.module)
    installed = normalised(inspect.getsource(module))
    expected = normalised(MIRRORED)
    diff = "\n".join(
        difflib.unified_diff(expected.splitlines(), installed.splitlines(), "mirrored", "installed", lineterm="")
    )
    assert installed == expected, (
        f"fdk {metadata.version('fdk')} changed its `fdk` command ({entry.value}): re-read it, carry the change "
        f"into genai_fn/boot.py, then update MIRRORED in this test.\n{diff}"
    )
    assert entry.attr == "main"


def state(value: object) -> object:
    """An object's type and attributes, recursively: what fdk would see of it."""
    if hasattr(value, "__dict__"):
        return (type(value), {k: state(v) for k, v in vars(value).items()})
    return value


@pytest.fixture
def handed_to_fdk(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What each entry point passes to `fdk.handle`, which would otherwise bind a socket and serve forever."""
    handed: list[object] = []
    monkeypatch.setattr(fdk, "handle", handed.append)
    return handed


def run_fdk_script(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    main: Any = fdk_console_script().load()
    monkeypatch.setattr(sys, "argv", ["fdk", *args])
    main()


@pytest.mark.parametrize("args", [["func.py", "handler"], ["func.py"], ["func.py", "other_entry"]])
def test_without_eager_start_boot_hands_fdk_what_fdk_would(
    args: list[str], handed_to_fdk: list[object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    func = tmp_path / "func.py"
    # Importing this file would fail the test: neither entry point may import it before the first call.
    func.write_text("raise AssertionError('func.py imported before the first call')\n")
    argv = [str(func), *args[1:]]
    for name in ("GENAI_EAGER_START", "GENAI_PROJECT_OCID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in MINIMAL.items():
        monkeypatch.setenv(name, value)

    run_fdk_script(monkeypatch, argv)
    boot.main(argv)

    theirs, ours = handed_to_fdk
    assert state(ours) == state(theirs)
    assert isinstance(ours, fdk.customer_code.Function)


def test_a_missing_module_is_refused_with_fdks_words(
    handed_to_fdk: list[object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = str(tmp_path / "nowhere.py")
    with pytest.raises(SystemExit) as theirs:
        run_fdk_script(monkeypatch, [missing])
    with pytest.raises(SystemExit) as ours:
        boot.main([missing])
    assert ours.value.code == theirs.value.code == f"Module: {missing} doesn't exist"
    assert handed_to_fdk == []


@pytest.fixture
def func_module_restored() -> Iterator[None]:
    """fdk imports func.py as the module `func`; leave `sys.modules` as other tests expect it."""
    before = sys.modules.get("func")
    yield
    if before is None:
        sys.modules.pop("func", None)
    else:
        sys.modules["func"] = before


@pytest.mark.usefixtures("func_module_restored")
def test_with_eager_start_func_py_is_imported_before_fdk_gets_it(
    handed_to_fdk: list[object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    func = tmp_path / "func.py"
    func.write_text("def handler(ctx, data=None):\n    return 'ready'\n")
    for name, value in {**MINIMAL, "GENAI_EAGER_START": "true"}.items():
        monkeypatch.setenv(name, value)

    boot.main([str(func), "handler"])

    (function,) = handed_to_fdk
    assert isinstance(function, fdk.customer_code.Function)
    # Imported already: fdk's first call finds the module loaded.
    assert function._delayed_module_class.executed is True
    assert function.handler()(None) == "ready"


def test_the_delivery_watch_finds_what_it_wraps_in_fdk() -> None:
    """genai_fn/delivery.py wraps fdk's HttpProtocol.write_response; an fdk without it would silently lose the log."""
    from fdk.async_http import protocol

    from genai_fn import delivery

    assert inspect.signature(protocol.HttpProtocol.write_response).parameters.keys() >= {"self", "response"}
    assert delivery.watch() and delivery.watch(), "installed, and installing it again changes nothing"
    assert getattr(protocol.HttpProtocol.write_response, "genai_watched", False)
