"""Fixtures shared by every suite: the emulated IAM, resource principal and Responses API, and the local stack.

Everything here is real: servers on 127.0.0.1 ports chosen free, fdk processes
on unix sockets in private temporary folders. Each fixture stops what it
started, also when a test fails.

Function containers come from `dev.local.stack` only (`function_env` for the
in-process tests, `Stack` for the rest), so the tests run the function as
`make run` and the benchmark do. `make_stack(**options)` starts a Stack on the
session's emulator and the test's principal; `stack` is the common case.

Each test carries its folder's marker (`-m unit`, `-m terraform`, ...), and the
folders whose tests start fdk processes carry `integration` too, applied here
from `FOLDER_MARKERS` so that a test cannot sit in a folder and lack its marker
(tests/README.md says what each layer proves and when to run it).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fdk import fixtures

from dev.local import stack as local
from dev.local.credentials import Issuer, ResourcePrincipal
from dev.local.emulator import Emulator
from dev.local.runner import load_source
from dev.local.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
#: Markers every test in a folder of tests/ carries (registered in pyproject.toml). A folder not listed here is an
#: error at collection: a new layer is given its markers (and a line in tests/README.md) when it is made.
FOLDER_MARKERS: dict[str, tuple[str, ...]] = {
    "unit": ("unit",),
    "authorizer": ("authorizer",),
    "tripwires": ("tripwires",),
    "deploy": ("deploy",),
    "image": ("image",),
    "terraform": ("terraform",),
    "fuzz": ("fuzz",),
    # These start fdk processes, the emulator and the gateway for every test.
    "integration": ("integration",),
    "reliability": ("reliability", "integration"),
    "examples": ("examples", "integration"),
}
#: The function's configuration in every test, under what a test sets itself.
TEST_CONFIG = {"GENAI_MAX_RETRIES": "2"}
#: The least configuration `Settings.from_environ` accepts, for tests that read settings in-process.
MINIMAL_SETTINGS = {
    "GENAI_PROJECT_OCID": "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaexample",
    "GENAI_REGION": "us-chicago-1",
}
#: What a token limit needs besides itself: its store (never reached when only settings are read).
LIMIT_STORE_SETTINGS = {
    "GENAI_LIMIT_STORE": "cache.example:6379",
    "GENAI_LIMIT_STORE_USER": "genai-limits",
    "GENAI_LIMIT_STORE_USER_ID": "ocid1.ocicacheuser.oc1.us-chicago-1.amaaaaaaexample",
    "GENAI_LIMIT_STORE_CLUSTER_ID": "ocid1.rediscluster.oc1.us-chicago-1.amaaaaaaexample",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = ROOT / "tests"
    for item in items:
        folder = item.path.relative_to(tests).parts[0] if item.path.is_relative_to(tests) else ""
        if folder not in FOLDER_MARKERS:
            raise pytest.UsageError(f"{item.nodeid}: tests/{folder} has no markers in tests/conftest.py FOLDER_MARKERS")
        for marker in FOLDER_MARKERS[folder]:
            item.add_marker(marker)
    # Layers in FOLDER_MARKERS' order, so that pytest-xdist's workers reach the ones that wait for what `make test`
    # builds beside them (the image's dependency folder, the examples' venvs) last. A stable sort: each file's tests
    # keep their order.
    order = {folder: i for i, folder in enumerate(FOLDER_MARKERS)}
    items.sort(key=lambda item: order[item.path.relative_to(tests).parts[0]])


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture(scope="session")
def emulator_server(issuer: Issuer) -> Iterator[Emulator]:
    with Emulator(issuer) as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    """The session's emulator with no faults queued, and none left behind."""
    emulator_server.clear_faults()
    emulator_server.authorized_compartments = None
    yield emulator_server
    emulator_server.clear_faults()
    emulator_server.authorized_compartments = None


@pytest.fixture
def principal(issuer: Issuer) -> Iterator[ResourcePrincipal]:
    with ResourcePrincipal(issuer) as rp:
        yield rp


@pytest.fixture
def function_env(principal: ResourcePrincipal, emulator: Emulator) -> dict[str, str]:
    """What OCI Functions gives the container, plus the function's configuration."""
    return local.function_env(principal, emulator, TEST_CONFIG)


def stack_for_tests(emulator: Emulator, **options: Any) -> Stack:
    """A Stack (not started) as the tests run it: on `emulator`, TEST_CONFIG under the test's own `config`,
    .venv's fdk unless `image=True`, a 30 s platform timeout unless `timeout_s` says otherwise."""
    options["config"] = {**TEST_CONFIG, **options.get("config", {})}
    options.setdefault("image", False)
    options.setdefault("timeout_s", 30.0)
    return Stack(emulator=emulator, **options)


@pytest.fixture
def make_stack(emulator: Emulator, principal: ResourcePrincipal) -> Iterator[Callable[..., Stack]]:
    """Start stacks (see `stack_for_tests` for the options) on the test's principal; all stopped after the test."""
    with ExitStack() as started:

        def make(**options: Any) -> Stack:
            options.setdefault("principal", principal)
            return started.enter_context(stack_for_tests(emulator, **options))

        yield make


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    """One function container behind the gateway at /genai (the deployment's prefix), every model allowed."""
    return make_stack(prefix="/genai", config={"GENAI_ALLOWED_MODELS": "*"})


def load_function(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ModuleType:
    """Import func.py afresh, by path, the way fdk does, with exactly `env` as configuration."""
    for name in list(os.environ):
        if name.startswith(("GENAI_", "OCI_", "FN_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_source(ROOT / "func.py", "func", monkeypatch)


def invoke_direct(handler: Callable[..., Any], body: bytes) -> tuple[Any, int, dict[str, str]]:
    """Call `handler` in-process through fdk as a direct invocation (no gateway): (data, status, headers)."""

    async def run() -> tuple[Any, int, dict[str, str]]:
        pending = await fixtures.setup_fn_call(handler, content=io.BytesIO(body))
        return await pending  # type: ignore[no-any-return]

    return asyncio.run(run())


def invoke(
    module: ModuleType,
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    deadline: str | None = None,
    gateway: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """Call the handler in-process through fdk's own request path (fdk.fixtures)."""

    call_headers = fixtures.setup_headers(
        deadline=deadline, headers=headers or {}, request_url=url, method=method, gateway=gateway
    )
    call_headers["fn-call-id"] = uuid.uuid4().hex.upper()
    if "content-type" in (headers or {}):
        # The Fn agent sets the call's own Content-Type too; fdk's fixture does not.
        call_headers["content-type"] = (headers or {})["content-type"]

    async def run() -> tuple[object, int, dict[str, str]]:
        pending = await fixtures.setup_fn_call_raw(module.handler, io.BytesIO(body), call_headers)
        return await pending

    data, status, raw_headers = asyncio.run(run())
    out = {k[len("fn-http-h-") :] if k.startswith("fn-http-h-") else k: v for k, v in raw_headers.items()}
    payload = bytes(data) if isinstance(data, (bytes, bytearray)) else str(data).encode()
    return status, out, payload


@pytest.fixture
def quiet_client_logs() -> Iterator[None]:
    """Hold this process's HTTP client loggers at WARNING for a long run.

    fdk (imported by tests/conftest.py) sets the root logger to DEBUG, so httpx and
    httpcore would log about fifteen records per call, and pytest would keep them all.
    """
    names = ("httpx", "httpcore", "httpx2", "httpcore2", "openai")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.WARNING)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
