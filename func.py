"""OCI Function: OCI Generative AI's OpenAI-compatible API, signed by the function's own identity.

fdk imports this file on the first call (or before binding its socket, with
GENAI_EAGER_START) and then calls `handler` once per request. The path of a request:

    API Gateway → Fn → fdk → handler → dispatch.dispatch (finds the row in the route
    table, genai_fn/routes.py, and the client's policy) → the row's handler
    (genai_fn/handlers.py; `passthrough` checks the body as the row says, genai_fn/checks.py)
    → upstream (httpx, signed by the resource principal) → OCI Generative AI → Response

Custom logic is a row in genai_fn/routes.py whose handler takes a `Call`
(genai_fn/call.py: the body and model checks, the deadline budget, the OpenAI SDK
on the same signed connection); README "Make it yours".

Errors are `ApiError`s raised anywhere on that path and turned into an
OpenAI-shaped JSON answer here, in one place; nothing escapes to fdk, whose
own error answer would be a 502 carrying a Python exception string.
"""

import os
import time

from fdk import response

from genai_fn import dispatch, errors, logs
from genai_fn.http import REQUEST_ID_HEADER, Reply, Request
from genai_fn.service import Service

# Settings are read and validated now, once per container; the model client is
# built on the first call that needs it, or now with GENAI_EAGER_START (see
# genai_fn/boot.py), and reused by every later call.
service = Service(os.environ)
if service.settings and service.settings.eager_start:
    service.warm_up()


def handler(ctx, data=None):
    started = time.monotonic()
    record = logs.CallRecord()
    request = Request.from_fdk(ctx, data)
    try:
        reply = dispatch.dispatch(request, service, record)
    except errors.ApiError as error:
        reply = Reply.error(error, request.call_id)
    except Exception:  # noqa: BLE001 - nothing may escape to fdk, whose answer would be a bare 502
        logs.crash(request.call_id)
        reply = Reply.error(errors.internal(request.call_id), request.call_id)

    if request.call_id:
        # The id the call's log line carries, where openai SDKs read a request id (`response._request_id`,
        # openai-node's `_request_id`): a client's log and the function's meet on it.
        reply.headers[REQUEST_ID_HEADER] = request.call_id
    logs.invocation(
        call_id=request.call_id,
        method=request.method,
        path=request.path,
        status=reply.status,
        latency_s=time.monotonic() - started,
        record=record,
        error_code=reply.error_code,
        log_prompts=service.log_prompts,
    )
    return response.Response(ctx, response_data=reply.body, headers=reply.headers, status_code=reply.status)
