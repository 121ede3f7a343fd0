"""What the emulator keeps between requests: its resources, its limits and the models it serves.

`State` is the one object every route handler works on. The route families
(`responses`, `chat`, `conversations`, `storage`) import this module, `wire`
and `table`, never `core`: `core` builds one `State`, puts the families'
routes in its table and hands the state to each handler. Imports flow one
way: wire → state → table → families → core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .wire import OpenAIRefusal

#: The models an emulated region serves unless told otherwise (`State.models`).
KNOWN_MODELS = frozenset(
    {
        "openai.gpt-oss-120b",
        "openai.gpt-oss-20b",
        "xai.grok-4",
        "meta.llama-3.3-70b-instruct",
        "cohere.command-a-03-2025",
    }
)
#: One uploaded file; OCI's own limit is not documented on the pages read, the function's body limit (6 MB) is lower.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Everything the emulator keeps in memory for files and container files together.
MAX_STORED_BYTES = 128 * 1024 * 1024


@dataclass
class StoredConversation:
    conversation: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StoredFile:
    meta: dict[str, Any]
    data: bytes
    content_type: str


@dataclass
class StoredVectorStore:
    meta: dict[str, Any]
    #: The compartment it was created in (opc-compartment-id): what a list is scoped by.
    compartment: str = ""
    #: vector_store.file objects, by file id.
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: vector_store.files_batch objects, by batch id.
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The file ids of each batch, by batch id.
    batch_files: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class StoredContainer:
    meta: dict[str, Any]
    files: dict[str, StoredFile] = field(default_factory=dict)


@dataclass
class State:
    """Every resource one project holds, in memory, by id, in creation order.

    The emulator keeps one State per project (core.Emulator.states), as OCI
    keeps each project's responses, conversations, files and containers apart:
    "artifacts in one project are not accessible from another project"
    (https://docs.oracle.com/en-us/iaas/Content/generative-ai/projects.htm).
    Vector stores are not project artifacts on that page: they live in a
    compartment (control plane, opc-compartment-id), so every project's State
    shares one `vector_stores` table, each store remembering its compartment;
    a list shows one compartment's, and a store is found by id from any
    project, as IAM would let the one identity of the function find it.
    """

    max_file_bytes: int = MAX_FILE_BYTES
    max_stored_bytes: int = MAX_STORED_BYTES
    #: The model names this emulated region serves; any other is a 400 model_not_found.
    models: frozenset[str] = KNOWN_MODELS
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    input_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Background responses not retrieved yet: what the first retrieve will find.
    background: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[str, StoredConversation] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    vector_stores: dict[str, StoredVectorStore] = field(default_factory=dict)
    containers: dict[str, StoredContainer] = field(default_factory=dict)

    def stored_bytes(self) -> int:
        return sum(len(f.data) for f in self.files.values()) + sum(
            len(f.data) for c in self.containers.values() for f in c.files.values()
        )

    def check_model(self, payload: dict[str, Any]) -> str:
        model = payload.get("model")
        if not isinstance(model, str) or model not in self.models:
            raise OpenAIRefusal(
                400, f"The model {model!r} does not exist or is not supported.", "model", "model_not_found"
            )
        return model
