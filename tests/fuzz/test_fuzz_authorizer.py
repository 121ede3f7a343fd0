"""Hostile input for the API Gateway authorizer (authorizer/func.py), through fdk in-process as
tests/authorizer calls it.

With a valid configuration every call must be answered HTTP 200 with JSON: the exact refusal
`{"active": false, "wwwAuthenticate": ...}`, or, only for a header that really carries a configured key, the
grant for that key's client. No answer may carry a key, a configured hash or a traceback.

FUZZ_EXAMPLES sets the examples per test: 300 by default (CI-sized), FUZZ_EXAMPLES=10000 for the full run.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from authorizer import keys
from dev.local.runner import load_source
from tests.conftest import invoke_direct
from tests.fuzz.support import FUZZ

ROOT = pathlib.Path(__file__).resolve().parents[2]


ALICE_OLD, ALICE_NEW, BOB = keys.new_key(), keys.new_key(), keys.new_key()
CLIENTS = {ALICE_OLD: "alice", ALICE_NEW: "alice", BOB: "bob"}
HASHES = {key: keys.hash_key(key) for key in CLIENTS}
CONFIG = ",".join(f"{client}:{HASHES[key]}" for key, client in CLIENTS.items())
UNKNOWN = keys.new_key()

# The function reads its configuration as it is imported, as a container does: loaded once, with CONFIG, under
# a module name of its own, apart from tests/authorizer's.
with pytest.MonkeyPatch.context() as _env:
    _env.setenv("API_KEY_HASHES", CONFIG)
    _env.delenv("AUTHORIZER_CACHE_SECONDS", raising=False)
    func = load_source(ROOT / "authorizer" / "func.py", "authorizer_func_under_fuzz")
DENIED = {"active": False, "wwwAuthenticate": func.WWW_AUTHENTICATE}
#: Never in an answer: the keys, their hashes (hex, either case), a traceback or a file path.
FORBIDDEN = (
    *CLIENTS,
    UNKNOWN,
    *HASHES.values(),
    *(h.upper() for h in HASHES.values()),
    "Traceback",
    'File "',
    "/work/",
)


def call(raw: bytes) -> tuple[int, Any]:
    """One authorizer call through fdk; (status, parsed JSON answer), after the checks every answer passes."""
    data, status, headers = invoke_direct(func.handler, raw)
    text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
    for needle in FORBIDDEN:
        assert needle not in text, f"{needle[:20]!r}… leaked into the answer"
    assert status == 200, f"status {status} with a valid configuration: {text[:300]!r}"
    assert headers.get("content-type", "").startswith("application/json")
    answer = json.loads(text)  # fdk's own 502 text fails here
    event("granted" if answer.get("active") else "refused")
    return status, answer


def expected_client(value: Any) -> str | None:
    """An independent reading of the header rule: `Bearer <key>`, scheme in any case, spaces around the key,
    at most 512 ASCII characters, and nothing else; the client the key belongs to, or None."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if not isinstance(value, str) or len(value) > 512 or not value.isascii():
        return None
    text = value.strip()
    if text[:7].lower() != "bearer ":
        return None
    return CLIENTS.get(text[7:].lstrip())


def check(answer: Any, client: str | None) -> None:
    if client is None:
        assert answer == DENIED
    else:
        assert set(answer) == {"active", "principal", "scope", "expiresAt", "context"}
        assert answer["active"] is True and answer["principal"] == client and answer["context"] == {"client": client}


# -- strategies ----------------------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates too
known_keys = st.sampled_from([ALICE_OLD, ALICE_NEW, BOB])
#: Keys that are close to a configured one, or nothing like one.
near_keys = st.one_of(
    known_keys,
    st.just(UNKNOWN),
    known_keys.map(lambda k: k[:-1]),
    known_keys.map(lambda k: k + "x"),
    known_keys.map(lambda k: k + "="),
    known_keys.map(str.upper),
    known_keys.map(lambda k: k.replace("-", "\u2010")),  # a Unicode hyphen
    known_keys.map(lambda k: k[: len(k) // 2] + "\x00" + k[len(k) // 2 :]),
    known_keys.map(lambda k: k + " " + k),
    st.sampled_from(["", " ", "sk-genai-", "null", "undefined", "Bearer", "=", "é", "\ud800"]),
    any_text,
)
schemes = st.sampled_from(
    ["Bearer", "bearer", "BEARER", "BeArEr", "Bearer:", "Basic", "Token", "", "Bearerx", "B\u0435arer", "Beare"]
)
separators = st.sampled_from([" ", "  ", " \t ", "\t", "", "\n", "\r\n ", "\u00a0", "\u3000", ":"])
padding = st.sampled_from(["", " ", "  ", "\t", "\n", "\x00", "\x0b", "é", "\ufeff"])
bearer_values = st.builds(
    lambda before, scheme, sep, key, after: before + scheme + sep + key + after,
    padding,
    schemes,
    separators,
    near_keys,
    padding,
)
long_values = st.builds(
    lambda head, n, fill: head + fill * n,
    st.sampled_from(["Bearer ", "Bearer sk-genai-", "", "Basic "]),
    st.integers(400, 120_000) | st.integers(500, 530),
    st.sampled_from(["A", "é", " ", "="]),
)
#: Headers that must be granted: any case of the scheme, blanks around the key.
good_values = st.builds(
    lambda before, scheme, sep, key, after: before + scheme + sep + key + after,
    st.sampled_from(["", " ", "\t", "\n "]),
    st.sampled_from(["Bearer", "bearer", "BEARER", "bEaReR"]),
    st.sampled_from([" ", "  ", " \t"]),
    known_keys,
    st.sampled_from(["", " ", "\t", "\r\n"]),
)
header_values = st.one_of(
    good_values,
    bearer_values,
    long_values,
    any_text,
    st.builds(lambda text: "Bearer " + text, any_text),
    # What a gateway would never send, and a client can make it send anyway.
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(bearer_values | any_text, max_size=3),
    st.dictionaries(any_text, any_text, max_size=2),
)
parameter_names = st.sampled_from(["authorization", "Authorization", "AUTHORIZATION", "authorisation", "auth", ""])
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | any_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=20,
)


@st.composite
def shaped_bodies(draw) -> tuple[bytes, Any]:
    """(body, the header value the authorizer should read, or None when the body carries no usable one)."""
    value = draw(header_values)
    shape = draw(st.sampled_from(["USER_DEFINED", "TOKEN"]))
    if shape == "TOKEN":
        payload: dict[str, Any] = {"type": "TOKEN", "token": value}
        carried = value if not isinstance(value, list) else None  # the token shape takes no list
    else:
        name = draw(parameter_names)
        extra = draw(st.dictionaries(parameter_names | any_text, json_values | header_values, max_size=2))
        data = {**extra, name: value}
        payload = {"type": "USER_DEFINED", "data": data}
        named = [v for k, v in data.items() if k.lower() == "authorization"]
        carried = named[0] if len(named) == 1 else None
    payload.update(draw(st.dictionaries(st.sampled_from(["extra", "context", "Type"]), json_values, max_size=1)))
    ascii_only = draw(st.booleans())
    raw = json.dumps(payload, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    if len(raw) > func.MAX_INPUT_BYTES or (not ascii_only and not _utf8(raw)):
        carried = None  # too large to read, or bytes that are not UTF-8
    return raw, carried


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _nested(depth: int, opener: bytes) -> bytes:
    return opener * depth


junk_bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda value: json.dumps(value).encode(), json_values),
    st.builds(
        lambda kind, fields: json.dumps({"type": kind, **fields}).encode(),
        st.sampled_from(["TOKEN", "USER_DEFINED", "token", "user_defined", "", "OTHER"]) | json_scalars,
        st.dictionaries(st.sampled_from(["token", "data", "Token", "DATA"]), json_values, max_size=2),
    ),
    st.builds(_nested, st.integers(1, 20_000), st.sampled_from([b"[", b"{", b'{"a":', b'{"data":'])),
    st.builds(
        lambda n: b'{"type": "TOKEN", "token": "Bearer ' + b"A" * n + b'"}',
        st.integers(func.MAX_INPUT_BYTES - 40, func.MAX_INPUT_BYTES + 40) | st.integers(0, 100_000),
    ),
    st.sampled_from(
        [
            b"",
            b"null",
            b"{}",
            b"[]",
            b'"Bearer x"',
            b"\xff\xfe\x00",
            b'{"type": "TOKEN", "token": "Bearer \xff"}',
            b'{"type": "TOKEN", "token": NaN}',
            b'{"type": "TOKEN", "token": 1e999}',
            b'{"type": "TOKEN"',
            b'{"type": "TOKEN", "token": "Bearer \\ud800"}',
            b'{"type": "TOKEN", "type": "OTHER", "token": "Bearer x"}',
        ]
    ),
)


# -- target 3: the authorizer's input -------------------------------------------------------------------------


@FUZZ
@given(case=shaped_bodies())
@example(case=(json.dumps({"type": "TOKEN", "token": f"Bearer {BOB}"}).encode(), f"Bearer {BOB}"))
@example(case=(json.dumps({"type": "TOKEN", "token": f"  bearer \t {BOB} \n"}).encode(), f"  bearer \t {BOB} \n"))
@example(
    case=(
        json.dumps({"type": "USER_DEFINED", "data": {"Authorization": [f"Bearer {BOB}"]}}).encode(),
        [f"Bearer {BOB}"],
    )
)
def test_header_values_bearer_keys_and_shapes(case):
    raw, carried = case
    _status, answer = call(raw)
    check(answer, expected_client(carried))


@FUZZ
@given(raw=junk_bodies)
def test_malformed_missing_and_oversized_input(raw):
    _status, answer = call(raw)
    assert answer == DENIED
