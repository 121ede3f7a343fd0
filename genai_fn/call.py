"""`Call`: one call as a handler gets it, and what a handler may use. The public API for custom routes.

A handler (a row's `handler`, genai_fn/route.py) takes one `Call` and returns
a `Reply` (genai_fn/http.py), or raises an `ApiError` (genai_fn/errors.py),
which the function answers in OpenAI's error shape. What a custom route needs
is here, and the built-in handlers use the same:

  call.settings       the deployment's settings (genai_fn/settings.py)
  call.json_body()    the body as a JSON object: Content-Type, size and shape checked (415/413/400)
  call.model(name)    the model that answers for `name`: alias resolved, the allow-list and the
                      client's policy applied (404 model_not_found, as OpenAI answers); logged
  call.budget         what is left of the call's `Fn-Deadline` (genai_fn/deadline.py)
  call.send(out)      an `Outbound` sent upstream, signed, with retries inside the budget
  call.openai()       the OpenAI SDK on the same signed connection, with the time left as its
                      timeout, no retries of its own, and the client's project (if it has one)
  call.project, call.compartment
                      the client's own scope when clients are kept apart (genai_fn/tenancy.py); ""
  call.client, call.policy, call.record, call.request
                      who calls under which policy, the call's log line, the request as it came

By the time a handler runs, the function has refused a client the policy
table does not list and a family the client's policy leaves out (a custom
row's family is `custom`); what the policy says about models and output
tokens applies where the handler asks (`model`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import checks, clients, errors, tenancy
from .deadline import Budget
from .http import JSON_TYPES, Request
from .logs import CallRecord
from .route import Route
from .service import Service
from .settings import Settings
from .upstream import Answer, Outbound

if TYPE_CHECKING:
    import openai


@dataclass(frozen=True)
class Call:
    """One call: its row, the request, and who is calling under which policy.

    genai_fn/dispatch.py builds it once the row is chosen and the client is resolved.
    """

    #: The table's row for the request.
    route: Route
    #: The request's path as the table writes it, ids filled in (`/v1/models/gpt-4o-mini`).
    path: str
    request: Request
    #: The container's settings and upstream client (genai_fn/service.py); handlers use the methods below.
    service: Service
    #: The call's log line (genai_fn/logs.py): set what the call learns (model, response id, output).
    record: CallRecord
    #: The client the gateway named (X-GenAI-Client, genai_fn/clients.py); "" for an anonymous row or a
    #: direct invocation (`fn invoke`), which no gateway names.
    client: str = ""
    #: That client's policy (GENAI_CLIENT_POLICIES); None: the global settings apply (no policies
    #: configured, a direct invocation, an anonymous row, or settings that failed to load).
    policy: clients.Policy | None = None

    @property
    def settings(self) -> Settings:
        """The deployment's settings; a configuration that failed to load is the 502 that names the setting."""
        return self.service.settings_or_raise()

    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object: `application/json`, within GENAI_MAX_BODY_BYTES, an object (else 415/413/400)."""
        if self.request.content_type not in JSON_TYPES:
            raise errors.unsupported_media_type(self.request.content_type, JSON_TYPES)
        return checks.json_object(self.request, self.settings)

    def model(self, requested: object) -> str:
        """The model that answers for `requested` (a model or an alias; `call.settings.default_model` for the default).

        Refused with OpenAI's 404 `model_not_found` when the deployment does not serve it or this client's
        policy leaves it out (the message lists what the client may use); 400 when it is not a non-empty string.
        The log line's `model` is set either way.
        """
        return checks.resolve_model(requested, self.settings, self.policy, self.record)

    @functools.cached_property
    def budget(self) -> Budget:
        """What is left of the call's `Fn-Deadline`, less GENAI_DEADLINE_MARGIN_MS: every upstream call fits in it."""
        return Budget.from_fn_deadline(self.request.deadline, self.settings.deadline_margin_s)

    def send(self, out: Outbound, *, portable: bool = False) -> Answer:
        """Send `out` upstream within the budget (retries as `out.retry_rule` allows); the 2xx answer or `ApiError`.

        `portable`: it stores nothing and names nothing stored, so another region may answer (genai_fn/failover.py).
        """
        return self.service.send(out, self.budget, self.record, portable=portable)

    def openai(self) -> openai.OpenAI:
        """The OpenAI SDK client on the function's signed connection, for this call: the time left as its
        timeout, `max_retries=0` (its own retries would wait past the deadline the platform enforces), and
        the client's own project when clients are kept apart (as every other route sends it)."""
        scoped = {"OpenAI-Project": self.project} if self.project else None
        return self.service.openai().with_options(
            timeout=self.budget.remaining(), max_retries=0, default_headers=scoped
        )

    @property
    def project(self) -> str:
        """The client's own project (OpenAI-Project) when clients are kept apart; "": the deployment's."""
        return self._scope[0]

    @property
    def compartment(self) -> str:
        """The client's own compartment (opc-compartment-id) when clients are kept apart; "": the deployment's."""
        return self._scope[1]

    @functools.cached_property
    def _scope(self) -> tuple[str, str]:
        return tenancy.scope(self.policy)
