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

With two clients or more, each gets a project and a compartment of its own,
as Terraform creates them (terraform/clients.tf): here local OCIDs derived from
the client's name (`local_scope`), which the stack makes exist in its
emulator; an entry's `project_ocid` / `compartment_ocid` is used as given.
The stack's own client ("local") keeps the deployment's project and compartment,
as an operator may give one client the project of a single-client deployment.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authorizer import keys
from genai_fn import bounds

from .credentials import COMPARTMENT, PROJECT, REGION

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENTS_FILE = ROOT / "terraform" / "clients.auto.tfvars.json"
#: The policy fields of an api_clients entry (terraform/variables.tf); any other field (key_hashes,
#: limits, tokens_per_hour: a budget watched by an alarm, terraform/alarms.tf) is not policy and is ignored.
#: The token limits (tokens_per_minute, token_quota, token_quota_period) are enforced by the function.
POLICY_FIELDS = tuple(sorted(f for f in bounds.POLICY_FIELDS if f not in bounds.POLICY_FIELDS_IN_TERRAFORM))
#: An entry's own project and compartment, as api_clients takes them (terraform/variables.tf), by policy field.
SCOPE_FIELDS = dict(bounds.POLICY_FIELDS_IN_TERRAFORM)
#: From this many clients on, each has its own project and compartment (genai_fn/clients.py, terraform/clients.tf).
ISOLATED_FROM = 2


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


def stack_policies(api_clients: Mapping[str, Mapping[str, Any]], *, real: bool = False) -> str:
    """GENAI_CLIENT_POLICIES of a local stack: the clients', plus the stack's own client ("local"), unrestricted.

    `real` (OCI itself, not the emulator): no project is made up, so each client
    needs its `project_ocid` and `compartment_ocid` (ValueError naming the first
    that lacks one); "local" then uses GENAI_PROJECT_OCID / GENAI_COMPARTMENT_OCID.
    """
    if real:
        own = {
            "project_ocid": os.environ.get("GENAI_PROJECT_OCID"),
            "compartment_ocid": os.environ.get("GENAI_COMPARTMENT_OCID"),
        }
        return render_policies({"local": own, **api_clients})
    own = {"project_ocid": PROJECT, "compartment_ocid": COMPARTMENT}
    return render_policies({"local": own, **api_clients}, scope=local_scope)


def local_scope(name: str) -> dict[str, str]:
    """The project and compartment the local stack gives a client (Terraform creates real ones)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:20]
    return {
        "project": f"ocid1.generativeaiproject.oc1.{REGION}.amaaaaaa{digest}",
        "compartment": f"ocid1.compartment.oc1..aaaaaaaa{digest}",
    }


def render_policies(
    api_clients: Mapping[str, Mapping[str, Any]],
    token: Callable[[str], str] = str,
    scope: Callable[[str], Mapping[str, str]] | None = None,
) -> str:
    """GENAI_CLIENT_POLICIES for these clients, as terraform/clients.tf renders it.

    "" when there is one client (or none) and no client sets a policy field
    (every client then gets the global settings); else every client, keyed by
    `token(name)` (what the gateway's X-GenAI-Client header carries), with the
    fields it sets, and, from ISOLATED_FROM clients on, its `project` and
    `compartment`: the entry's own (`project_ocid`, `compartment_ocid`), else
    `scope(name)`'s. Sorted, compact: Terraform's jsonencode.
    """
    isolated = len(api_clients) >= ISOLATED_FROM
    if not isolated and not any(c.get(f) is not None for c in api_clients.values() for f in POLICY_FIELDS):
        return ""
    table: dict[str, dict[str, Any]] = {}
    for name, c in api_clients.items():
        entry = {f: c[f] for f in POLICY_FIELDS if c.get(f) is not None}
        if isolated:
            made = scope(name) if scope else {}
            for field, given in SCOPE_FIELDS.items():
                value = c.get(given) or made.get(field)
                if value is None:
                    raise ValueError(f"{name}: {given} is needed (no local project or compartment is made here)")
                entry[field] = value
        table[token(name)] = entry
    return json.dumps(table, sort_keys=True, separators=(",", ":"))


def projects(policies: str) -> set[str]:
    """The projects a rendered GENAI_CLIENT_POLICIES names: the ones an emulator must have."""
    return {e["project"] for e in json.loads(policies).values() if "project" in e} if policies else set()


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
