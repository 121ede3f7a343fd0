"""The error table: every way a call can fail, as a status and an OpenAI-shaped body.

Errors travel as `ApiError` exceptions and are turned into an answer in exactly
one place (`func.handler`). The body always has OpenAI's shape,
`{"error": {"message", "type", "param", "code"}}`, so OpenAI SDK clients raise
their usual exception classes with our message.

Only 502 and 504 survive OCI Functions unchanged among the 5xx statuses (any
other 5xx reaches the caller as 502), so server-side failures use 502 or 504 on
purpose: what the caller sees locally is what it sees in OCI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .answer_fields import error_fields

#: Where to look when Generative AI refuses the function's identity.
IAM_HINT = (
    "Check that (1) the dynamic group's matching rule includes this function "
    "(ALL {resource.type = 'fnfunc', resource.compartment.id = '<compartment>'}), "
    "(2) a policy says 'allow dynamic-group <group> to use generative-ai-family in compartment <compartment>', "
    "(3) GENAI_PROJECT_OCID names a Generative AI project in region {region}, and "
    "(4) at least 15 minutes have passed since the last policy change "
    "(the function's resource-principal token is cached that long)."
)

#: An opc-request-id as OCI writes it (hex groups and slashes); anything else the upstream sends
#: there is not echoed to the caller or logged.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._:+=-]{0,127}")
#: The longest Retry-After the function tells its caller, whatever the upstream asked for (seconds).
MAX_RETRY_AFTER_S = 3600

#: An absolute filesystem path (not part of a URL or of a ~/ path), up to a quote, space or separator.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/])/[^\s'\",;)]+")


class ApiError(Exception):
    """A failure with the status, body and headers the caller should get.

    `region_failure`: the failure says "this region failed now" (429, 5xx, no answer within the region's
    share of the budget, a refused or dropped connection, a stream cut short, an answer that does not
    read), not "this request is wrong". Regional failover (genai_fn/failover.py) sends such a call to the
    next region and counts it against the region's circuit; any other error is the request's own, and
    another region would answer it the same.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str,
        code: str,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        region_failure: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})
        self.region_failure = region_failure

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def bad_request(message: str, *, param: str | None = None, code: str = "invalid_request") -> ApiError:
    return ApiError(400, message, type="invalid_request_error", code=code, param=param)


def unknown_route(path: str, api: Sequence[str], others: Sequence[str]) -> ApiError:
    """No row for `path`; `api` and `others` say what the table serves (genai_fn/dispatch.py builds them from it):
    the OpenAI paths under …/v1/ ("responses", "chat/completions"…) and the rest ("POST …/ (simple)"…)."""
    served = [f"OCI Generative AI's OpenAI-compatible API under …/v1/ ({', '.join(api)})"] if api else []
    served += others
    said = ", ".join(served[:-1]) + " and " + served[-1] if len(served) > 1 else "".join(served) or "no path"
    return ApiError(
        404,
        f"No route for {path!r}. This endpoint serves {said}.",
        type="invalid_request_error",
        code="unknown_route",
    )


def not_offered(what: str) -> ApiError:
    """A path OpenAI serves and OCI Generative AI does not: said plainly, not a bare 404."""
    return ApiError(
        404,
        f"{what} is part of OpenAI's API but OCI Generative AI does not offer it, so this endpoint does not either.",
        type="invalid_request_error",
        code="not_offered_by_oci",
    )


def model_not_found(model: str, allowed: Sequence[str] = (), *, for_client: bool = False) -> ApiError:
    """A model this deployment does not serve, or this client may not use: OpenAI's answer to an unknown model.

    OpenAI answers a model that does not exist, or that the key may not use, with 404
    `model_not_found` ("The model `…` does not exist or you do not have access to it.",
    type invalid_request_error), and the SDKs raise NotFoundError for it: code that falls back to
    another model on NotFoundError does so here too. `allowed` is what the caller may use instead:
    for a restricted client only its own names (`for_client`), never the rest of the allow-list.
    OpenAI sends `param: null`; `model` is named here, which no SDK branches on.
    """
    said = f"The model `{model[:100]}` does not exist or you do not have access to it"
    if not allowed:
        hint = " (see GET …/v1/models)."
    elif for_client:
        hint = f"; this client may use: {', '.join(allowed)}."
    else:
        names = ", ".join(allowed)
        hint = f"; this deployment serves: {names} (GENAI_ALLOWED_MODELS, aliases from GENAI_MODEL_ALIASES)."
    return ApiError(404, said + hint, type="invalid_request_error", param="model", code="model_not_found")


def client_forbidden(message: str, *, code: str, param: str | None = None) -> ApiError:
    """This client's policy (GENAI_CLIENT_POLICIES) does not allow the request; OpenAI's 403 shape."""
    return ApiError(403, message, type="permission_error", code=code, param=param)


def too_many_values(limit: int) -> ApiError:
    return ApiError(
        413,
        f"The request body has more than {limit} JSON values (arrays, objects, members and items); "
        "the function refuses it before parsing, to stay within its memory.",
        type="invalid_request_error",
        code="too_many_json_values",
    )


def token_limit_exceeded(message: str, headers: Mapping[str, str]) -> ApiError:
    """A limited client's window is spent (genai_fn/limits/): OpenAI's 429, with Retry-After and x-ratelimit-*."""
    return ApiError(
        429,
        f"{message} Try again after the time in Retry-After (x-ratelimit-reset-tokens).",
        type="tokens",
        code="token_limit_exceeded",
        headers=headers,
    )


def limit_store_unavailable() -> ApiError:
    """GENAI_LIMIT_FAILURE_MODE=closed and the limits' store did not answer: nothing was sent to the model.

    A 502, not a 503: of the 5xx statuses only 502 and 504 leave OCI Functions unchanged (this module's docstring).
    """
    return ApiError(
        502,
        "Token limits cannot be checked right now, so the call was not sent to the model. Try again shortly.",
        type="server_error",
        code="limit_store_unavailable",
        headers={"Retry-After": "1"},
    )


def method_not_allowed(method: str, allowed: tuple[str, ...]) -> ApiError:
    return ApiError(
        405,
        f"Method {method} is not allowed here; use {' or '.join(allowed)}.",
        type="invalid_request_error",
        code="method_not_allowed",
        headers={"Allow": ", ".join(allowed)},
    )


def payload_too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        f"The request body is {size} bytes; the limit is {limit} (GENAI_MAX_BODY_BYTES).",
        type="invalid_request_error",
        code="payload_too_large",
    )


def unsupported_media_type(content_type: str, accepted: tuple[str, ...]) -> ApiError:
    return ApiError(
        415,
        f"Content-Type {content_type!r} is not supported here; send {' or '.join(accepted)}.",
        type="invalid_request_error",
        code="unsupported_media_type",
    )


def misconfigured(message: str) -> ApiError:
    return ApiError(502, message, type="server_error", code="function_misconfigured")


def credentials_unavailable(message: str) -> ApiError:
    # The caller learns the auth mode and which setting or file is at fault, not where the
    # container keeps its key and token: absolute paths are left out of the answer.
    return ApiError(502, _ABSOLUTE_PATH.sub("<path>", message), type="server_error", code="credentials_unavailable")


def deadline_exceeded(detail: str) -> ApiError:
    return ApiError(
        504,
        f"The model did not answer within the function's time budget ({detail}). "
        "Retry, ask for fewer output tokens, or raise the function's timeout.",
        type="server_error",
        code="deadline_exceeded",
        region_failure=True,
    )


def internal(call_id: str) -> ApiError:
    return ApiError(
        502,
        f"The function failed unexpectedly. Quote call id {call_id} when you report it.",
        type="server_error",
        code="internal_error",
    )


def upstream_unreachable(detail: str) -> ApiError:
    return ApiError(
        502,
        f"Could not reach OCI Generative AI: {detail}.",
        type="server_error",
        code="upstream_unreachable",
        region_failure=True,
    )


def upstream_malformed(request_id: str, what: str = "a body that is not valid JSON") -> ApiError:
    ref = f" (opc-request-id {request_id})" if request_id else ""
    return ApiError(
        502,
        f"OCI Generative AI answered with {what}{ref}.",
        type="server_error",
        code="upstream_malformed",
        region_failure=True,
    )


def upstream_answer_too_large(limit: int, request_id: str) -> ApiError:
    ref = f" (opc-request-id {request_id})" if request_id else ""
    return ApiError(
        502,
        f"OCI Generative AI's answer is larger than the {limit} bytes OCI Functions can return{ref}. "
        "Ask for less (max_output_tokens, a smaller page with limit=).",
        type="server_error",
        code="upstream_answer_too_large",
    )


def simple_text_too_long(limit: int, request_id: str) -> ApiError:
    ref = f" (opc-request-id {request_id})" if request_id else ""
    return ApiError(
        502,
        f"The model's text is longer than the {limit} characters the simple route answers with{ref}. "
        "Ask for fewer output tokens, or use …/v1/responses, which passes any answer on as it came.",
        type="server_error",
        code="upstream_answer_too_large",
    )


def upstream_stream_incomplete(problem: str, upstream_message: str, request_id: str) -> ApiError:
    ref = f" (opc-request-id {request_id})" if request_id else ""
    said = f": {upstream_message}" if upstream_message else ""
    return ApiError(
        502,
        f"OCI Generative AI's event stream was not whole: {problem}{said}{ref}. Nothing partial is passed on; retry.",
        type="server_error",
        code="upstream_stream_incomplete",
        region_failure=True,
    )


#: What a 404 on a resource's own path most likely means, by resource.
_NOT_FOUND_HINTS = {
    "response": "Responses are kept only when created with store=true.",
}
#: An upstream error code that names what was not found, as an identifier.
_NOT_FOUND_CODE = re.compile(r"[a-z][a-z_]{0,60}_not_found")


def from_upstream(
    status: int,
    headers: Mapping[str, str],
    content: bytes | bytearray,
    *,
    region: str,
    retry_after_s: float | None,
    resource: str = "",
    api_key: bool = False,
) -> ApiError:
    """Translate a failed upstream answer into what the caller should get.

    `resource` names what the request's path points at ("response",
    "conversation", "file"...) when it names one by id: there a 404 most likely
    means the id does not exist, not that IAM refused the function. `api_key`:
    the function sent an API key (OCI_AUTH=api_key), so a refusal is about the key.
    """
    upstream_message, upstream_code = error_fields(content)
    request_id = upstream_request_id(headers)
    ref = f" (opc-request-id {request_id})" if request_id else ""

    # A 404 that names what is missing ("conversation_not_found") on a path without an id (a Responses
    # create naming a conversation of another project, or none) is that object's absence, not IAM's refusal.
    if status == 404 and (resource or _NOT_FOUND_CODE.fullmatch(upstream_code)):
        # `resource` is an identifier (route.Resource): the code as it is, the message in words. On a
        # nested path (a container's file) the service's own message says which of the two is missing,
        # and so does its code when it names one ("container_not_found"): then that is what is missing.
        if _NOT_FOUND_CODE.fullmatch(upstream_code):
            resource = upstream_code.removesuffix("_not_found")
        said = f" OCI Generative AI says: {upstream_message[:200]}" if upstream_message else ""
        hint = _NOT_FOUND_HINTS.get(resource, "")
        return ApiError(
            404,
            f"No such {resource.replace('_', ' ')}, or it is not visible to this function{ref}.{said} {hint}".rstrip(),
            type="invalid_request_error",
            code=f"{resource}_not_found",
        )
    if status in (401, 403, 404):
        label = upstream_code or {401: "NotAuthenticated", 403: "Forbidden", 404: "NotAuthorizedOrNotFound"}[status]
        if api_key:
            return ApiError(
                502,
                f"OCI Generative AI refused the API key (OCI_AUTH=api_key): {status} {label}{ref}. Check that the "
                f"key is active and was created in {region or 'the configured region'} (a key works in its own "
                "region only), that an IAM policy grants it access, and GENAI_PROJECT_OCID.",
                type="server_error",
                code="upstream_not_authorized",
            )
        return ApiError(
            502,
            f"OCI Generative AI refused the function's identity: {status} {label}{ref}. "
            + IAM_HINT.replace("{region}", region or "the configured region"),
            type="server_error",
            code="upstream_not_authorized",
        )
    if status == 429:
        # retry.retry_after bounds the value already; bounded again here, where it becomes a header.
        wait = 1
        if retry_after_s is not None and retry_after_s == retry_after_s:  # not NaN
            wait = max(1, round(min(float(MAX_RETRY_AFTER_S), retry_after_s)))
        return ApiError(
            429,
            f"OCI Generative AI is throttling requests{ref}; retry after {wait} s.",
            type="rate_limit_error",
            code="rate_limited",
            headers={"Retry-After": str(wait)},
            region_failure=True,
        )
    if 400 <= status < 500:
        # The caller's request was at fault: pass the model service's own words on.
        return ApiError(
            status,
            f"{upstream_message or 'The request was rejected by OCI Generative AI'}{ref}",
            type="invalid_request_error",
            code=upstream_code or "upstream_rejected",
        )
    return ApiError(
        502,
        f"OCI Generative AI failed with {status}{ref}: {upstream_message or 'no detail given'}",
        type="server_error",
        code="upstream_error",
        region_failure=True,
    )


def upstream_request_id(headers: Mapping[str, str]) -> str:
    """The upstream's opc-request-id, if it looks like one (at most 128 characters of its alphabet), else ""."""
    value = headers.get("opc-request-id", "")
    return value if _REQUEST_ID.fullmatch(value) else ""
