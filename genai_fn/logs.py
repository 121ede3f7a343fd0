"""One JSON line per invocation, and nothing that should not be in a log.

OCI Functions sends the function's stderr to OCI Logging; a single JSON object
per call is what Logging's search and the log-based metrics read best. The line
carries ids, sizes, timings and token counts. The prompt and the model's output
appear only when GENAI_LOG_PROMPTS is on; credentials and `Authorization`
values never do.

fdk sets the root logger to DEBUG, which makes openai, httpx, httpcore and oci
write about fifteen lines per call, some of them with request headers (httpx2 and
httpcore2 are the openai SDK's own HTTP stack). Those
loggers are held at WARNING here.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

NOISY_LOGGERS = ("openai", "httpx", "httpx2", "httpcore", "httpcore2", "oci", "urllib3", "oci_genai_auth", "asyncio")
#: How much of a prompt or an output a log line may carry when prompt logging is on.
LOGGED_TEXT_LIMIT = 2000

logger = logging.getLogger("genai_fn")


@dataclass
class CallRecord:
    """What one invocation did, filled in as it goes, logged when it ends."""

    route: str = ""
    #: Who called: the gateway's X-GenAI-Client (genai_fn/clients.py); "" for none.
    client: str = ""
    model: str = ""
    attempts: int = 0
    upstream_s: float = 0.0
    opc_request_id: str = ""
    response_id: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    prompt: str | None = None
    output: str | None = None
    #: Why each retried attempt failed: an upstream status ("503") or a failure kind ("dropped").
    retried: list[str] = field(default_factory=list)
    #: Set when an event stream was not whole (the answer is then a 502, or a retry).
    stream_problem: str = ""
    #: The region that answered (or last failed), when regional failover is on (genai_fn/failover.py).
    region: str = ""
    #: Token limits (genai_fn/limits/), for a limited client's generating call: "ok", "exceeded",
    #: "store_unavailable" (the store did not answer; in open mode the call went on) or "settle_failed".
    limit: str | None = None
    #: What x-ratelimit-remaining-tokens told the client.
    tokens_remaining: int | None = None


def configure(level: str) -> None:
    """Send our lines to stderr as bare JSON and quiet the chatty libraries."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    # Our lines are already complete JSON; fdk's root handler would prefix them.
    logger.propagate = False
    logger.setLevel(level)


def invocation(
    *,
    call_id: str,
    method: str,
    path: str,
    status: int,
    latency_s: float,
    record: CallRecord,
    error_code: str,
    log_prompts: bool,
) -> None:
    line = {
        "event": "invocation",
        "call_id": call_id,
        "method": method,
        "path": path[:200],
        "status": status,
        "latency_ms": round(latency_s * 1000, 1),
        **asdict(record),
        "error_code": error_code or None,
    }
    line["upstream_ms"] = round(line.pop("upstream_s") * 1000, 1)
    prompt, output = line.pop("prompt"), line.pop("output")
    if log_prompts:
        line["prompt"] = None if prompt is None else prompt[:LOGGED_TEXT_LIMIT]
        line["output"] = None if output is None else output[:LOGGED_TEXT_LIMIT]
    logger.log(logging.WARNING if status >= 500 else logging.INFO, _dumps(line))


def event(name: str, fields: dict[str, object], level: int = logging.INFO) -> None:
    logger.log(level, _dumps({"event": name, **fields}))


def crash(call_id: str) -> None:
    """Log the exception being handled, with its traceback, for the operator only."""
    logger.error(_dumps({"event": "unhandled_exception", "call_id": call_id, "traceback": traceback.format_exc()}))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now, not what it was when configured
    (test runners and some hosts replace it after start-up)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def _dumps(line: dict[str, object]) -> str:
    return json.dumps(line, ensure_ascii=False, default=str, separators=(",", ":"))
