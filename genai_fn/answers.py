"""What an upstream answer tells the call's log line and the reply's headers, read with bounds (`answer_fields`)."""

from __future__ import annotations

from . import answer_fields, errors
from .logs import LOGGED_TEXT_LIMIT, CallRecord
from .route import Route
from .upstream import Answer


def record_answer(
    record: CallRecord, route: Route, answer: Answer, *, text_limit: int = LOGGED_TEXT_LIMIT
) -> answer_fields.Fields:
    """Id, usage and output text of a model answer for the log line, read with bounds (`answer_fields`)."""
    try:
        if answer.ending is not None:
            if answer.ending.final is None:
                return answer_fields.Fields(complete=False)
            fields = answer_fields.read(answer.content, answer.ending.final, text_limit=text_limit)
        elif answer.media_type != "application/json":
            # Files of any flavour (jsonl, json-seq…) and other media pass as they came, unread.
            return answer_fields.Fields(complete=False)
        elif not route.model:
            if not route.path.endswith("/content"):  # a file's content is never read
                answer_fields.check_whole(answer.content)
            return answer_fields.Fields(complete=False)
        else:
            fields = answer_fields.read(answer.content, text_limit=text_limit)
    except answer_fields.Malformed:
        raise errors.upstream_malformed(record.opc_request_id) from None
    if route.model:
        record.response_id = fields.id or ""
        record.input_tokens, record.output_tokens = fields.input_tokens, fields.output_tokens
        record.output = fields.output_text
    return fields


def upstream_ref(record: CallRecord) -> dict[str, str]:
    """The reply headers that say which upstream request (and, with failover, which region) answered."""
    ref = {"X-Upstream-Request-Id": record.opc_request_id} if record.opc_request_id else {}
    # Set only when regional failover is on (genai_fn/failover.py): which region answered.
    return {**ref, "X-GenAI-Region": record.region} if record.region else ref
