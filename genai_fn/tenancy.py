"""Clients kept apart: the platform's own scope first, the function's check only where OCI has none.

When clients are isolated (GENAI_CLIENT_POLICIES gives each its own `project`
and `compartment`, genai_fn/clients.py), every call of a client carries that
client's project as `OpenAI-Project` and, to the control plane, its
compartment as `opc-compartment-id` (`scope`). What each family then relies on:

- Responses, Conversations, Files, Containers (and their files): the project.
  Oracle's "Projects" page: a project organises the artifacts created through
  the service, "including responses, conversations, files, and containers",
  and projects are isolated, so "artifacts in one project are not accessible
  from another project"
  (https://docs.oracle.com/en-us/iaas/Content/generative-ai/projects.htm). A
  reference inside a body (`previous_response_id`, `conversation`, a `file_id`
  to attach, a `container`) is resolved in the calling project too.
- Vector stores: not on that list. Oracle serves their management on the
  control plane with the compartment in `opc-compartment-id` (QuickStart,
  https://docs.oracle.com/en-us/iaas/Content/generative-ai/get-started-agents.htm;
  "Using a Vector Store", https://docs.oracle.com/en-us/iaas/Content/generative-ai/use-vector-store.htm),
  and IAM authorises a call by the compartment the resource is in, for this
  function's one identity, which may use every client's compartment. So a
  per-client compartment keeps *lists* apart (a list names its compartment),
  and this module keeps *ids* apart: the function stamps the creating client
  in the store's `metadata` (`OWNER_KEY`, which a client may neither set nor
  remove) and, before any call that names a store (its own path, its files,
  batches and search, a Responses `file_search` tool), reads the store from
  the control plane and answers a store of another client exactly as a
  missing one: the same 404, built the same way (`_missing`), so the answer
  is no oracle for another client's ids.
- Chat Completions: the route table serves no stored-completion paths
  (list, retrieve, update, delete), so a `store: true` completion is never
  read back through the function, by anyone.

Limits (docs/clients.md): one extra control-plane read before each call on a
store; a store made outside the function (Console, SDK) has no stamp and is
visible to no client by id; `file_ids` on a store create is refused (attach
files with `/vector_stores/{id}/files` or `file_batches`, resolved in the
client's project by OCI).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import clients, errors, retry
from .deadline import Budget
from .upstream import Outbound

if TYPE_CHECKING:
    from .call import Call

#: The metadata key holding the client that created a vector store.
OWNER_KEY = "genai_client"
#: OpenAI's limit on metadata pairs (openai/types/shared/metadata.py: "up to 16 key-value pairs").
MAX_METADATA_PAIRS = 16
#: Stores a Responses request may name in file_search tools before the function refuses to check them all.
MAX_CHECKED_STORES = 8
_STORES = "/v1/vector_stores"


def scope(policy: clients.Policy | None) -> tuple[str, str]:
    """Outbound's `project` and `compartment` for a client's call; ("", "") for the deployment's own."""
    if policy is None or not policy.isolated:
        return "", ""
    return policy.project or "", policy.compartment or ""


def guard(call: Call, payload: dict[str, Any], content: bytes | None, budget: Budget) -> bytes | None:
    """Check an isolated client's request where OCI's scope does not reach; the body to send.

    Raises the same 404 a missing store gets for a store of another client.
    """
    route, path = call.route, call.path
    if route.family.value == clients.COMPARTMENT_FAMILY:
        segments = path.split("/")  # "", "v1", "vector_stores", id, ...
        if len(segments) > 3:
            _check_owner(call, segments[3], budget)
        if route.method == "POST" and len(segments) == 3:
            if payload.get("file_ids"):
                raise errors.bad_request(
                    "With clients kept apart, 'file_ids' on a vector store create is not passed on: create the "
                    "store, then attach files with POST …/vector_stores/{id}/files or …/file_batches.",
                    param="file_ids",
                )
            return _stamped(call.client, payload)
        if route.method == "POST" and len(segments) == 4 and "metadata" in payload:
            return _stamped(call.client, payload)
        return content
    if route.model and isinstance(payload.get("tools"), list):
        stores = [
            store
            for tool in payload["tools"]
            if isinstance(tool, dict) and tool.get("type") == "file_search"
            for store in (tool.get("vector_store_ids") or [])
        ]
        if len(stores) > MAX_CHECKED_STORES:
            raise errors.bad_request(f"At most {MAX_CHECKED_STORES} vector stores in file_search tools.", param="tools")
        for store in stores:
            if not isinstance(store, str) or not store:
                raise errors.bad_request("'vector_store_ids' must list vector store ids.", param="tools")
            _check_owner(call, store, budget)
    return content


def _stamped(client: str, payload: dict[str, Any]) -> bytes:
    metadata = payload.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise errors.bad_request("'metadata' must be an object of string pairs.", param="metadata")
    if OWNER_KEY in metadata:
        raise errors.bad_request(
            f"The metadata key {OWNER_KEY!r} is set by the function (the store's owner).", param="metadata"
        )
    if len(metadata) >= MAX_METADATA_PAIRS:
        raise errors.bad_request(
            f"At most {MAX_METADATA_PAIRS - 1} metadata pairs: the function adds {OWNER_KEY!r}.", param="metadata"
        )
    payload["metadata"] = {**metadata, OWNER_KEY: client}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _check_owner(call: Call, store: str, budget: Budget) -> None:
    """Read `store` from the control plane in the client's scope; the 404 of a missing one unless it is the client's."""
    out = Outbound(
        "GET",
        f"/vector_stores/{store}",
        retry_rule=retry.Rule.IDEMPOTENT,
        resource="vector_store",
        control_plane=True,
        project=call.project,
        compartment=call.compartment,
    )
    try:
        answer = call.service.send(out, budget, call.record)
    except errors.ApiError as exc:
        if exc.status == 404:
            raise _missing(call) from None
        raise
    try:
        found = json.loads(bytes(answer.content))
    except ValueError:
        found = None
    metadata = found.get("metadata") if isinstance(found, dict) else None
    if not isinstance(metadata, dict) or metadata.get(OWNER_KEY) != call.client:
        raise _missing(call)


def _missing(call: Call) -> errors.ApiError:
    """What a store that is not the client's answers: the function's 404 for a missing store, without OCI's words.

    Built from the check's request id only, for a missing store and another client's alike.
    """
    return errors.from_upstream(
        404,
        {"opc-request-id": call.record.opc_request_id},
        b"",
        region=call.settings.region,
        retry_after_s=None,
        resource="vector_store",
    )
