"""authorizer/func.py run through fdk in-process, as API Gateway would call it."""

import datetime as dt
import hmac
import json
import logging
import pathlib

import pytest

from authorizer import keys
from dev.local.runner import load_source
from tests.conftest import invoke_direct

ROOT = pathlib.Path(__file__).resolve().parents[2]
FUNC_PATH = ROOT / "authorizer" / "func.py"

ALICE_OLD, ALICE_NEW, BOB = keys.new_key(), keys.new_key(), keys.new_key()
CONFIG = ",".join(
    [f"alice:{keys.hash_key(ALICE_OLD)}", f"alice:{keys.hash_key(ALICE_NEW)}", f"bob:{keys.hash_key(BOB)}"]
)


def load(monkeypatch, hashes=CONFIG, cache_seconds=None):
    """authorizer/func.py imported afresh with this configuration in the environment, as a new container."""
    monkeypatch.setenv("API_KEY_HASHES", hashes)
    if cache_seconds is None:
        monkeypatch.delenv("AUTHORIZER_CACHE_SECONDS", raising=False)
    else:
        monkeypatch.setenv("AUTHORIZER_CACHE_SECONDS", cache_seconds)
    return load_source(FUNC_PATH, "authorizer_func_under_test")


@pytest.fixture
def func(monkeypatch):
    return load(monkeypatch)


def call(func, body) -> tuple[int, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    data, status, _headers = invoke_direct(func.handler, raw)
    return status, json.loads(data)


def multi(header):
    return {"type": "USER_DEFINED", "data": {"authorization": header}}


def assert_denied(status, answer):
    assert status == 200
    assert answer == {"active": False, "wwwAuthenticate": 'Bearer realm="genai", error="invalid_token"'}


def test_valid_key_multi_argument(func):
    status, answer = call(func, multi(f"Bearer {BOB}"))
    assert status == 200
    assert answer["active"] is True and answer["principal"] == "bob"
    assert answer["context"] == {"client": "bob"}
    assert answer["scope"] == ["genai"]
    expires = dt.datetime.fromisoformat(answer["expiresAt"])
    left = (expires - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert 250 < left <= 300


def test_valid_key_single_argument_token_shape(func):
    status, answer = call(func, {"type": "TOKEN", "token": f"Bearer {ALICE_NEW}"})
    assert status == 200 and answer["active"] is True and answer["principal"] == "alice"


def test_header_as_single_element_list_and_any_case_parameter_name(func):
    _status, answer = call(func, {"type": "USER_DEFINED", "data": {"Authorization": [f"Bearer {BOB}"]}})
    assert answer["principal"] == "bob"


def test_rotation_both_live_hashes_work(func):
    assert call(func, multi(f"Bearer {ALICE_OLD}"))[1]["principal"] == "alice"
    assert call(func, multi(f"Bearer {ALICE_NEW}"))[1]["principal"] == "alice"


def test_wrong_key(func):
    assert_denied(*call(func, multi(f"Bearer {keys.new_key()}")))
    assert_denied(*call(func, multi(f"Bearer {BOB}x")))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b"null",
        b"{" * 5000,
        {"type": "USER_DEFINED"},
        {"type": "USER_DEFINED", "data": {}},
        {"type": "USER_DEFINED", "data": "Bearer x"},
        {"type": "USER_DEFINED", "data": {"authorization": 12}},
        {"type": "USER_DEFINED", "data": {"authorization": None}},
        {"type": "USER_DEFINED", "data": {"authorization": [f"Bearer {BOB}", f"Bearer {BOB}"]}},
        {"type": "USER_DEFINED", "data": {"authorization": f"Bearer {BOB}", "AUTHORIZATION": "x"}},
        {"type": "TOKEN"},
        {"type": "TOKEN", "token": ["Bearer x"]},
        {"type": "OTHER", "token": f"Bearer {BOB}"},
        {"token": f"Bearer {BOB}"},
        multi(""),
        multi("Bearer"),
        multi(BOB),  # no scheme
        multi(f"Basic {BOB}"),
        multi("Bearer clé-non-ascii"),
        multi("Bearer " + "A" * 100_000),
        b'{"type": "USER_DEFINED", "data": {"authorization": "' + b"B" * 20_000 + b'"}}',
    ],
)
def test_missing_or_malformed_input_gets_a_well_formed_refusal(func, body):
    assert_denied(*call(func, body))


def test_every_configured_hash_is_compared(func, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    assert call(func, multi(f"Bearer {ALICE_OLD}"))[1]["principal"] == "alice"  # first entry
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("hashes", "cache_seconds", "named"),
    [
        ("", None, "API_KEY_HASHES"),
        ("alice:nothex", None, "API_KEY_HASHES"),
        ("alice", None, "API_KEY_HASHES"),
        (CONFIG, "soon", "AUTHORIZER_CACHE_SECONDS"),
    ],
)
def test_broken_config_is_a_5xx_not_a_refusal_and_is_logged_naming_the_setting(
    monkeypatch, caplog, hashes, cache_seconds, named
):
    with caplog.at_level(logging.ERROR, logger="genai-authorizer"):
        func = load(monkeypatch, hashes, cache_seconds)
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "genai-authorizer"]
    assert logged.startswith(f"authorizer misconfigured: {named}")
    for _ in range(2):  # every call, not only the first
        status, answer = call(func, multi(f"Bearer {BOB}"))
        assert status == 500 and answer == {"active": False, "wwwAuthenticate": func.WWW_AUTHENTICATE}


@pytest.mark.parametrize(("value", "expected"), [("10", 60), ("600", 600), ("99999", 3600)])
def test_cache_seconds_are_clamped_to_what_the_gateway_honours(monkeypatch, value, expected):
    func = load(monkeypatch, cache_seconds=value)
    answer = call(func, multi(f"Bearer {BOB}"))[1]
    left = (dt.datetime.fromisoformat(answer["expiresAt"]) - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert expected - 5 < left <= expected


def test_the_configuration_is_read_once_and_a_new_container_reads_the_new_one(func, monkeypatch):
    # A running container's environment does not change: OCI Functions brings new configuration to new containers.
    assert call(func, multi(f"Bearer {BOB}"))[1]["active"] is True
    monkeypatch.setenv("API_KEY_HASHES", f"alice:{keys.hash_key(ALICE_NEW)}")
    assert call(func, multi(f"Bearer {BOB}"))[1]["active"] is True
    fresh = load(monkeypatch, f"alice:{keys.hash_key(ALICE_NEW)}")
    assert_denied(*call(fresh, multi(f"Bearer {BOB}")))
    assert call(fresh, multi(f"Bearer {ALICE_NEW}"))[1]["principal"] == "alice"
