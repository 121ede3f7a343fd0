"""API keys for the gateway: create, hash, parse the configured hashes, check a header.

Pure standard library, so that the authorizer function (func.py), the local
gateway and the tests share exactly this code.

Only SHA-256 hashes of keys are ever configured (``API_KEY_HASHES``), never the
keys: a hash can sit in Terraform variables, function config and logs without
letting anyone call the API. Keys are 256-bit random tokens, so a plain
(unsalted, fast) hash is enough: there is nothing to brute-force.

Config format (one string, the value of API_KEY_HASHES)::

    alice:<64 hex>,alice:<64 hex>,bob:<64 hex>

``client:sha256hex`` entries, comma-separated, whitespace ignored. A client may
have at most two live hashes, so a key can be rotated without downtime (add the
new hash, move the caller, remove the old hash).

CLI::

    python authorizer/keys.py new NAME     # prints a new key once, and its hash lines
    python authorizer/keys.py hash NAME    # reads a key on stdin, prints its hash lines
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sys
from typing import NamedTuple

KEY_PREFIX = "sk-genai-"
MAX_HASHES_PER_CLIENT = 2
# A Bearer header longer than this is not one of our keys; refuse before hashing.
MAX_HEADER_CHARS = 512
MAX_CONFIG_CHARS = 64 * 1024
CLIENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
# RFC 6750 b64token, which is what token_urlsafe produces plus the prefix.
_TOKEN_RE = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


class KeyHash(NamedTuple):
    client: str
    digest: bytes  # 32 raw bytes of SHA-256


def new_key() -> str:
    """A fresh API key: prefix + 32 random bytes, URL-safe base64."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """Lower-case hex SHA-256 of the key's UTF-8 bytes (what goes in the config)."""
    if not isinstance(key, str) or not key:
        raise ValueError("key must be a non-empty string")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_hashes(config_value: str | None) -> tuple[KeyHash, ...]:
    """Parse ``API_KEY_HASHES``. Raises ValueError naming the bad entry.

    An empty or missing value parses to no entries (every caller is refused).
    """
    if config_value is None:
        return ()
    if not isinstance(config_value, str):
        raise ValueError("API_KEY_HASHES must be a string")
    if len(config_value) > MAX_CONFIG_CHARS:
        raise ValueError("API_KEY_HASHES is too long")
    entries: list[KeyHash] = []
    per_client: dict[str, int] = {}
    seen: set[bytes] = set()
    for position, raw in enumerate(config_value.split(","), start=1):
        item = raw.strip()
        if not item:
            continue
        client, sep, hexdigest = item.partition(":")
        client, hexdigest = client.strip(), hexdigest.strip().lower()
        if not sep or not CLIENT_NAME_RE.match(client):
            raise ValueError(
                f"API_KEY_HASHES entry {position}: expected 'client:sha256hex' with a client "
                "name of letters, digits, '.', '_' or '-' (at most 63)"
            )
        if not _HEX64_RE.match(hexdigest):
            raise ValueError(f"API_KEY_HASHES entry {position} ({client}): the hash must be 64 hex characters")
        digest = bytes.fromhex(hexdigest)
        if digest in seen:
            raise ValueError(f"API_KEY_HASHES entry {position} ({client}): duplicate hash")
        seen.add(digest)
        per_client[client] = per_client.get(client, 0) + 1
        if per_client[client] > MAX_HASHES_PER_CLIENT:
            raise ValueError(
                f"API_KEY_HASHES: client {client} has more than {MAX_HASHES_PER_CLIENT} hashes "
                "(one current key and one being rotated out)"
            )
        entries.append(KeyHash(client, digest))
    return tuple(entries)


def extract_bearer(authorization_header: object) -> str | None:
    """The key from ``Bearer <key>``, or None for anything else (never raises)."""
    if not isinstance(authorization_header, str):
        return None
    if len(authorization_header) > MAX_HEADER_CHARS or not authorization_header.isascii():
        return None
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not _TOKEN_RE.match(token):
        return None
    return token


def authenticate(authorization_header: object, parsed: tuple[KeyHash, ...]) -> str | None:
    """Client name for a valid ``Authorization: Bearer <key>`` header, else None.

    The key's hash is compared with every configured hash using
    hmac.compare_digest, and the loop never stops early, so the time taken does
    not tell a caller which (or whether an early) entry matched.
    """
    token = extract_bearer(authorization_header)
    if token is None:
        return None
    candidate = hashlib.sha256(token.encode("ascii")).digest()
    matched: str | None = None
    for entry in parsed:
        # Evaluate the comparison first and unconditionally: no short-circuit.
        equal = hmac.compare_digest(candidate, entry.digest)
        if equal and matched is None:
            matched = entry.client
    return matched


def _hash_lines(name: str, key: str) -> str:
    digest = hash_key(key)
    return (
        "terraform.tfvars (api_clients):\n"
        f'  {name} = {{ key_hashes = ["{digest}"] }}\n'
        "API_KEY_HASHES entry (local gateway / function config):\n"
        f"  {name}:{digest}\n"
    )


def main(argv: list[str]) -> int:
    usage = "usage: keys.py new NAME | keys.py hash NAME  (hash reads the key on stdin)"
    if len(argv) != 2 or argv[0] not in {"new", "hash"}:
        print(usage, file=sys.stderr)
        return 2
    command, name = argv
    if not CLIENT_NAME_RE.match(name):
        print("NAME: letters, digits, '.', '_' or '-', at most 63 characters", file=sys.stderr)
        return 2
    if command == "new":
        key = new_key()
        print(f"API key for {name} (shown once; give it to the client, store it nowhere else):")
        print(f"  {key}")
    else:
        key = sys.stdin.readline().strip()
        if extract_bearer(f"Bearer {key}") is None:
            print("stdin did not hold a key", file=sys.stderr)
            return 2
    print(_hash_lines(name, key), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
