"""Conversations: create, retrieve, update (`POST /conversations/{id}`), delete, and their items.

Oracle's "Conversations API" page documents these on /openai/v1 (https://docs.oracle.com/en-us/iaas/
Content/generative-ai/conversations-api.htm); shapes follow openai/types/conversations.
A Responses create with `conversation` appends its input and output items.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .responses import normalize_items
from .state import State, StoredConversation
from .table import route
from .wire import Request, invalid, json_response, new_id, not_found, now, page

MAX_ITEMS_PER_CREATE = 20


def _items(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("items", "Invalid type for 'items': expected an array of items.")
    if len(value) > MAX_ITEMS_PER_CREATE:
        raise invalid("items", f"Invalid 'items': at most {MAX_ITEMS_PER_CREATE} items at a time.")
    return normalize_items(value)


def _metadata(payload: dict[str, Any]) -> dict[str, str]:
    metadata = payload.get("metadata") or {}
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise invalid("metadata", "Invalid 'metadata': at most 16 string pairs.")
    return {str(k): str(v) for k, v in metadata.items()}


def _get(state: State, req: Request) -> StoredConversation:
    stored = state.conversations.get(req.params["id"])
    if stored is None:
        raise not_found("Conversation", req.params["id"], "conversation_id")
    return stored


async def create(state: State, req: Request) -> web.StreamResponse:
    ident = new_id("conv_")
    conversation = {
        "id": ident,
        "object": "conversation",
        "created_at": now(),
        "metadata": _metadata(req.payload),
    }
    state.conversations[ident] = StoredConversation(conversation, _items(req.payload.get("items")))
    return json_response(conversation)


async def retrieve(state: State, req: Request) -> web.StreamResponse:
    return json_response(_get(state, req).conversation)


async def update(state: State, req: Request) -> web.StreamResponse:
    stored = _get(state, req)
    if "metadata" not in req.payload:
        raise invalid("metadata", "Missing required parameter: 'metadata'.")
    stored.conversation["metadata"] = _metadata(req.payload)
    return json_response(stored.conversation)


async def delete(state: State, req: Request) -> web.StreamResponse:
    stored = _get(state, req)
    del state.conversations[stored.conversation["id"]]
    return json_response({"id": stored.conversation["id"], "object": "conversation.deleted", "deleted": True})


async def list_items(state: State, req: Request) -> web.StreamResponse:
    return json_response(page(_get(state, req).items, req.query))


async def create_items(state: State, req: Request) -> web.StreamResponse:
    stored = _get(state, req)
    added = _items(req.payload.get("items"))
    if not added:
        raise invalid("items", "Missing required parameter: 'items'.")
    stored.items += added
    return json_response(
        {"object": "list", "data": added, "first_id": added[0]["id"], "last_id": added[-1]["id"], "has_more": False}
    )


def _item(state: State, req: Request) -> tuple[StoredConversation, dict[str, Any]]:
    stored = _get(state, req)
    found = next((i for i in stored.items if i["id"] == req.params["item"]), None)
    if found is None:
        raise not_found("Conversation item", req.params["item"], "item_id")
    return stored, found


async def retrieve_item(state: State, req: Request) -> web.StreamResponse:
    return json_response(_item(state, req)[1])


async def delete_item(state: State, req: Request) -> web.StreamResponse:
    """Answers the conversation, as the openai SDK's `conversations.items.delete` expects."""
    stored, found = _item(state, req)
    stored.items.remove(found)
    return json_response(stored.conversation)


ROUTES = (
    route("POST", "/conversations", create),
    route("GET", "/conversations/{id}", retrieve),
    route("POST", "/conversations/{id}", update),
    route("DELETE", "/conversations/{id}", delete),
    route("GET", "/conversations/{id}/items", list_items),
    route("POST", "/conversations/{id}/items", create_items),
    route("GET", "/conversations/{id}/items/{item}", retrieve_item),
    route("DELETE", "/conversations/{id}/items/{item}", delete_item),
)
