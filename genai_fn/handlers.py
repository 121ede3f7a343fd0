"""The handlers the route table (genai_fn/routes.py) names: what the function answers, each `(call: Call) -> Reply`.

`passthrough` serves every row without a handler of its own: checked as its
row says (genai_fn/checks.py), sent signed, passed back as it came. The others
answer themselves: `health`, `models`, `not_offered` and `simple` (which
sends the row it names in `sends`, a Responses create, the way
`passthrough` would).
"""

from __future__ import annotations

from typing import Any

from . import answer_fields, checks, clients, errors, failover, limits, streams, tenancy
from .answers import record_answer, upstream_ref
from .call import Call
from .http import JSON_TYPES, Reply
from .retry import Rule
from .route import API_ROOT, Plane, Route
from .settings import Settings
from .upstream import Outbound

SIMPLE_FIELDS = {"input", "instructions", "model", "previous_response_id", "max_output_tokens", "temperature"}
SIMPLE_TYPES = (*JSON_TYPES, "text/plain")


def health(call: Call) -> Reply:
    """Anonymous: says the function is up and configured, nothing about how."""
    call.service.settings_or_raise()  # a configuration that failed to load is the answer
    return Reply.json(200, {"status": "ok"})


def models(call: Call) -> Reply:
    """GET …/v1/models and …/v1/models/{id}, answered from the allow-list and aliases.

    Oracle documents no /models on the OpenAI-compatible base, and the names a
    client may use here are this deployment's choice anyway (GENAI_ALLOWED_MODELS,
    GENAI_MODEL_ALIASES): the function answers itself, without a model call.
    """
    settings = call.settings
    names = checks.models_for(call.policy, settings)  # a client limited to some models sees those
    if "{" not in call.route.path:
        return Reply.json(200, {"object": "list", "data": [_model_object(settings, n) for n in names]})
    name = call.path.rsplit("/", 1)[-1]
    resolved = settings.resolve_model(name)
    policy = call.policy
    if (name not in names and resolved is None) or (
        policy is not None and not clients.allows_model(policy, resolved or name, settings.resolve_model)
    ):
        raise errors.model_not_found(name)
    return Reply.json(200, _model_object(settings, name))


def not_offered(call: Call) -> Reply:
    """A path OpenAI serves and OCI Generative AI does not: a 404 that says so."""
    raise errors.not_offered(call.route.about)


def simple(call: Call) -> Reply:
    """One prompt in, the text out: for curl, scripts, `fn invoke` and people without an OpenAI SDK.

    The request becomes a Responses create (the row's `sends`) and takes the same path as every other route.
    """
    request, record, settings = call.request, call.record, call.settings
    create = call.route.sends
    assert create is not None, "the simple route's row names the row it sends (check_table)"
    checks.check_size(request, settings)
    content_type = request.content_type
    if not request.through_gateway:
        # fn invoke and the OCI SDK send no meaningful content type: go by the body.
        content_type = "application/json" if request.body.lstrip()[:1] == b"{" else "text/plain"
    if content_type in JSON_TYPES:
        fields = checks.json_object(request, settings)
    elif content_type in ("text/plain", ""):
        try:
            fields = {"input": request.body.decode("utf-8")}
        except UnicodeDecodeError:
            raise errors.bad_request("The request body is not valid UTF-8.", param="input") from None
    else:
        raise errors.unsupported_media_type(content_type, SIMPLE_TYPES)

    unknown = sorted(set(fields) - SIMPLE_FIELDS)
    if unknown:
        raise errors.bad_request(
            f"Unknown field(s) {', '.join(unknown)}; the simple route takes {', '.join(sorted(SIMPLE_FIELDS))}. "
            "Use …/v1/responses for the full Responses API.",
            param=unknown[0],
        )
    if not isinstance(fields.get("input"), str):
        raise errors.bad_request("'input' must be a string.", param="input")
    for name in ("instructions", "previous_response_id"):
        if name in fields and not isinstance(fields[name], str):
            raise errors.bad_request(f"'{name}' must be a string.", param=name)
    capped = checks.check_generation(call, create, fields)
    out = Outbound(
        "POST",
        create.upstream_path,
        retry_rule=create.rule_for(fields),
        content=checks.dumps(fields),
        content_type="application/json",
        project=call.project,
    )
    with (spend := _spend(call, create, fields, settings)):
        # Stored (the simple route sends no `store: false`): never fails over.
        answer = call.send(out)
        result = record_answer(record, create, answer, text_limit=answer_fields.SIMPLE_TEXT_LIMIT)
        if not result.complete or result.output_text is None:
            raise errors.upstream_malformed(
                record.opc_request_id, "an answer the simple route cannot read its text from"
            )
        if result.text_cut:
            raise errors.simple_text_too_long(answer_fields.SIMPLE_TEXT_LIMIT, record.opc_request_id)
    usage = (result.input_tokens, result.output_tokens, result.total_tokens)
    return Reply.json(
        200,
        {
            "id": result.id,
            "model": result.model,
            "output_text": result.output_text,
            "usage": dict(zip(("input_tokens", "output_tokens", "total_tokens"), usage, strict=True))
            if any(n is not None for n in usage)
            else None,
        },
        {**upstream_ref(record), **capped, **spend.headers},
    )


def passthrough(call: Call) -> Reply:
    """Check the request as its row says, send it signed, and pass the answer back as it came."""
    route, path, request, service, record = call.route, call.path, call.request, call.service, call.record
    settings = call.settings
    content, content_type, payload, capped, hide_usage = checks.request_body(call)
    if call.project:  # this client's objects are kept apart from other clients' (genai_fn/tenancy.py)
        content = tenancy.guard(call, payload, content, call.budget)
    out = Outbound(
        method=route.method,
        path=path.removeprefix(API_ROOT),
        retry_rule=route.rule_for(payload),
        content=content,
        content_type=content_type,
        params=checks.query(route, request),
        stream=route.stream if checks.streamed(route, request, payload) else None,
        resource=route.resource.value if route.resource else "",
        control_plane=route.plane is Plane.CONTROL,
        project=call.project,
        compartment=call.compartment,
    )
    # With one region (failover off) nothing is checked: no work added to the call.
    portable = service.fails_over and _portable(route, out, payload)
    with (spend := _spend(call, route, payload, settings)):
        answer = call.send(out, portable=portable)
        record_answer(record, route, answer)
    if hide_usage and answer.ending is not None:
        answer.content = streams.without_usage_chunk(answer.content, answer.ending)
    headers = {"Content-Type": answer.content_type, **upstream_ref(record), **capped, **spend.headers}
    if answer.ending is not None:
        headers["Cache-Control"] = "no-cache"
    return Reply(answer.status, answer.content, headers)


def _spend(call: Call, route: Route, payload: dict[str, Any], settings: Settings) -> limits.Spend:
    """Reserve a model call's possible spend for a limited client (genai_fn/limits/); else a no-op.

    Its output cap is the request's (already capped) token field, else the client's or the global cap.
    """
    if not route.model or call.service.limits is None:
        return limits.Spend()
    asked = [payload[name] for name in route.tokens if checks.is_int(payload.get(name))]
    return limits.Spend.start(
        call.service.limits,
        call.client,
        call.policy,
        through_gateway=call.request.through_gateway,
        output_cap=min([checks.output_cap(settings, call.policy), *asked]),
        body_bytes=len(call.request.body),
        record=call.record,
        budget=call.budget,
    )


def _portable(route: Route, out: Outbound, payload: dict[str, Any]) -> bool:
    """A model answer that stores nothing and names nothing stored: another region may serve it (failover.py)."""
    return (
        route.repeat is Rule.GENERATE and out.retry_rule is Rule.IDEMPOTENT and not failover.references_stored(payload)
    )


def _model_object(settings: Settings, name: str) -> dict[str, Any]:
    target = settings.model_aliases.get(name, name)
    return {"id": name, "object": "model", "created": 0, "owned_by": target.split(".", 1)[0]}
