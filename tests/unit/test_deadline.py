"""The time budget comes from Fn-Deadline, minus the safety margin."""

from datetime import datetime, timedelta, timezone

import pytest

from genai_fn.deadline import DEFAULT_BUDGET_S, Budget

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "header, seconds",
    [
        ("2026-11-25T12:00:30Z", 30),
        ("2026-11-25T12:00:30.500Z", 30.5),
        ("2026-11-25T12:00:30.123456789Z", 30.123456),
        ("2026-11-25T13:00:10+01:00", 10),
    ],
)
def test_budget_is_time_to_deadline_minus_margin(header, seconds):
    budget = Budget.from_fn_deadline(header, 1.0, now=NOW)
    assert budget.remaining() == pytest.approx(seconds - 1.0, abs=0.05)


@pytest.mark.parametrize("header", [None, "", "tomorrow"])
def test_missing_or_unreadable_deadline_gets_fdk_default(header):
    assert Budget.from_fn_deadline(header, 0, now=NOW).remaining() == pytest.approx(DEFAULT_BUDGET_S, abs=0.05)


def test_past_deadline_leaves_nothing():
    past = (NOW - timedelta(seconds=5)).isoformat()
    assert Budget.from_fn_deadline(past, 0, now=NOW).remaining() == 0.0
