"""authorizer/keys.py: the pure key logic shared by the authorizer function and the local gateway."""

import hashlib
import hmac
import pathlib
import re
import subprocess
import sys

import pytest

from authorizer import keys

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYS_PATH = ROOT / "authorizer" / "keys.py"


def test_new_key_is_prefixed_random_and_bearer_safe():
    a, b = keys.new_key(), keys.new_key()
    assert a != b
    assert a.startswith(keys.KEY_PREFIX) and len(a) >= len(keys.KEY_PREFIX) + 43
    assert keys.extract_bearer(f"Bearer {a}") == a


def test_hash_key_is_sha256_hex():
    assert keys.hash_key("abc") == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(ValueError):
        keys.hash_key("")


def test_parse_hashes_format_whitespace_and_case():
    h1, h2 = keys.hash_key("k1"), keys.hash_key("k2")
    parsed = keys.parse_hashes(f" alice : {h1.upper()} ,, bob:{h2} ,")
    assert [(e.client, e.digest.hex()) for e in parsed] == [("alice", h1), ("bob", h2)]
    assert keys.parse_hashes("") == () and keys.parse_hashes(None) == ()


@pytest.mark.parametrize(
    "value",
    [
        "alice",  # no colon
        "alice:abc",  # short hash
        ":" + "a" * 64,  # no client
        "al ice:" + "a" * 64,  # bad client name
        "alice:" + "g" * 64,  # not hex
        "alice:{0},bob:{0}".format("a" * 64),  # the same hash twice
        "alice:{},alice:{},alice:{}".format("a" * 64, "b" * 64, "c" * 64),  # 3 live hashes
    ],
)
def test_parse_hashes_rejects_bad_config(value):
    with pytest.raises(ValueError):
        keys.parse_hashes(value)


def test_authenticate_valid_wrong_and_rotation():
    old, new, other = keys.new_key(), keys.new_key(), keys.new_key()
    parsed = keys.parse_hashes(f"alice:{keys.hash_key(old)},alice:{keys.hash_key(new)},bob:{keys.hash_key(other)}")
    assert keys.authenticate(f"Bearer {old}", parsed) == "alice"
    assert keys.authenticate(f"bearer  {new} ", parsed) == "alice"
    assert keys.authenticate(f"Bearer {other}", parsed) == "bob"
    assert keys.authenticate(f"Bearer {old}x", parsed) is None
    assert keys.authenticate(f"Bearer {old}", ()) is None


@pytest.mark.parametrize(
    "header",
    [
        None,
        42,
        b"Bearer x",
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer a b",
        "Bearer é",
        "Bearer " + "a" * 600,
        "Token abc",
        "Bearer\tabc",
    ],
)
def test_authenticate_refuses_malformed_headers(header):
    key = "abc"
    parsed = keys.parse_hashes(f"alice:{keys.hash_key(key)}")
    assert keys.authenticate(header, parsed) is None


def test_every_hash_is_compared_with_compare_digest(monkeypatch):
    """The loop must not stop at the first match (timing) and must use compare_digest."""
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    mine = keys.new_key()
    others = [keys.new_key() for _ in range(4)]
    config = ",".join([f"first:{keys.hash_key(mine)}"] + [f"c{i}:{keys.hash_key(k)}" for i, k in enumerate(others)])
    parsed = keys.parse_hashes(config)
    assert keys.authenticate(f"Bearer {mine}", parsed) == "first"
    assert len(calls) == len(parsed) == 5
    assert {b for _, b in calls} == {e.digest for e in parsed}
    calls.clear()
    assert keys.authenticate(f"Bearer {keys.new_key()}", parsed) is None
    assert len(calls) == 5


def test_cli_new_prints_key_once_and_matching_hash_lines():
    out = subprocess.run(
        [sys.executable, str(KEYS_PATH), "new", "alice"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"(sk-genai-\S+)", out)
    assert match, out
    key = match.group(1)
    digest = keys.hash_key(key)
    assert out.count(key) == 1
    assert f'alice = {{ key_hashes = ["{digest}"] }}' in out
    assert f"alice:{digest}" in out


def test_cli_hash_reads_key_from_stdin_and_rejects_bad_use():
    key = keys.new_key()
    out = subprocess.run(
        [sys.executable, str(KEYS_PATH), "hash", "bob"],
        input=key + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"bob:{keys.hash_key(key)}" in out and key not in out
    bad = subprocess.run([sys.executable, str(KEYS_PATH), "new", "bad name"], capture_output=True)
    assert bad.returncode == 2
