"""The local runner applies the platform's rules: status mapping, deadline cut-off, restart."""

from pathlib import Path

import pytest

from dev.local.runner import FnRunner

pytestmark = pytest.mark.integration
MISBEHAVING = Path(__file__).parent / "functions" / "misbehaving.py"


@pytest.fixture
def fn():
    with FnRunner(func_path=MISBEHAVING, timeout_s=2) as runner:
        yield runner


def test_status_and_headers_are_translated(fn):
    answer = fn.invoke("GET", "/x/ok", headers={"X-Client": "1"})
    assert answer.status == 201 and answer.body == b"ok" and answer.headers["x-echo"] == "/x/ok"


def test_a_5xx_other_than_502_and_504_reaches_the_caller_as_502(fn):
    assert fn.invoke("GET", "/500").status == 502


def test_an_exception_is_fdks_502_with_the_message(fn):
    answer = fn.invoke("GET", "/raise")
    assert answer.status == 502 and b"boom" in answer.body


def test_a_call_past_its_deadline_is_cut_off_and_the_container_replaced(fn):
    first_pid = fn.pid
    answer = fn.invoke("GET", "/sleep")
    assert answer.status == 504 and b"FunctionInvokeTimeout" in answer.body
    assert fn.invoke("GET", "/ok").status == 201
    assert fn.pid != first_pid and fn.starts == 2
