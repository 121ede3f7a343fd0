"""The API families: what a route belongs to, what docs/api.md groups by, and what a client policy names.

Its own module, importing nothing, so that settings (which checks the families a
policy names) and the route table can both import it.
"""

from __future__ import annotations

import enum


class Family(enum.Enum):
    """Which API a row belongs to. The value is the name settings and docs use."""

    SIMPLE = "simple"
    HEALTH = "health"
    MODELS = "models"
    RESPONSES = "responses"
    CHAT = "chat"
    CONVERSATIONS = "conversations"
    FILES = "files"
    VECTOR_STORES = "vector_stores"
    CONTAINERS = "containers"
    EMBEDDINGS = "embeddings"
    COMPLETIONS = "completions"
    UPLOADS = "uploads"
    #: Rows a deployment adds itself (README "Make it yours"): a policy names them `custom`.
    CUSTOM = "custom"


#: The Oracle page documenting each family on OCI's OpenAI-compatible base, under
#: https://docs.oracle.com/en-us/iaas/Content/generative-ai/ ("" where Oracle documents none).
PAGES: dict[Family, str] = {
    Family.SIMPLE: "",
    Family.HEALTH: "",
    Family.MODELS: "",
    Family.RESPONSES: "responses-api.htm",
    Family.CHAT: "chat-completions-api.htm",
    Family.CONVERSATIONS: "conversations-api.htm",
    Family.FILES: "files.htm",
    Family.VECTOR_STORES: "vector-store-files.htm, vector-store-file-batches.htm; store management: "
    "get-started-agents.htm (QuickStart table: the control plane)",
    Family.CONTAINERS: "containers-api.htm",
    Family.EMBEDDINGS: "",
    Family.COMPLETIONS: "",
    Family.UPLOADS: "",
    Family.CUSTOM: "",
}
