"""`make smoke URL=… KEY=…`: call a deployed endpoint the way clients do, and say what is wrong.

    python -m ops.smoke --url https://<gateway host>/genai --key <API key> [--model …]
                        [--iam-settled] [--project-ocid …] [--dynamic-group … --compartment …]

URL is the deployment's base (what `terraform -chdir=terraform output -raw
gateway_url` prints, or `make run`'s gateway). Steps: /health (anonymous), a call
without a key (must be refused), Responses create, stream, get and delete,
Chat Completions, and a conversation (create, get, delete).

The model is the deployment's default (GENAI_DEFAULT_MODEL) unless --model
names one: `default_model` of `terraform output deploy_settings` when that
state is the deployment at URL (what make deploy reads too), and otherwise
none at all, so that the function answers with its own default (make run's
gateway, a stack applied elsewhere).

Each failure is classified from who answered and how:
  * API Gateway's own refusals are `{"code": 429, "message": …}` and so on; its 401
    (https://docs.oracle.com/iaas/Content/APIGateway/Tasks/apigatewayusingauthorizerfunction.htm:
    an authorizer answering `active: false` makes the gateway answer 401) carries the
    message of terraform/gateway.json (validation_failure_policy), in a body whose
    exact form is not documented: any 401 that is not OpenAI-shaped is the gateway's;
  * the function's are OpenAI-shaped `{"error": {"code": …}}` (genai_fn/errors.py):
    `upstream_not_authorized` is OCI's 401/404 NotAuthorizedOrNotFound for the
    function's resource principal: IAM still propagating (up to ~15 minutes,
    the resource-principal token cache), a statement missing, or the project
    in another region than the endpoint the function calls.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TF_DIR = Path(__file__).resolve().parents[1] / "terraform"

#: Kinds worth waiting on (make deploy's IAM wait retries these, and only these).
TRANSIENT = frozenset({"iam_propagation"})
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    fix: str
    status: int = 0


@dataclass
class Context:
    """What the classifier knows about the deployment (all optional)."""

    region: str = ""
    project_ocid: str = ""
    dynamic_group: str = "<dynamic group of the function>"
    compartment: str = "<compartment OCID>"
    verb: str = "use"
    iam_settled: bool = False
    #: The function's statements as Terraform applied them (deploy_settings.function_statements);
    #: empty: the ones the default policies/ files render for dynamic_group and compartment.
    statements: tuple[str, ...] = ()

    @property
    def scope(self) -> str:
        # The root compartment is named "tenancy" in a statement (terraform/iam.tf, local.compartment_scope).
        return "tenancy" if self.compartment.startswith("ocid1.tenancy.") else f"compartment id {self.compartment}"

    def statement(self, verb: str | None = None) -> str:
        return f"allow dynamic-group {self.dynamic_group} to {verb or self.verb} generative-ai-family in {self.scope}"

    def required_statements(self) -> list[str]:
        """Every statement the function needs for Responses and Conversations, exactly as policies/ renders them.

        policies/genai-function.policy (the family, at the chosen verb) and
        policies/genai-responses.policy (manage on the response and conversation types).
        """
        if self.statements:
            return list(self.statements)
        return [
            self.statement(),
            *(
                f"allow dynamic-group {self.dynamic_group} to manage generative-ai-{kind} in {self.scope}"
                for kind in ("response", "conversation")
            ),
        ]


@dataclass
class Step:
    name: str
    ok: bool
    detail: str = ""
    finding: Finding | None = None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _region_of(ocid: str) -> str:
    """ocid1.<type>.<realm>.<region>.<id>: the region part, if the OCID has one."""
    parts = ocid.split(".")
    return parts[3] if len(parts) >= 5 and parts[3] else ""


def classify(step: str, status: int, body: bytes, ctx: Context) -> Finding | None:
    """None for a success; otherwise what failed, why, and what to do."""
    if 200 <= status < 300:
        return None
    data = _json(body)
    error = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else None
    # The gateway's 401 is its validation_failure_policy's message (terraform/gateway.json), in whatever body
    # API Gateway makes of it: anything but the function's OpenAI shape.
    gateway = (isinstance(data, dict) and "code" in data and "error" not in data) or (status == 401 and error is None)
    code = str(error.get("code") or "") if error else ""
    message = (
        str(error.get("message") or "") if error else str(data.get("message", "")) if isinstance(data, dict) else ""
    )

    if gateway:
        if status == 401:
            return Finding(
                "gateway_auth",
                "API Gateway refused the key (401 from the gateway, before the function).",
                "Check KEY is the key `make api-key` printed and its hash line is in api_clients or api_key_hashes, "
                "applied. A removed key keeps working for authorizer_cache_seconds; a new one needs the apply.",
                status,
            )
        if status == 429:
            return Finding(
                "rate_limited",
                "API Gateway rate-limited the call (usage plan or deployment limit).",
                "Raise the client's rate_limit_per_second/quota in api_clients, or rate_limit_per_second.",
                status,
            )
        if status == 404:
            return Finding(
                "route_missing",
                f"The gateway has no route for the {step} call.",
                "Apply the current terraform/ (routes.json lists every route the function serves).",
                status,
            )
        if status >= 500:
            return Finding(
                "authorizer" if step != "health" else "gateway_functions",
                f"API Gateway could not run {'the authorizer' if step != 'health' else 'the function'} ({status}).",
                "Check that policies/api-gateway.policy is applied (allow any-user to use functions-family in "
                "compartment id <c> where ALL {request.principal.type = 'ApiGateway', ...}) and the functions are "
                "ACTIVE; then the authorizer's invoke log (API_KEY_HASHES misconfigured answers 5xx).",
                status,
            )
    if code == "upstream_not_authorized":
        project_region = _region_of(ctx.project_ocid)
        if project_region and ctx.region and project_region != ctx.region:
            return Finding(
                "project_region",
                f"The project {ctx.project_ocid} is in {project_region}, the function calls {ctx.region}.",
                "Recreate the project in the function's Generative AI region: terraform apply with the current "
                "terraform/ (genai.tf creates it with the genai provider, in genai_region).",
                status,
            )
        if ctx.iam_settled:
            listed = "".join(f"\n          {line}" for line in ctx.required_statements())
            return Finding(
                "missing_statement",
                f"OCI Generative AI still refuses the function's identity for {step}, after IAM has had time "
                "to settle (15 minutes: the function's token cache): a statement is missing or not in effect.",
                "Check that each of these statements is in an ACTIVE policy (Console: Identity > Policies, "
                "compartment of the stack; terraform apply creates them from policies/) and that the dynamic "
                f"group {ctx.dynamic_group} matches the function:{listed}\n"
                '        If all are there, set genai_function_verb = "manage" (what Oracle\'s QuickStart grants) '
                "and apply (policies/README.md).",
                status,
            )
        return Finding(
            "iam_propagation",
            "OCI Generative AI refuses the function's identity: IAM is probably still propagating.",
            "Wait up to 15 minutes after the last policy change (the function's token is cached that long) and "
            "run again with --iam-settled; if it persists, one of these is missing: "
            + "; ".join(ctx.required_statements()),
            status,
        )
    if code == "limit_store_unavailable":
        # Token limits with limit_failure_mode = closed (terraform/cache.tf): the function refuses a limited
        # call while it cannot reach its OCI Cache store, which it signs in to with an IAM token that its
        # own statements (policies/limit-store.policy) allow: as new as the rest, so also propagating.
        if ctx.iam_settled:
            wanted = [s for s in ctx.required_statements() if "redis-clusters" in s or "oci-cache-users" in s]
            listed = "".join(f"\n          {line}" for line in wanted) or " those of policies/limit-store.policy"
            return Finding(
                "limit_store",
                f"The function still cannot reach its token-limit store for {step} after IAM has had time to "
                "settle, and limit_failure_mode = closed refuses limited calls meanwhile.",
                "Check that the cluster of `terraform output limit_store` is ACTIVE with its user attached, that "
                f"these statements are in an ACTIVE policy:{listed}\n"
                "        and read the function's invoke log for the store's error. "
                'limit_failure_mode = "open" serves calls (uncounted, alarmed) while the store is down.',
                status,
            )
        return Finding(
            "iam_propagation",
            "The function cannot reach its token-limit store yet (OCI Cache, signed in with an IAM token): its "
            "statements are probably still propagating.",
            "Wait up to 15 minutes after the last policy change (the function's token is cached that long) and "
            "run again with --iam-settled.",
            status,
        )
    if step == "delete" and code == "response_not_found":
        return Finding(
            "missing_statement",
            "The response just created cannot be deleted: the function's statement does not cover delete.",
            f'Set genai_function_verb = "manage" (or add: {ctx.statement("manage")}) and apply.',
            status,
        )
    if status == 404 and code == "model_not_found":
        # The function's own refusal (genai_fn/errors.py model_not_found): OCI's unknown model is a 400 and passes
        # on as it came, so a 404 with this code is this deployment's allow-list or this client's policy.
        if "this client may use" in message:
            return Finding(
                "model_not_allowed_for_client",
                message,
                "Run smoke with a model this key's client may use (ARGS=--model <name>), or add the model to the "
                "client's `models` in api_clients (or jwt_clients) and apply.",
                status,
            )
        return Finding(
            "model_not_allowed",
            message,
            "Add the model to genai_allowed_models (or map it with genai_model_aliases) and apply, or run smoke "
            "with a model the deployment serves (ARGS=--model <name>).",
            status,
        )
    low = message.lower()
    if (
        status in (400, 404)
        and "model" in low
        and any(w in low for w in ("not found", "not available", "not supported", "unknown", "does not exist"))
    ):
        return Finding(
            "model_region",
            f"The model is not offered where the function calls ({ctx.region or 'its region'}): {message}",
            "Pick a model Oracle lists for that region (Pretrained Foundational Models by region), or set "
            "genai_region to a region that offers it, and apply.",
            status,
        )
    if code in ("unknown_route", "method_not_allowed"):
        return Finding(
            "route_missing",
            f"The function does not serve the {step} call: {message}",
            "Deploy the current function (make deploy runs fn deploy).",
            status,
        )
    return Finding(
        "error", f"{step} failed with {status}: {message or body[:300]!r}", "See the function's logs.", status
    )


def deployment_model(url: str, terraform_dir: Path = TF_DIR) -> str | None:
    """The default model of the deployment at `url` as Terraform applied it, or None when this state is not it.

    `deploy_settings.default_model` is the value terraform/functions.tf gives the function as
    GENAI_DEFAULT_MODEL; the state's `gateway_url` must be `url`, so that smoke against `make run`'s gateway,
    or another deployment, never borrows this one's model.
    """
    command = ["terraform", f"-chdir={terraform_dir}", "output", "-json", "deploy_settings"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        settings = json.loads(run.stdout) if run.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None  # no terraform, or no state here: the function's own default applies
    if not isinstance(settings, dict) or str(settings.get("gateway_url", "")).rstrip("/") != url.rstrip("/"):
        return None
    model = settings.get("default_model")
    return model if isinstance(model, str) and model else None


@dataclass
class Smoke:
    url: str
    key: str
    #: None: the requests name no model and the function answers with its GENAI_DEFAULT_MODEL.
    model: str | None = None
    ctx: Context = field(default_factory=Context)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=TIMEOUT))

    def _model(self) -> dict[str, str]:
        return {"model": self.model} if self.model else {}

    def _call(self, method: str, path: str, *, auth: bool = True, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"} if auth else {}
        return self.client.request(method, self.url.rstrip("/") + path, headers=headers, json=body)

    def _step(self, name: str, answer: httpx.Response) -> Step:
        finding = classify(name, answer.status_code, answer.content, self.ctx)
        return Step(name, finding is None, f"HTTP {answer.status_code}", finding)

    def health(self) -> Step:
        answer = self.client.get(self.url.rstrip("/") + "/health")
        if answer.status_code == 404 and isinstance(_json(answer.content), dict) and "code" in answer.json():
            # The Terraform serves /health from its own deployment at <prefix>-health.
            answer = self.client.get(self.url.rstrip("/") + "-health/health")
        step = self._step("health", answer)
        if step.ok:
            data = _json(answer.content) or {}
            self.ctx.region = self.ctx.region or str(data.get("region") or "")
            step.detail += f", region {self.ctx.region or '?'}"
        return step

    def refuses_without_key(self) -> Step:
        answer = self._call("POST", "/v1/responses", auth=False, body={**self._model(), "input": "ping"})
        data = _json(answer.content)
        if answer.status_code == 401 and not (isinstance(data, dict) and "error" in data):
            return Step("no_key_refused", True, "HTTP 401 from the gateway")
        return Step(
            "no_key_refused",
            False,
            f"HTTP {answer.status_code}",
            Finding(
                "gateway_open",
                "A call without a key was not refused by the gateway.",
                "The deployment must authenticate every route but /health: apply the current terraform/.",
                answer.status_code,
            ),
        )

    def run(self, on_step: Callable[[Step], None] = lambda s: None) -> list[Step]:
        steps: list[Step] = []

        def record(step: Step) -> Step:
            steps.append(step)
            on_step(step)
            return step

        record(self.health())
        record(self.refuses_without_key())
        created = self._call(
            "POST",
            "/v1/responses",
            body={**self._model(), "input": "Say OK.", "store": True, "max_output_tokens": 32},
        )
        create = record(self._step("create", created))
        stream = self._call("POST", "/v1/responses", body={**self._model(), "input": "Say OK.", "stream": True})
        step = self._step("stream", stream)
        if step.ok and b"response.completed" not in stream.content:
            step = Step(
                "stream",
                False,
                "no response.completed event",
                Finding("error", "The stream did not complete.", "See the function's logs."),
            )
        record(step)
        response_id = str((_json(created.content) or {}).get("id", "")) if create.ok else ""
        if response_id:
            record(self._step("get", self._call("GET", f"/v1/responses/{response_id}")))
            record(self._step("delete", self._call("DELETE", f"/v1/responses/{response_id}")))
        else:
            for name in ("get", "delete"):
                record(
                    Step(
                        name,
                        False,
                        "skipped: create failed",
                        Finding("skipped", "Needs a created response.", "Fix create first."),
                    )
                )
        chat = self._call(
            "POST",
            "/v1/chat/completions",
            body={**self._model(), "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 32},
        )
        record(self._step("chat_completions", chat))
        conversation = self._call("POST", "/v1/conversations", body={"metadata": {"smoke": "1"}})
        conv = self._step("conversation", conversation)
        conv_id = str((_json(conversation.content) or {}).get("id", "")) if conv.ok else ""
        if conv_id:
            for method in ("GET", "DELETE"):
                answer = self._call(method, f"/v1/conversations/{conv_id}")
                if not 200 <= answer.status_code < 300:
                    conv = self._step("conversation", answer)
                    break
        record(conv)
        return steps


def probe(url: str, key: str, *, model: str, ctx: Context | None = None) -> Finding | None:
    """One Responses call: None when it works (make deploy's IAM wait)."""
    smoke = Smoke(url, key, model=model, ctx=ctx or Context())
    try:
        return smoke._step(
            "create", smoke._call("POST", "/v1/responses", body={"model": model, "input": "ping"})
        ).finding
    except httpx.HTTPError as exc:
        return Finding("unreachable", f"{url}: {exc}", "Check the URL and that the deployment exists.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="deployment base URL (gateway_url output, or make run's gateway)")
    parser.add_argument("--key", required=True, help="a client API key")
    parser.add_argument(
        "--model", default=None, help="default: the deployment's GENAI_DEFAULT_MODEL (terraform output deploy_settings)"
    )
    parser.add_argument("--terraform-dir", type=Path, default=TF_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--iam-settled", action="store_true", help="IAM changed more than 15 minutes ago")
    parser.add_argument(
        "--project-ocid", default="", help="genai_project_ocid output: detects a project in another region"
    )
    parser.add_argument("--dynamic-group", default=Context.dynamic_group)
    parser.add_argument("--compartment", default=Context.compartment)
    parser.add_argument("--verb", default="use")
    args = parser.parse_args(argv)
    ctx = Context(
        project_ocid=args.project_ocid,
        dynamic_group=args.dynamic_group,
        compartment=args.compartment,
        verb=args.verb,
        iam_settled=args.iam_settled,
    )

    def show(step: Step) -> None:
        if step.ok:
            print(f"  ok    {step.name:<17} {step.detail}")
        else:
            assert step.finding is not None
            print(f"  FAIL  {step.name:<17} {step.detail}  [{step.finding.kind}] {step.finding.message}")
            print(f"        what to do: {step.finding.fix}")

    model = args.model or deployment_model(args.url, args.terraform_dir)
    print(f"Smoke test of {args.url}")
    print(f"  model {model or 'none named: the deployment answers with its GENAI_DEFAULT_MODEL'}")
    try:
        steps = Smoke(args.url, args.key, model=model, ctx=ctx).run(show)
    except httpx.HTTPError as exc:
        print(f"  FAIL  cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2
    failed = [s for s in steps if not s.ok]
    print(f"{len(steps) - len(failed)}/{len(steps)} steps passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
