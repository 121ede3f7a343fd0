"""Token limits' settings and windows: what start-up accepts and refuses, and how windows align.

The limits at work (reserve, settle, refuse, fail open or closed) are tested
through the local gateway on a real Valkey: tests/integration/test_token_limits.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from dev.local import clients as local_clients
from genai_fn import bounds
from genai_fn.limits import identity, windows
from genai_fn.settings import Settings, SettingsError
from tests.conftest import LIMIT_STORE_SETTINGS, MINIMAL_SETTINGS

BASE = MINIMAL_SETTINGS
STORE = LIMIT_STORE_SETTINGS


def problems(**env: str) -> dict[str, str]:
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({**BASE, **env})
    return refused.value.problems


def test_without_any_limit_nothing_about_the_store_is_read() -> None:
    settings = Settings.from_environ({**BASE, "GENAI_LIMIT_STORE": "not even host:port"})
    assert settings.limits is None


def test_defaults_and_store_are_read_with_the_identity_endpoint_of_the_region() -> None:
    settings = Settings.from_environ(
        {
            **BASE,
            **STORE,
            "GENAI_TOKENS_PER_MINUTE": "5000",
            "GENAI_TOKEN_QUOTA": "10",
            "GENAI_TOKEN_QUOTA_PERIOD": "week",
        }
    )
    limits = settings.limits
    assert limits is not None
    assert (limits.tokens_per_minute, limits.token_quota, limits.token_quota_period) == (5000, 10, "week")
    assert (limits.tls, limits.failure_mode, limits.timeout_s) == (True, "open", 0.25)
    assert limits.identity_endpoint == "https://redis.us-chicago-1.oci.oraclecloud.com/20220315"


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"GENAI_TOKENS_PER_MINUTE": "100"}, "GENAI_LIMIT_STORE"),
        ({"GENAI_TOKENS_PER_MINUTE": "100"}, "GENAI_LIMIT_STORE_USER_ID"),
        ({"GENAI_TOKENS_PER_MINUTE": "100"}, "GENAI_LIMIT_STORE_CLUSTER_ID"),
        ({**STORE, "GENAI_TOKENS_PER_MINUTE": "0"}, "GENAI_TOKENS_PER_MINUTE"),
        ({**STORE, "GENAI_TOKENS_PER_MINUTE": str(bounds.TOKENS_PER_MINUTE[1] + 1)}, "GENAI_TOKENS_PER_MINUTE"),
        ({**STORE, "GENAI_TOKEN_QUOTA": str(bounds.TOKEN_QUOTA[1] + 1)}, "GENAI_TOKEN_QUOTA"),
        ({**STORE, "GENAI_TOKEN_QUOTA": "100"}, "GENAI_TOKEN_QUOTA_PERIOD"),
        ({**STORE, "GENAI_TOKEN_QUOTA": "100", "GENAI_TOKEN_QUOTA_PERIOD": "year"}, "GENAI_TOKEN_QUOTA_PERIOD"),
        ({**STORE, "GENAI_TOKEN_QUOTA_PERIOD": "day", "GENAI_TOKENS_PER_MINUTE": "5"}, "GENAI_TOKEN_QUOTA_PERIOD"),
        ({**STORE, "GENAI_TOKENS_PER_MINUTE": "5", "GENAI_LIMIT_STORE": "no-port"}, "GENAI_LIMIT_STORE"),
        ({**STORE, "GENAI_TOKENS_PER_MINUTE": "5", "GENAI_LIMIT_STORE_USER_ID": "alice"}, "GENAI_LIMIT_STORE_USER_ID"),
        ({**STORE, "GENAI_TOKENS_PER_MINUTE": "5", "GENAI_LIMIT_FAILURE_MODE": "maybe"}, "GENAI_LIMIT_FAILURE_MODE"),
        (
            {**STORE, "GENAI_TOKENS_PER_MINUTE": "5", "GENAI_LIMIT_STORE_TIMEOUT_MS": "5001"},
            "GENAI_LIMIT_STORE_TIMEOUT_MS",
        ),
        (
            {**STORE, "GENAI_TOKENS_PER_MINUTE": "5", "GENAI_LIMIT_STORE_TIMEOUT_MS": "9"},
            "GENAI_LIMIT_STORE_TIMEOUT_MS",
        ),
    ],
)
def test_a_bad_limit_setting_is_named_at_start_up(env: dict[str, str], setting: str) -> None:
    assert setting in problems(**env)


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        ({"tokens_per_minute": 0}, "tokens_per_minute must be an integer from 1"),
        ({"tokens_per_minute": True}, "tokens_per_minute must be an integer"),
        ({"token_quota": 5}, "token_quota and token_quota_period go together"),
        ({"token_quota_period": "day"}, "token_quota and token_quota_period go together"),
        ({"token_quota": 5, "token_quota_period": "fortnight"}, "token_quota_period must be one of hour, day"),
        ({"token_quota": bounds.TOKEN_QUOTA[1] + 1, "token_quota_period": "day"}, "token_quota must be an integer"),
    ],
)
def test_a_bad_client_limit_is_refused_naming_the_client(policy: dict[str, object], says: str) -> None:
    found = problems(**STORE, GENAI_CLIENT_POLICIES=json.dumps({"alice": policy}))
    assert found["GENAI_CLIENT_POLICIES"].startswith("alice: ") and says in found["GENAI_CLIENT_POLICIES"]


def test_a_client_limit_alone_needs_the_store_and_is_read_into_the_policy() -> None:
    # Two clients are tenants: each has its own project and compartment (genai_fn/clients.py).
    scope = {
        name: {
            "project": f"ocid1.generativeaiproject.oc1.us-chicago-1.{name}",
            "compartment": f"ocid1.compartment.oc1..{name}",
        }
        for name in ("alice", "bob")
    }
    limits = {"tokens_per_minute": 7, "token_quota": 9, "token_quota_period": "month"}
    table = json.dumps({"alice": {**limits, **scope["alice"]}, "bob": scope["bob"]})
    assert "GENAI_LIMIT_STORE" in problems(GENAI_CLIENT_POLICIES=table)
    settings = Settings.from_environ({**BASE, **STORE, "GENAI_CLIENT_POLICIES": table})
    assert settings.client_policies is not None and settings.limits is not None
    alice = settings.client_policies["alice"]
    assert (alice.tokens_per_minute, alice.token_quota, alice.token_quota_period) == (7, 9, "month")
    assert settings.limits.tokens_per_minute is None  # no default: bob is not limited


def test_make_run_passes_the_limit_fields_as_terraform_renders_them() -> None:
    rendered = local_clients.render_policies(
        {"alice": {"key_hashes": ["a" * 64], "tokens_per_minute": 100, "token_quota": 5, "token_quota_period": "day"}}
    )
    assert json.loads(rendered) == {"alice": {"token_quota": 5, "token_quota_period": "day", "tokens_per_minute": 100}}


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("period", "moment", "start", "end"),
    [
        ("minute", "2026-12-07T00:20:59", "2026-12-07T00:20:00", "2026-12-07T00:21:00"),
        ("hour", "2026-12-07T00:20:59", "2026-12-07T00:00:00", "2026-12-07T01:00:00"),
        ("day", "2026-12-31T23:59:59", "2026-12-31T00:00:00", "2027-01-01T00:00:00"),
        # ISO weeks start on Monday: 2026-12-06 is a Sunday.
        ("week", "2026-12-06T12:00:00", "2026-11-30T00:00:00", "2026-12-07T00:00:00"),
        ("week", "2026-12-07T00:00:00", "2026-12-07T00:00:00", "2026-12-14T00:00:00"),
        ("month", "2028-02-29T10:00:00", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
        ("month", "2026-12-15T10:00:00", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_windows_are_aligned_to_the_calendar_in_utc(period: str, moment: str, start: str, end: str) -> None:
    window = windows.window(period, at(moment))
    assert (window.start, window.end) == (at(start), at(end))
    # Keys name the window and share a hash tag per client (one slot for a call's windows).
    assert window.key("acme.alice") == f"genai:limits:{{acme.alice}}:{period}:{int(at(start))}"
    # A key outlives its window a little, never less.
    assert window.ttl_ms(at(moment)) > (at(end) - at(moment)) * 1000


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.25, "250ms"), (1, "1s"), (59.2, "1m0s"), (360, "6m0s"), (3723, "1h2m3s"), (0, "0ms")]
)
def test_reset_is_written_as_openai_writes_it(seconds: float, text: str) -> None:
    assert windows.reset_text(seconds) == text


def test_the_identity_tokens_expiry_is_read_from_its_claims() -> None:
    import base64

    claims = base64.urlsafe_b64encode(json.dumps({"exp": 1800000000}).encode()).decode().rstrip("=")
    assert identity._expiry(f"e30.{claims}.sig") == 1800000000.0
    assert identity._expiry("not a jwt") is None
