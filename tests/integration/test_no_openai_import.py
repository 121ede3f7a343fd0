"""The routes that ship never import the OpenAI SDK; the SDK client built lazily for custom logic works.

`import openai` is about 350 ms of a cold start (docs/performance.md), so the
function signs and sends every request with its own httpx client and imports
the SDK only when custom logic asks for it (`service.openai()`). The first test
checks this where it matters: in a fresh fdk process, on the image's trimmed
dependencies under `python -S`, after a call on every route family, it asks
the process itself which `openai` modules it holds
(tests/integration/functions/modules_probe.py wraps the real func.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from dev import image_site as site
from dev.local.emulator import Emulator
from dev.local.runner import FnRunner
from dev.local.stack import Stack
from tests.conftest import load_function

pytestmark = pytest.mark.integration

PROBE_FUNCTION = Path(__file__).parent / "functions" / "modules_probe.py"
MODEL = "openai.gpt-oss-120b"
JSON = {"content-type": "application/json"}


@pytest.fixture
def container(make_stack: Callable[..., Stack]) -> Iterator[FnRunner]:
    """A fresh fdk process of the probe function, as the image runs it: trimmed dependencies, python -S."""
    stack = make_stack(containers=0, gateway=False, config={"GENAI_ALLOWED_MODELS": "*"})
    # fdk's own command, not the image's `-m genai_fn.boot`: genai_fn is beside func.py, not on the path at start.
    with stack.new_runner(func_path=PROBE_FUNCTION, site_dir=site.build(), entrypoint=None) as runner:
        yield runner


def call(runner: FnRunner, method: str, path: str, payload: Any = None, **options: Any) -> httpx.Response:
    """One call through fdk; JSON `payload` or raw `body=` and `headers=`. The answer, checked to be a 2xx."""
    if payload is not None:
        options = {"body": json.dumps(payload).encode(), "headers": JSON, **options}
    answer = runner.invoke(method, path, **options)
    assert 200 <= answer.status < 300, (method, path, answer.status, answer.body[:300])
    return httpx.Response(answer.status, headers=answer.headers, content=answer.body)


def multipart(purpose: str | None = None) -> dict[str, Any]:
    """A file upload as the SDKs send it: (body, headers) for `FnRunner.invoke`."""
    data = {"purpose": purpose} if purpose else {}
    request = httpx.Request("POST", "http://x", data=data, files={"file": ("notes.txt", b"search me", "text/plain")})
    return {"body": request.read(), "headers": {"content-type": request.headers["content-type"]}}


def openai_modules(runner: FnRunner, path: str = "/v1/__modules") -> list[str]:
    loaded = call(runner, "GET", path).json()
    assert isinstance(loaded, list)
    return loaded


def test_no_shipped_route_imports_openai(container: FnRunner, emulator: Emulator) -> None:
    before = len(emulator.calls)
    # Answered by the function itself.
    call(container, "GET", "/v1/health")
    call(container, "GET", "/v1/models")
    # Responses: create, stream, retrieve, delete.
    created = call(container, "POST", "/v1/responses", {"model": MODEL, "input": "Hello"}).json()
    streamed = call(container, "POST", "/v1/responses", {"model": MODEL, "input": "Hi", "stream": True})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert call(container, "GET", f"/v1/responses/{created['id']}").json()["id"] == created["id"]
    call(container, "DELETE", f"/v1/responses/{created['id']}")
    # Chat Completions, JSON and stream.
    messages = [{"role": "user", "content": "Hello"}]
    chat = {"model": MODEL, "messages": messages}
    call(container, "POST", "/v1/chat/completions", chat)
    chat_stream = call(container, "POST", "/v1/chat/completions", {**chat, "stream": True})
    assert chat_stream.headers["content-type"].startswith("text/event-stream")
    # A conversation round.
    conversation = call(container, "POST", "/v1/conversations", {"metadata": {"topic": "t"}}).json()
    call(container, "POST", "/v1/responses", {"model": MODEL, "input": "Hi", "conversation": conversation["id"]})
    call(container, "GET", f"/v1/conversations/{conversation['id']}/items")
    # Files, vector stores (management on the control plane) and their search.
    uploaded = call(container, "POST", "/v1/files", **multipart("assistants")).json()
    store = call(container, "POST", "/v1/vector_stores", {"name": "kb"}).json()
    call(container, "POST", f"/v1/vector_stores/{store['id']}/files", {"file_id": uploaded["id"]})
    call(container, "POST", f"/v1/vector_stores/{store['id']}/search", {"query": "search"})
    # Containers and a file in one.
    box = call(container, "POST", "/v1/containers", {"name": "sandbox"}).json()
    call(container, "POST", f"/v1/containers/{box['id']}/files", **multipart())
    call(container, "GET", f"/v1/containers/{box['id']}")
    # The simple route: a direct invocation, as `fn invoke` sends it.
    assert call(container, "POST", "/", body=b"Hello", gateway=False).json()["output_text"]

    # Every upstream request above reached the service, signed: the calls were real ones.
    upstream = emulator.calls[before:]
    assert len(upstream) == 17 and all(c.jti for c in upstream), [(c.method, c.path, c.jti) for c in upstream]
    assert openai_modules(container) == []
    # The probe can fail: building the SDK client loads it in this same process.
    assert "openai" in openai_modules(container, "/v1/__modules/use-sdk")


def test_the_lazily_built_sdk_client_signs_and_works(
    monkeypatch: pytest.MonkeyPatch, function_env: dict[str, str], emulator: Emulator
) -> None:
    fn: ModuleType = load_function(monkeypatch, function_env)
    client = fn.service.openai()
    assert client is fn.service.openai(), "one client per container"

    answer = client.responses.create(model=MODEL, input="Hello from custom logic", timeout=10)

    assert answer.status == "completed" and "Hello from custom logic" in answer.output_text
    last = emulator.calls[-1]
    assert (last.method, last.path.rsplit("/", 1)[-1], last.status) == ("POST", "responses", 200)
    assert last.jti, "the request was not signed by the resource principal"
    # On the function's own signed connection, not a client of the SDK's making.
    assert client._client is fn.service.upstream().http()
