"""Vector store file batches: create, retrieve, cancel, and the batch's files.

Oracle documents them on /openai/v1 ("Vector Store File Batches",
docs.oracle.com/en-us/iaas/Content/generative-ai/vector-store-file-batches.htm);
shapes follow openai/types/vector_stores (VectorStoreFileBatch, VectorStoreFile)
and the create parameters openai/types/vector_stores/file_batch_create_params.py:
`file_ids` (with `attributes` for all) or `files` (each with its own), not both.

A batch is `in_progress` when created, its files attached `in_progress` (not
searchable yet), and finishes when it is first read (retrieved or its files
listed), as a background response is ready at its first retrieve. Until then
it can be cancelled: the batch and its unfinished files become `cancelled`.
Cancelling a finished batch changes nothing and answers the batch as it is.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .state import State, StoredVectorStore
from .storage import attach, file_counts, refresh, uploaded, vector_store
from .table import route
from .wire import Request, invalid, json_response, missing, new_id, not_found, now, page

#: OpenAI's maximum batch size (file_batch_create_params.py).
MAX_BATCH_FILES = 2000


def _requested(state: State, payload: dict[str, Any]) -> list[tuple[str, Any]]:
    """(file id, attributes) for each file the create names, every one checked before any is attached."""
    if "file_ids" in payload and "files" in payload:
        raise invalid("files", "'file_ids' and 'files' are mutually exclusive: send one of them.")
    if "files" in payload:
        files = payload["files"]
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise invalid("files", "Invalid 'files': expected an array of objects with a 'file_id'.")
        wanted = [(f.get("file_id"), f.get("attributes")) for f in files]
        param = "files"
    else:
        ids = payload.get("file_ids")
        if ids is not None and not isinstance(ids, list):
            raise invalid("file_ids", "Invalid 'file_ids': expected an array of file ids.")
        wanted = [(i, payload.get("attributes")) for i in ids or []]
        param = "file_ids"
    if not wanted:
        raise missing(param)
    if len(wanted) > MAX_BATCH_FILES:
        raise invalid(param, f"Invalid '{param}': at most {MAX_BATCH_FILES} files in a batch.")
    for file_id, _ in wanted:
        uploaded(state, file_id, param)
    return [(str(file_id), attributes) for file_id, attributes in wanted]


def _batch(state: State, req: Request) -> tuple[StoredVectorStore, dict[str, Any]]:
    store = vector_store(state, req.params["id"])
    batch = store.batches.get(req.params["batch"])
    if batch is None:
        raise not_found("File batch", req.params["batch"], "batch_id")
    return store, batch


def _entries(store: StoredVectorStore, batch_id: str) -> list[dict[str, Any]]:
    """The batch's files still attached to the store."""
    return [store.files[f] for f in store.batch_files[batch_id] if f in store.files]


def _settle(store: StoredVectorStore, batch: dict[str, Any], status: str) -> dict[str, Any]:
    """Move the batch, and its files still in progress, to `status` if it is still in progress."""
    if batch["status"] == "in_progress":
        batch["status"] = status
        for entry in _entries(store, batch["id"]):
            if entry["status"] == "in_progress":
                entry["status"] = status
        refresh(store)
    batch["file_counts"] = file_counts(_entries(store, batch["id"]))
    return batch


async def create(state: State, req: Request) -> web.StreamResponse:
    store = vector_store(state, req.params["id"])
    wanted = _requested(state, req.payload)
    batch = {
        "id": new_id("vsfb_"),
        "object": "vector_store.files_batch",
        "created_at": now(),
        "vector_store_id": store.meta["id"],
        "status": "in_progress",
    }
    store.batches[batch["id"]] = batch
    store.batch_files[batch["id"]] = [attach(state, store, f, a, "in_progress")["id"] for f, a in wanted]
    refresh(store)
    batch["file_counts"] = file_counts(_entries(store, batch["id"]))
    return json_response(batch)


async def retrieve(state: State, req: Request) -> web.StreamResponse:
    store, batch = _batch(state, req)
    return json_response(_settle(store, batch, "completed"))


async def cancel(state: State, req: Request) -> web.StreamResponse:
    store, batch = _batch(state, req)
    return json_response(_settle(store, batch, "cancelled"))


async def list_files(state: State, req: Request) -> web.StreamResponse:
    store, batch = _batch(state, req)
    _settle(store, batch, "completed")
    wanted = req.query.get("filter")
    if wanted is not None and wanted not in ("in_progress", "completed", "failed", "cancelled"):
        raise invalid("filter", f"Invalid value for 'filter': {wanted!r}.")
    entries = [e for e in _entries(store, batch["id"]) if wanted is None or e["status"] == wanted]
    return json_response(page(entries, req.query))


ROUTES = (
    route("POST", "/vector_stores/{id}/file_batches", create),
    route("GET", "/vector_stores/{id}/file_batches/{batch}", retrieve),
    route("POST", "/vector_stores/{id}/file_batches/{batch}/cancel", cancel),
    route("GET", "/vector_stores/{id}/file_batches/{batch}/files", list_files),
)
