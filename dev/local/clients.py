"""The API clients of the local stack (and its CORS origins), from the same Terraform input the deployment takes.

One source: `terraform/clients.auto.tfvars.json`, a Terraform variable file
in JSON (Terraform loads every `*.auto.tfvars.json` of the root module by
itself: https://developer.hashicorp.com/terraform/language/values/variables#variable-definitions-tfvars-files)
holding `api_clients` (and `cors_allowed_origins`). `make run` reads it with the standard library: an HCL
`terraform.tfvars` would need an HCL parser for this one variable. The
local stack gives each listed client a fresh key (the file holds hashes of
keys it cannot know), and the function the policy table Terraform renders
from the same entries (`render_policies`, the twin of `client_policies` in
terraform/functions.tf; tests/unit/test_client_policies.py and
terraform/tests/clients.tftest.hcl check both on the same input).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authorizer import keys

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENTS_FILE = ROOT / "terraform" / "clients.auto.tfvars.json"
#: The policy fields of an api_clients entry (terraform/variables.tf); any other field (key_hashes,
#: limits, tokens_per_hour: a budget watched by an alarm, terraform/alarms.tf) is not policy and is ignored.
#: The token limits (tokens_per_minute, token_quota, token_quota_period) are enforced by the function.
POLICY_FIELDS = (
    "families",
    "max_output_tokens",
    "models",
    "token_quota",
    "token_quota_period",
    "tokens_per_minute",
)


@dataclass(frozen=True)
class ClientsFile:
    """What `make run` takes from the file: the clients and the CORS origins."""

    api_clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    cors_allowed_origins: tuple[str, ...] = ()


def load(path: Path = CLIENTS_FILE) -> ClientsFile:
    """`api_clients` and `cors_allowed_origins` of the file (none when it is absent); ValueError naming the file."""
    if not path.exists():
        return ClientsFile()
    try:
        data = json.loads(path.read_text())
        clients, origins = data.get("api_clients", {}), data.get("cors_allowed_origins", [])
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: not a Terraform JSON variable file ({exc})") from None
    if not isinstance(clients, dict) or not all(isinstance(v, dict) for v in clients.values()):
        raise ValueError(f"{path}: api_clients must map each client name to an object")
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ValueError(f"{path}: cors_allowed_origins must be a list of origins")
    return ClientsFile(clients, tuple(origins))


def stack_policies(api_clients: Mapping[str, Mapping[str, Any]]) -> str:
    """GENAI_CLIENT_POLICIES of a local stack: the clients', plus the stack's own client ("local"), unrestricted."""
    return render_policies({"local": {}, **api_clients})


def render_policies(api_clients: Mapping[str, Mapping[str, Any]], token: Callable[[str], str] = str) -> str:
    """GENAI_CLIENT_POLICIES for these clients, as terraform/functions.tf renders it.

    "" when no client sets a policy field (every client then gets the global
    settings); else every client, keyed by `token(name)` (what the gateway's
    X-GenAI-Client header carries), with the fields it sets. Sorted, compact:
    Terraform's jsonencode.
    """
    if not any(c.get(f) is not None for c in api_clients.values() for f in POLICY_FIELDS):
        return ""
    table = {token(name): {f: c[f] for f in POLICY_FIELDS if c.get(f) is not None} for name, c in api_clients.items()}
    return json.dumps(table, sort_keys=True, separators=(",", ":"))


@dataclass
class KeyRing:
    """A fresh key per client and the authorizer's check of them (authorizer/keys.py)."""

    keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls, names: list[str]) -> KeyRing:
        return cls({name: keys.new_key() for name in names})

    @property
    def config(self) -> str:
        """API_KEY_HASHES for these keys."""
        return ",".join(f"{name}:{keys.hash_key(key)}" for name, key in self.keys.items())

    def authenticate(self, headers: Mapping[str, str]) -> str | None:
        header = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        return keys.authenticate(header, keys.parse_hashes(self.config))
