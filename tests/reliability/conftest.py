"""Shared fixtures of the soak suite.

The soak suite runs in the default `pytest` run (it is under `testpaths`); the
`soak` marker only lets it be selected (`-m soak`) or left out (`-m "not soak"`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "soak: long-running, leak, concurrency and fault-matrix checks (tests/reliability)"
    )


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
