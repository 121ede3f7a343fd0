"""`POST …/v1/summarise {"text": "..."}` → `{"summary": "...", "model": "..."}`: a route the function answers itself.

A custom route (docs/make-it-yours.md "Add a custom route"): copy this file
into `genai_fn/` and give it a row in the table of `genai_fn/routes.py`.
It asks the Responses API for the summary through the OpenAI SDK
(`service.openai()`: the SDK on the function's own signed connection), inside
the call's time budget: the SDK gets what is left of the `Fn-Deadline`
(`genai_fn.deadline.Budget`) as its timeout and `max_retries=0`, since its own
retries would wait past a deadline the platform enforces by killing the call.
Any failure becomes the same OpenAI-shaped error every other route answers.

A handler gets one argument, the `Call` (genai_fn/routes.py): the request,
the service, the log record, and the calling client with its policy, which
the route table has already checked (a refused client never gets here). This
route answers with the default model, so a client whose policy does not
allow that model is refused, as any other route would refuse it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genai_fn import clients, errors
from genai_fn.deadline import Budget
from genai_fn.http import JSON_TYPES, Reply

if TYPE_CHECKING:
    # For the annotation only: routes.py imports this module to put `handle` in its table.
    from genai_fn.routes import Call

INSTRUCTIONS = "Summarise the user's text in one or two sentences. Answer with the summary only."
#: Less than this left of the budget is not enough for a model call: answer 504 at once.
MIN_SECONDS = 1.0


def handle(call: Call) -> Reply:
    request, service, record = call.request, call.service, call.record
    settings, _ = service.require()
    model = settings.default_model
    if call.policy is not None and not clients.allows_model(call.policy, model, settings.resolve_model):
        raise errors.client_forbidden(
            f"This client may not use {model!r}, the model this route answers with.",
            code="model_not_allowed_for_client",
        )
    if request.content_type not in JSON_TYPES:
        raise errors.unsupported_media_type(request.content_type, JSON_TYPES)
    if len(request.body) > settings.max_body_bytes:
        raise errors.payload_too_large(len(request.body), settings.max_body_bytes)
    payload = request.json_body()  # bounded parse: a 400 that says what is wrong
    text = payload.get("text") if isinstance(payload, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise errors.bad_request("'text' must be a non-empty string.", param="text")

    left = Budget.from_fn_deadline(request.deadline, settings.deadline_margin_s).remaining()
    if left < MIN_SECONDS:
        raise errors.deadline_exceeded(f"{left:.1f} s left before the call's deadline")
    client = service.openai().with_options(timeout=left, max_retries=0)
    import openai  # already imported by service.openai(); here for its exception types

    record.model = model
    try:
        response = client.responses.create(model=model, instructions=INSTRUCTIONS, input=text, store=False)
    except openai.APITimeoutError:
        raise errors.deadline_exceeded(f"no summary within the {left:.1f} s left") from None
    except openai.APIStatusError as failed:
        answer = failed.response
        raise errors.from_upstream(
            answer.status_code, answer.headers, answer.content, region=settings.region, retry_after_s=None
        ) from None
    except openai.APIConnectionError as failed:
        raise errors.upstream_unreachable(str(failed)) from None
    record.response_id = response.id
    record.output = response.output_text
    return Reply.json(200, {"summary": response.output_text, "model": response.model})
