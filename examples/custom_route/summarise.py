"""`POST …/v1/summarise {"text": "..."}` → `{"summary": "...", "model": "..."}`: a route the function answers itself.

A custom route (docs/make-it-yours.md "Add a custom route"): copy this file
into `genai_fn/` and give it a row, family `Family.CUSTOM`, in the table of
`genai_fn/routes.py`. It uses only the `Call` a handler gets (genai_fn/call.py,
the API for custom routes; examples/custom_route/README.md): the client's model
check (`call.model`), the body checks (`call.json_body`), and the OpenAI SDK on
the function's own signed connection with what is left of the `Fn-Deadline` as
its timeout and no retries of its own (`call.openai()`), since the platform
enforces the deadline by killing the call. Any failure becomes the same
OpenAI-shaped error every other route answers.

The route answers with the default model, so a client whose policy does not
allow that model is refused with `404 model_not_found`, as any other route
would refuse it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genai_fn import errors
from genai_fn.http import Reply

if TYPE_CHECKING:
    # For the annotation only: the table imports this module to put `handle` in a row.
    from genai_fn.call import Call

INSTRUCTIONS = "Summarise the user's text in one or two sentences. Answer with the summary only."
#: Less than this left of the budget is not enough for a model call: answer 504 at once.
MIN_SECONDS = 1.0


def handle(call: Call) -> Reply:
    model = call.model(call.settings.default_model)
    payload = call.json_body()
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise errors.bad_request("'text' must be a non-empty string.", param="text")

    left = call.budget.remaining()
    if left < MIN_SECONDS:
        raise errors.deadline_exceeded(f"{left:.1f} s left before the call's deadline")
    client = call.openai()
    import openai  # already imported by call.openai(); here for its exception types

    try:
        response = client.responses.create(model=model, instructions=INSTRUCTIONS, input=text, store=False)
    except openai.APITimeoutError:
        raise errors.deadline_exceeded(f"no summary within the {left:.1f} s left") from None
    except openai.APIStatusError as failed:
        answer = failed.response
        raise errors.from_upstream(
            answer.status_code, answer.headers, answer.content, region=call.settings.region, retry_after_s=None
        ) from None
    except openai.APIConnectionError as failed:
        raise errors.upstream_unreachable(str(failed)) from None
    call.record.response_id = response.id
    call.record.output = response.output_text
    return Reply.json(200, {"summary": response.output_text, "model": response.model})
