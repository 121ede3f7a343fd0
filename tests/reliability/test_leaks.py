"""Leaks: no prompt, output or credential in any log, and no internals in any error the caller gets.

A representative run through the gateway with a Bearer API key: good calls on
every route (create, stream, simple, retrieve, delete, chained), bad requests,
upstream faults, credentials missing, rotated, revoked and expired. Every
prompt carries a canary (`PROMPT-CANARY-<uuid>`) that the model's output
echoes. Then every log there is, is searched:

- the function containers' output (`FnRunner.logs`: stdout and stderr of fdk and the function);
- this process's logging records (`caplog`, root at DEBUG: the gateway, the emulator, aiohttp,
  and the platform's client to fdk) and its raw stdout/stderr (`capfd`).

None may hold the canary (so neither prompt nor output), the API key (nor a wrong
one a caller tried), any RPST the platform wrote, any private key material
("BEGIN", "PRIVATE KEY", a line of a key's base64 body) or any `Authorization`
value (the caller's Bearer key or the function's request signature). And no
error body may carry a traceback, a source line, a path of the repository or of
a temporary folder, or any of those credentials.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dev.local.credentials import ResourcePrincipal
from dev.local.stack import ApiKeys, Stack
from tests.reliability.support import MODEL, OTHER_MODEL, ROOT, invocation_lines, output_text, sse_events

pytestmark = pytest.mark.soak

TIMEOUT_S = 6.0


class Secrets:
    """Every credential the run handed out, collected as the platform writes them."""

    def __init__(self, principal: ResourcePrincipal, api_keys: ApiKeys) -> None:
        self.principal = principal
        self.values: set[str] = {api_keys.key, "sk-genai-" + "w" * 43}
        self.pem_lines: set[str] = set()
        self.capture()

    def capture(self) -> None:
        """Remember the principal's current token and key (call after each rotation)."""
        token = self.principal.token
        self.values.update({token, token.rsplit(".", 1)[-1]})
        with open(self.principal.pem_path, "rb") as f:
            lines = f.read().decode().splitlines()
        self.pem_lines.update(line for line in lines[1:-1] if len(line) >= 32)

    def rotate(self, **kwargs: Any) -> None:
        self.principal.rotate(**kwargs)
        self.capture()


def forbidden_in(text: str, secrets: Secrets, canary: str) -> list[str]:
    """What of the forbidden material `text` contains (names, not values)."""
    found = []
    if canary in text:
        found.append("the prompt canary (prompt or output)")
    found += [f"credential #{i}" for i, value in enumerate(sorted(secrets.values)) if value in text]
    found += ["a line of a private key" for line in secrets.pem_lines if line in text][:1]
    for marker in ("BEGIN", "PRIVATE KEY", 'keyId="ST$', "Signature version="):
        if marker in text:
            found.append(repr(marker))
    # A token; `WWW-Authenticate: Bearer realm=...` is not one, nor the gateway 401's placeholder
    # `Authorization: Bearer <key>` (terraform/gateway.json).
    if re.search(r"Bearer\s+(?!realm=|<key>)\S", text):
        found.append("a Bearer token")
    if re.search(r"authorization['\"]?\s*[:=]\s*['\"]?(?!Bearer <key>)\S", text, re.I):
        found.append("an Authorization header value")
    return found


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    """One container behind the gateway at /genai, with two models allowed."""
    # A 1 MiB body limit, so that the "too large" case is the function's 413, not the gateway's.
    config = {"GENAI_ALLOWED_MODELS": f"{MODEL},{OTHER_MODEL}", "GENAI_MAX_BODY_BYTES": str(1024 * 1024)}
    return make_stack(prefix="/genai", timeout_s=TIMEOUT_S, config=config)


def test_no_prompt_output_or_credential_in_any_log_or_error(stack, principal, emulator, caplog, capfd):
    caplog.set_level("DEBUG")
    runner, http, api_keys = stack.runner, stack.client(auth=False, timeout=30), stack.api_keys
    secrets = Secrets(principal, api_keys)
    canary = f"PROMPT-CANARY-{uuid.uuid4().hex}"
    auth = {"Authorization": f"Bearer {api_keys.key}"}
    answers: list[tuple[str, httpx.Response]] = []

    def call(label: str, method: str, url: str, expect: int, **kwargs: Any) -> httpx.Response:
        headers = {**auth, **kwargs.pop("headers", {})}
        answer = http.request(method, url, headers=headers, **kwargs)
        assert answer.status_code == expect, f"{label}: {answer.status_code} {answer.text[:300]}"
        answers.append((label, answer))
        return answer

    def prompt(note: str) -> str:
        return f"{canary} {note}"

    # Credentials missing before the function's first model call: it cannot build its signer.
    os.unlink(principal.pem_path)
    call("health", "GET", "/health", 200)
    call("missing key", "POST", "/v1/responses", 502, json={"input": prompt("no key")})
    secrets.rotate()

    # Good calls on every route; the output echoes the canary.
    created = call("create", "POST", "/v1/responses", 200, json={"input": prompt("create"), "instructions": canary})
    assert canary in output_text(created.json())
    streamed = call("stream", "POST", "/v1/responses", 200, json={"input": prompt("stream"), "stream": True})
    assert canary in "".join(e.get("delta", "") for e in sse_events(streamed.content))
    call("simple text", "POST", "/", 200, content=prompt("simple").encode(), headers={"Content-Type": "text/plain"})
    call("simple json", "POST", "/", 200, json={"input": prompt("simple json"), "model": OTHER_MODEL})
    first = created.json()["id"]
    chained = call("chain", "POST", "/v1/responses", 200, json={"input": prompt("next"), "previous_response_id": first})
    assert canary in output_text(chained.json())
    call("retrieve", "GET", f"/v1/responses/{first}", 200)
    call("delete", "DELETE", f"/v1/responses/{first}", 200)
    call("retrieve deleted", "GET", f"/v1/responses/{first}", 404)

    # Bad requests, most of them carrying the canary.
    json_type = {"Content-Type": "application/json"}
    call("bad json", "POST", "/v1/responses", 400, content=f'{{"input": "{canary}'.encode(), headers=json_type)
    call(
        "bad utf-8",
        "POST",
        "/v1/responses",
        400,
        content=b'{"input": "\xff' + canary.encode() + b'"}',
        headers=json_type,
    )
    call("blank input", "POST", "/v1/responses", 400, json={"input": " ", "instructions": canary})
    call("bad model", "POST", "/v1/responses", 404, json={"input": prompt("m"), "model": "xai.grok-4"})
    call("bad field", "POST", "/", 400, json={"input": prompt("f"), "tools": [canary]})
    call(
        "media type", "POST", "/v1/responses", 415, content=prompt("xml").encode(), headers={"Content-Type": "text/xml"}
    )
    call("too large", "POST", "/v1/responses", 413, json={"input": prompt("big") + " x" * 600_000})
    call("bad id", "GET", "/v1/responses/bad!id", 400)
    call("method", "PUT", "/v1/responses", 405, json={"input": prompt("put")})
    call("route", "GET", "/v1/assistants", 404)
    call(
        "wrong key",
        "POST",
        "/v1/responses",
        401,
        json={"input": prompt("k")},
        headers={"Authorization": "Bearer sk-genai-" + "w" * 43},
    )

    # Upstream faults, with the canary in the prompt that fails.
    for fault, route, expect in (
        ("500", "/v1/responses", 502),
        ("503", "/", 502),
        ("429:0.1", "/v1/responses", 429),
        ("drop", "/v1/responses", 502),
        ("malformed", "/v1/responses", 502),
        ("malformed", "/", 502),
        ("slow:0.2", "/", 200),
    ):
        call(f"fault {fault} {route}", "POST", route, expect, json={"input": prompt(f"[[fault:{fault}]]")})
    call("truncated stream", "POST", "/v1/responses", 502, json={"input": prompt("[[fault:truncate]]"), "stream": True})

    # Credentials rotated, revoked, refused mid-run, expired.
    secrets.rotate()
    emulator.inject("401-until-rotate")
    secrets.rotate()
    call("revoked then rotated", "POST", "/v1/responses", 200, json={"input": prompt("rotated")})
    os.unlink(principal.pem_path)
    emulator.inject("401-until-rotate")
    call("revoked, key gone", "POST", "/v1/responses", 502, json={"input": prompt("revoked")})
    secrets.rotate()
    emulator.clear_faults()
    call("key back", "POST", "/v1/responses", 200, json={"input": prompt("back")})
    secrets.rotate(lifetime_s=60, issued_at=0)  # the next token on disk is long expired:
    emulator.inject("401-until-rotate")  # refuse the one in use, so that the signer re-reads the files
    expired = call("expired token", "POST", "/v1/responses", 502, json={"input": prompt("expired")})
    assert expired.json()["error"]["code"] == "upstream_not_authorized" and "expired" in emulator.calls[-1].reason
    secrets.rotate()
    call("renewed", "POST", "/v1/responses", 200, json={"input": prompt("renewed")})

    # -- the logs -------------------------------------------------------------------
    lines = invocation_lines(runner)
    runner.stop()  # so that everything the container wrote has been read
    function_logs = "\n".join(runner.lines())
    records = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.args!r}" for r in caplog.records)
    out, err = capfd.readouterr()
    sources = {"function containers": function_logs, "logging records": records, "stdout": out, "stderr": err}
    # The gateway's own refusals: its JSON ones, and its 401 (terraform/gateway.json's message).
    refused = [a for _, a in answers if a.status_code == 401 or isinstance(_json(a).get("code"), int)]
    assert len(lines) == len(answers) - len(refused), "every call that reached the function has its log line"
    leaks = {name: forbidden_in(text, secrets, canary) for name, text in sources.items()}
    assert not any(leaks.values()), leaks

    # -- the error bodies -----------------------------------------------------------
    temp = tempfile.gettempdir()
    errors = [(label, a) for label, a in answers if a.status_code >= 400]
    assert len(errors) >= 20
    for label, answer in errors:
        body = answer.text
        found = forbidden_in(body, secrets, canary)
        found += [m for m in ("Traceback", 'File "', str(ROOT), principal.directory, temp + "/") if m in body]
        assert not found, f"{label}: {found} in {body[:400]}"
    print(
        f"\nleaks: {len(answers)} calls ({len(errors)} errors), {len(runner.lines())} function log lines, "
        f"{len(caplog.records)} logging records, {len(out) + len(err)} bytes of raw output: "
        f"no canary, key, token, PEM or Authorization value; no traceback or path in any error body"
    )


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        value = answer.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def test_fdk_debug_cannot_log_the_callers_api_key_the_gateway_drops_it(make_stack):
    # fdk logs every header it gets at DEBUG when FDK_DEBUG is on. The gateway (local and deployed:
    # header_transformations BLOCK on every route) drops Authorization before the function, so the
    # caller's key never reaches fdk at all.
    stack = make_stack(prefix="/genai", timeout_s=TIMEOUT_S, config={"FDK_DEBUG": "true"})
    runner, key = stack.runner, stack.api_keys.key
    answer = stack.client().post("/v1/responses", json={"input": "with FDK_DEBUG on"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert runner.log_for(runner.last_call_id)["status"] == 200
    runner.stop()  # so that everything the container wrote has been read
    output = runner.lines()
    assert any(" - fdk - DEBUG - " in line for line in output), output[:20]
    assert not [line for line in output if key in line]
