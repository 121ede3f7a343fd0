"""Files, Vector Stores (with their files and search) and Containers (with their files), kept in memory.

Oracle documents `/files`, `/vector_stores` (`/{id}/files`, `/{id}/search`) and
`/containers` on /openai/v1 (https://docs.oracle.com/en-us/iaas/Content/generative-ai/openai-compatible-api.htm);
shapes follow openai/types (FileObject, VectorStore, VectorStoreFile,
VectorStoreSearchResponse, containers/*). Vector store management (create,
list, retrieve, update, delete) is served on the control plane, the rest on
inference (Oracle's QuickStart endpoint table, as genai_fn/settings.py reads
it). Uploads are multipart/form-data,
parsed with aiohttp's multipart reader; contents are served back as the
bytes uploaded, with the content type they were uploaded with. Vector store
file batches are `file_batches`, built on this module's vector store helpers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from .state import State, StoredContainer, StoredFile, StoredVectorStore
from .table import route
from .wire import (
    OpenAIRefusal,
    Request,
    Upload,
    binary_response,
    invalid,
    json_response,
    missing,
    new_id,
    not_found,
    now,
    page,
    read_multipart,
)

#: openai/types/file_object.py FileObject.purpose.
PURPOSES = frozenset(
    {
        "assistants",
        "assistants_output",
        "batch",
        "batch_output",
        "fine-tune",
        "fine-tune-results",
        "vision",
        "user_data",
    }
)
STATIC_CHUNKING = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}


async def _upload(state: State, req: Request) -> Upload:
    upload = await read_multipart(req.http, req.body, state.max_file_bytes)
    if state.stored_bytes() + len(upload.data) > state.max_stored_bytes:
        raise OpenAIRefusal(400, "The emulator's file storage is full: delete files first.", "file", "storage_full")
    return upload


# -- /files --------------------------------------------------------------------------


def _file(state: State, ident: str) -> StoredFile:
    stored = state.files.get(ident)
    if stored is None:
        raise OpenAIRefusal(404, f"No such File object: {ident}", "id", "file_not_found")
    return stored


async def create_file(state: State, req: Request) -> web.StreamResponse:
    upload = await _upload(state, req)
    purpose = upload.fields.get("purpose")
    if not purpose:
        raise missing("purpose")
    if purpose not in PURPOSES:
        raise invalid("purpose", f"Invalid value for 'purpose': {purpose!r}.")
    ident = new_id("file-")
    meta = {
        "id": ident,
        "object": "file",
        "bytes": len(upload.data),
        "created_at": now(),
        "filename": upload.filename,
        "purpose": purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }
    state.files[ident] = StoredFile(meta, upload.data, upload.content_type)
    return json_response(meta)


async def list_files(state: State, req: Request) -> web.StreamResponse:
    purpose = req.query.get("purpose")
    metas = [f.meta for f in state.files.values() if purpose is None or f.meta["purpose"] == purpose]
    return json_response(page(metas, req.query, default_limit=10_000, max_limit=10_000))


async def retrieve_file(state: State, req: Request) -> web.StreamResponse:
    return json_response(_file(state, req.params["id"]).meta)


async def delete_file(state: State, req: Request) -> web.StreamResponse:
    stored = _file(state, req.params["id"])
    del state.files[stored.meta["id"]]
    return json_response({"id": stored.meta["id"], "object": "file", "deleted": True})


async def file_content(state: State, req: Request) -> web.StreamResponse:
    stored = _file(state, req.params["id"])
    return binary_response(stored.data, stored.content_type)


# -- /vector_stores ------------------------------------------------------------------


def vector_store(state: State, ident: str) -> StoredVectorStore:
    stored = state.vector_stores.get(ident)
    if stored is None:
        raise not_found("Vector store", ident, "vector_store_id")
    return stored


def file_counts(entries: Iterable[dict[str, Any]]) -> dict[str, int]:
    """A `file_counts` object: how many of these vector_store.file entries are in each status."""
    counts = dict.fromkeys(("cancelled", "completed", "failed", "in_progress"), 0)
    for entry in entries:
        counts[entry["status"]] += 1
    return {**counts, "total": sum(counts.values())}


def refresh(store: StoredVectorStore) -> dict[str, Any]:
    store.meta["file_counts"] = file_counts(store.files.values())
    store.meta["usage_bytes"] = sum(f["usage_bytes"] for f in store.files.values())
    store.meta["last_active_at"] = now()
    return store.meta


def uploaded(state: State, file_id: Any, param: str = "file_id") -> StoredFile:
    """The uploaded file a request names, or the refusal that says which is missing."""
    if not isinstance(file_id, str) or not file_id:
        raise missing(param)
    source = state.files.get(file_id)
    if source is None:
        raise OpenAIRefusal(404, f"No such File object: {file_id}", param, "file_not_found")
    return source


def attach(
    state: State, store: StoredVectorStore, file_id: Any, attributes: Any = None, status: str = "completed"
) -> dict[str, Any]:
    source = uploaded(state, file_id)
    entry = {
        "id": file_id,
        "object": "vector_store.file",
        "created_at": now(),
        "usage_bytes": len(source.data),
        "vector_store_id": store.meta["id"],
        "status": status,
        "last_error": None,
        "attributes": attributes if isinstance(attributes, dict) else {},
        "chunking_strategy": STATIC_CHUNKING,
    }
    store.files[file_id] = entry
    return entry


async def create_store(state: State, req: Request) -> web.StreamResponse:
    payload = req.payload
    meta: dict[str, Any] = {
        "id": new_id("vs_"),
        "object": "vector_store",
        "created_at": now(),
        "name": str(payload.get("name") or ""),
        "metadata": payload.get("metadata") or {},
        "status": "completed",
        "expires_after": payload.get("expires_after"),
        "expires_at": None,
    }
    store = StoredVectorStore(meta, req.http.headers.get("opc-compartment-id", ""))
    state.vector_stores[meta["id"]] = store
    for file_id in payload.get("file_ids") or []:
        attach(state, store, file_id)
    return json_response(refresh(store))


async def list_stores(state: State, req: Request) -> web.StreamResponse:
    """The stores of the compartment the request names (opc-compartment-id): a list is scoped by it."""
    compartment = req.http.headers.get("opc-compartment-id", "")
    stores = [s.meta for s in state.vector_stores.values() if s.compartment == compartment]
    return json_response(page(stores, req.query))


async def retrieve_store(state: State, req: Request) -> web.StreamResponse:
    return json_response(vector_store(state, req.params["id"]).meta)


async def update_store(state: State, req: Request) -> web.StreamResponse:
    store = vector_store(state, req.params["id"])
    for key in ("name", "metadata", "expires_after"):
        if key in req.payload:
            store.meta[key] = req.payload[key]
    return json_response(refresh(store))


async def delete_store(state: State, req: Request) -> web.StreamResponse:
    store = vector_store(state, req.params["id"])
    del state.vector_stores[store.meta["id"]]
    return json_response({"id": store.meta["id"], "object": "vector_store.deleted", "deleted": True})


def _store_file(state: State, req: Request) -> tuple[StoredVectorStore, dict[str, Any]]:
    store = vector_store(state, req.params["id"])
    entry = store.files.get(req.params["file"])
    if entry is None:
        raise not_found("Vector store file", req.params["file"], "file_id")
    return store, entry


async def create_store_file(state: State, req: Request) -> web.StreamResponse:
    store = vector_store(state, req.params["id"])
    entry = attach(state, store, req.payload.get("file_id"), req.payload.get("attributes"))
    refresh(store)
    return json_response(entry)


async def list_store_files(state: State, req: Request) -> web.StreamResponse:
    store = vector_store(state, req.params["id"])
    wanted = req.query.get("filter")
    entries = [e for e in store.files.values() if wanted is None or e["status"] == wanted]
    return json_response(page(entries, req.query))


async def retrieve_store_file(state: State, req: Request) -> web.StreamResponse:
    return json_response(_store_file(state, req)[1])


async def update_store_file(state: State, req: Request) -> web.StreamResponse:
    _, entry = _store_file(state, req)
    if not isinstance(req.payload.get("attributes"), dict):
        raise missing("attributes")
    entry["attributes"] = req.payload["attributes"]
    return json_response(entry)


async def delete_store_file(state: State, req: Request) -> web.StreamResponse:
    store, entry = _store_file(state, req)
    del store.files[entry["id"]]
    refresh(store)
    return json_response({"id": entry["id"], "object": "vector_store.file.deleted", "deleted": True})


def _text_of(state: State, file_id: str) -> str:
    source = state.files.get(file_id)
    return source.data.decode("utf-8", "replace") if source else ""


async def store_file_content(state: State, req: Request) -> web.StreamResponse:
    _, entry = _store_file(state, req)
    data = [{"type": "text", "text": _text_of(state, entry["id"])}]
    return json_response(
        {"object": "vector_store.file_content.page", "data": data, "has_more": False, "next_page": None}
    )


async def search(state: State, req: Request) -> web.StreamResponse:
    """Naive search: a file's paragraphs that contain query words, scored by the share of words they contain."""
    store = vector_store(state, req.params["id"])
    query = req.payload.get("query")
    queries = [query] if isinstance(query, str) else [q for q in query or [] if isinstance(q, str)]
    if not queries or not any(q.strip() for q in queries):
        raise missing("query")
    limit = req.payload.get("max_num_results", 10)
    if not isinstance(limit, int) or not 1 <= limit <= 50:
        raise invalid("max_num_results", "Invalid 'max_num_results': must be between 1 and 50.")
    terms = {w.lower() for q in queries for w in q.split()}
    results = []
    for entry in (e for e in store.files.values() if e["status"] == "completed"):
        filename = state.files[entry["id"]].meta["filename"] if entry["id"] in state.files else entry["id"]
        for chunk in (c.strip() for c in _text_of(state, entry["id"]).split("\n\n")):
            lower = chunk.lower()
            score = sum(1 for t in terms if t in lower) / len(terms)
            if chunk and score > 0:
                results.append(
                    {
                        "file_id": entry["id"],
                        "filename": filename,
                        "score": round(score, 4),
                        "attributes": entry["attributes"],
                        "content": [{"type": "text", "text": chunk}],
                    }
                )
    results.sort(key=lambda r: -r["score"])
    return json_response(
        {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": results[:limit],
            "has_more": False,
            "next_page": None,
        }
    )


# -- /containers ---------------------------------------------------------------------


def _container(state: State, ident: str) -> StoredContainer:
    stored = state.containers.get(ident)
    if stored is None:
        raise not_found("Container", ident, "container_id")
    return stored


def _container_file(container: StoredContainer, name: str, data: bytes, content_type: str, source: str) -> StoredFile:
    meta = {
        "id": new_id("cfile_"),
        "object": "container.file",
        "bytes": len(data),
        "container_id": container.meta["id"],
        "created_at": now(),
        "path": f"/mnt/data/{name}",
        "source": source,
    }
    stored = StoredFile(meta, data, content_type)
    container.files[meta["id"]] = stored
    return stored


async def create_container(state: State, req: Request) -> web.StreamResponse:
    name = req.payload.get("name")
    if not isinstance(name, str) or not name:
        raise missing("name")
    meta = {
        "id": new_id("cntr_"),
        "object": "container",
        "created_at": now(),
        "name": name,
        "status": "running",
        "expires_after": req.payload.get("expires_after") or {"anchor": "last_active_at", "minutes": 20},
        "last_active_at": now(),
        "memory_limit": req.payload.get("memory_limit", "1g"),
    }
    container = StoredContainer(meta)
    for file_id in req.payload.get("file_ids") or []:
        source = state.files.get(file_id)
        if source is None:
            raise OpenAIRefusal(404, f"No such File object: {file_id}", "file_ids", "file_not_found")
        _container_file(container, source.meta["filename"], source.data, source.content_type, "user")
    state.containers[meta["id"]] = container
    return json_response(meta)


async def list_containers(state: State, req: Request) -> web.StreamResponse:
    return json_response(page([c.meta for c in state.containers.values()], req.query))


async def retrieve_container(state: State, req: Request) -> web.StreamResponse:
    return json_response(_container(state, req.params["id"]).meta)


async def delete_container(state: State, req: Request) -> web.StreamResponse:
    container = _container(state, req.params["id"])
    del state.containers[container.meta["id"]]
    return json_response({"id": container.meta["id"], "object": "container.deleted", "deleted": True})


async def create_container_file(state: State, req: Request) -> web.StreamResponse:
    """A multipart `file` upload, or JSON `{"file_id": ...}` naming an uploaded file."""
    container = _container(state, req.params["id"])
    if req.http.content_type.startswith("multipart/"):
        upload = await _upload(state, req)
        stored = _container_file(container, upload.filename, upload.data, upload.content_type, "user")
    else:
        file_id = req.payload.get("file_id")
        source = state.files.get(file_id) if isinstance(file_id, str) else None
        if source is None:
            raise (
                missing("file")
                if file_id is None
                else OpenAIRefusal(404, f"No such File object: {file_id}", "file_id", "file_not_found")
            )
        stored = _container_file(container, source.meta["filename"], source.data, source.content_type, "user")
    return json_response(stored.meta)


def _one_container_file(state: State, req: Request) -> tuple[StoredContainer, StoredFile]:
    container = _container(state, req.params["id"])
    stored = container.files.get(req.params["file"])
    if stored is None:
        raise not_found("Container file", req.params["file"], "file_id")
    return container, stored


async def list_container_files(state: State, req: Request) -> web.StreamResponse:
    container = _container(state, req.params["id"])
    return json_response(page([f.meta for f in container.files.values()], req.query))


async def retrieve_container_file(state: State, req: Request) -> web.StreamResponse:
    return json_response(_one_container_file(state, req)[1].meta)


async def delete_container_file(state: State, req: Request) -> web.StreamResponse:
    container, stored = _one_container_file(state, req)
    del container.files[stored.meta["id"]]
    return json_response({"id": stored.meta["id"], "object": "container.file.deleted", "deleted": True})


async def container_file_content(state: State, req: Request) -> web.StreamResponse:
    _, stored = _one_container_file(state, req)
    return binary_response(stored.data, stored.content_type)


ROUTES = (
    route("POST", "/files", create_file),
    route("GET", "/files", list_files),
    route("GET", "/files/{id}", retrieve_file),
    route("DELETE", "/files/{id}", delete_file),
    route("GET", "/files/{id}/content", file_content),
    route("POST", "/vector_stores", create_store, plane="control"),
    route("GET", "/vector_stores", list_stores, plane="control"),
    route("GET", "/vector_stores/{id}", retrieve_store, plane="control"),
    route("POST", "/vector_stores/{id}", update_store, plane="control"),
    route("DELETE", "/vector_stores/{id}", delete_store, plane="control"),
    route("POST", "/vector_stores/{id}/files", create_store_file),
    route("GET", "/vector_stores/{id}/files", list_store_files),
    route("GET", "/vector_stores/{id}/files/{file}", retrieve_store_file),
    route("POST", "/vector_stores/{id}/files/{file}", update_store_file),
    route("DELETE", "/vector_stores/{id}/files/{file}", delete_store_file),
    route("GET", "/vector_stores/{id}/files/{file}/content", store_file_content),
    route("POST", "/vector_stores/{id}/search", search),
    route("POST", "/containers", create_container),
    route("GET", "/containers", list_containers),
    route("GET", "/containers/{id}", retrieve_container),
    route("DELETE", "/containers/{id}", delete_container),
    route("POST", "/containers/{id}/files", create_container_file),
    route("GET", "/containers/{id}/files", list_container_files),
    route("GET", "/containers/{id}/files/{file}", retrieve_container_file),
    route("DELETE", "/containers/{id}/files/{file}", delete_container_file),
    route("GET", "/containers/{id}/files/{file}/content", container_file_content),
)
