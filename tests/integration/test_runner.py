"""The local runner applies the platform's rules: status mapping, deadline cut-off, restart."""

from pathlib import Path

import pytest

from dev.local.runner import LogLineMissing

pytestmark = pytest.mark.integration
MISBEHAVING = Path(__file__).parent / "functions" / "misbehaving.py"


@pytest.fixture
def fn(make_stack):
    """A container of the misbehaving function, invoked directly (no gateway), with a 2 s platform timeout."""
    return make_stack(func_path=MISBEHAVING, gateway=False, timeout_s=2).runner


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


def test_log_for_waits_for_the_calls_own_line(fn):
    answer = fn.invoke("GET", "/late")
    assert answer.status == 201
    assert fn.log_for(answer.call_id) == {"event": "invocation", "call_id": answer.call_id, "status": 201}
    assert [line["call_id"] for line in fn.invocations()] == [answer.call_id]


def test_log_for_gives_up_once_the_process_has_ended_without_the_line(fn):
    answer = fn.invoke("GET", "/raise")  # fdk answers; the function wrote no line of its own
    fn.stop()
    # No bound on the wait: it must end because the process's output has ended.
    with pytest.raises(LogLineMissing, match="ended without a log line"):
        fn.log_for(answer.call_id, timeout_s=None)
