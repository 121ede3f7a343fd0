"""A local OCI Generative AI OpenAI-compatible API that checks requests as OCI would.

A real HTTP server (aiohttp) on 127.0.0.1 serving, under `/openai/v1`, what
Oracle documents there (https://docs.oracle.com/en-us/iaas/Content/generative-ai/openai-compatible-api.htm):
Responses (create, retrieve, delete, input items, cancel), Chat Completions
(JSON and server-sent events), Conversations (and their items), Files, Vector
Stores (files, file batches, search) and Containers (files), in OpenAI's wire shapes, kept
in memory; and under `/20231130/openai/v1` (`Emulator.control_base_url`) the
control plane's vector store management, which needs `opc-compartment-id`.
`GET /models` is not among them and is answered 404, as any path
OCI is not documented to serve. Every request first passes OCI's front door
(signature, project, policy): see `core`.

Answers are deterministic and reflect the input, so tests can assert on them,
and plausible enough that a framework's agent loop ends (see `model`).
Faults are injected per run (`Emulator.inject("503", times=2, path="/files")`,
or `POST /_emulator/faults` with {"kind", "times", "value", "path", "method"})
or per request, with `[[fault:NAME]]` (or `[[fault:NAME:VALUE]]`) anywhere in
the request body. Fault names: 429, 429-no-retry-after, 500, 503, slow, hang,
drop, malformed, truncate, 401-until-rotate, and for streamed creates only
partial-stream (clean end without the final event), error-event (the stream
ends with an `error` event) and no-done (a Chat Completions stream without
`data: [DONE]`). Every request is recorded in `Emulator.calls` (and listed,
for another process, by `GET /_emulator/calls`).

Modules, each importing only those before it: `wire` (shared shapes and
helpers), `model` (what the emulated model answers: echo, tool calls, filled
schemas), `state` (what the service holds: resources, limits, models),
`table` (a route row), the families `responses`, `chat`, `conversations`,
`storage` (files, vector stores, containers), `file_batches`, and
`core` (front door, faults, the table of every family's routes).
"""

from .core import CONTROL_PREFIX, FAULTS, PREFIX, STREAM_FAULTS, Call, Emulator, Fault
from .responses import stream_events
from .state import KNOWN_MODELS, State

__all__ = [
    "CONTROL_PREFIX",
    "FAULTS",
    "KNOWN_MODELS",
    "PREFIX",
    "STREAM_FAULTS",
    "Call",
    "Emulator",
    "Fault",
    "State",
    "stream_events",
]
