"""The naive baseline's pattern on the routes its func.py does not serve: `make bench`'s "naive-equivalent".

func.py (beside this file) stays the program the benchmark has always
compared against: POST …/responses with a model and an input. For the
other rows of the table (Chat Completions, a conversation round, the simple
route, a streamed answer) this is what the same obvious code does on each
route: build the signer and clients on every call (func.build_client), call
the SDK, and return its parsed answer as JSON. fdk answers once, so a
streamed answer is collected and returned as one event stream. Do not deploy it.
"""

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from fdk import response

# func.py by path: under fdk this file is itself loaded as the module `func`.
_spec = importlib.util.spec_from_file_location("naive_func", Path(__file__).with_name("func.py"))
assert _spec is not None and _spec.loader is not None
naive: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(naive)


def handler(ctx: Any, data: Any = None) -> response.Response:
    body = data.getvalue() if data is not None else b""
    path = (ctx.RequestURL() or "/").partition("?")[0]
    headers = {str(k).lower(): str(v) for k, v in (ctx.Headers() or {}).items()}
    direct = "httprequest" not in headers.get("fn-intent", "")
    client = naive.build_client()
    content_type = "application/json"
    if direct:  # the simple route: text in, the answer's text out
        model = os.environ.get("GENAI_DEFAULT_MODEL", "openai.gpt-oss-120b")
        answer = client.responses.create(model=model, input=body.decode())
        out = json.dumps({"id": answer.id, "model": answer.model, "output_text": answer.output_text})
    elif path.endswith("/chat/completions"):
        out = client.chat.completions.create(**json.loads(body)).model_dump_json()
    elif path.endswith("/conversations"):
        out = client.conversations.create(**json.loads(body)).model_dump_json()
    elif path.endswith("/responses"):
        payload = json.loads(body)
        if payload.get("stream"):
            events = client.responses.create(**payload)
            out = "".join(f"event: {e.type}\ndata: {e.model_dump_json()}\n\n" for e in events)
            content_type = "text/event-stream"
        else:
            out = client.responses.create(**payload).model_dump_json()
    else:
        return response.Response(ctx, response_data='{"error": "not here"}', status_code=404)
    return response.Response(ctx, response_data=out, headers={"Content-Type": content_type})
