"""genai_fn.retry as tables: which failures each rule repeats, and every branch of the wait."""

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from genai_fn.retry import Failure, Rule, backoff, may_retry, retry_after

IDEM, CREATE = Rule.IDEMPOTENT, Rule.UNSENT_ONLY


@pytest.mark.parametrize(
    "rule, failure, status, expected",
    [
        (IDEM, Failure.CONNECT, None, True),
        (CREATE, Failure.CONNECT, None, True),  # never left: safe for a create
        (IDEM, Failure.STATUS, 429, True),
        (CREATE, Failure.STATUS, 429, True),  # turned away unprocessed
        (IDEM, Failure.STATUS, 503, True),
        (CREATE, Failure.STATUS, 503, False),  # may have created it
        (IDEM, Failure.STATUS, 500, True),
        (CREATE, Failure.STATUS, 500, False),
        (IDEM, Failure.STATUS, 408, True),
        (IDEM, Failure.STATUS, 400, False),
        (IDEM, Failure.STATUS, 404, False),
        (CREATE, Failure.STATUS, 409, False),
        (IDEM, Failure.TIMEOUT, None, True),
        (CREATE, Failure.TIMEOUT, None, False),
        (IDEM, Failure.DROPPED, None, True),
        (CREATE, Failure.DROPPED, None, False),
        (IDEM, Failure.INCOMPLETE_STREAM, None, True),
        (CREATE, Failure.INCOMPLETE_STREAM, None, False),
        (IDEM, Failure.TOO_LARGE, None, False),
        (CREATE, Failure.TOO_LARGE, None, False),
    ],
)
def test_may_retry(rule, failure, status, expected):
    assert may_retry(rule, failure, status) is expected


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": "-3"}, None),  # no usable value: backoff applies, not an immediate retry
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),  # the precise one wins
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),  # unreadable ms: fall back
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 12, timezone.utc), usegmt=True)}, 12.0),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW - 60, timezone.utc), usegmt=True)}, None),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 10**6, timezone.utc), usegmt=True)}, 3600.0),
        # Whatever the upstream writes, the wait is a finite number from 0 to MAX_RETRY_AFTER_S, or None.
        ({"retry-after": "1e999"}, 3600.0),
        ({"retry-after": "inf"}, 3600.0),
        ({"retry-after": "-inf"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "1e308"}, 3600.0),
        ({"retry-after-ms": "1e999"}, 3600.0),
        ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),
        ({"retry-after-ms": "-5", "retry-after": "2"}, 2.0),
        ({"retry-after": "9" * 400}, None),  # longer than any number or date: not read
        ({"retry-after": "Mon, 99 Foo 99999 99:99:99 GMT"}, None),
        ({"retry-after": "next tuesday"}, None),
        ({"retry-after": ""}, None),
    ],
)
def test_retry_after(headers, expected):
    assert retry_after(headers, now=lambda: NOW) == expected


def test_a_status_failure_without_its_status_is_refused_not_asserted():
    with pytest.raises(ValueError, match="needs its status"):
        may_retry(IDEM, Failure.STATUS, None)


@pytest.mark.parametrize("attempts, base", [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)])
def test_backoff_doubles_to_a_cap_with_jitter_below_it(attempts, base):
    assert backoff(attempts, jitter=lambda low, high: high) == base
    assert backoff(attempts, jitter=lambda low, high: low) == base * 0.75
    assert base * 0.75 <= backoff(attempts) <= base


def test_a_rows_generate_rule_is_resolved_before_anything_is_sent():
    # GENERATE is what a table row says; what is sent carries IDEMPOTENT or UNSENT_ONLY (Route.rule_for).
    with pytest.raises(ValueError, match="rule_for"):
        may_retry(Rule.GENERATE, Failure.TIMEOUT)
