"""make smoke: its failure classes against a fake endpoint on 127.0.0.1, and a passing run on the local stack."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from dev.local.stack import Stack
from ops import smoke
from tests.deploy.fake_http import serve

KEY = "k-test"
PROJECT_CHICAGO = "ocid1.generativeaiproject.oc1.us-chicago-1.aaaaproject"
PROJECT_FRANKFURT = "ocid1.generativeaiproject.oc1.eu-frankfurt-1.aaaaproject"
NOT_AUTHORIZED = {
    "error": {
        "message": "OCI Generative AI refused the function's identity: 404 NotAuthorizedOrNotFound (opc-request-id X).",
        "type": "server_error",
        "param": None,
        "code": "upstream_not_authorized",
    }
}
HEALTH = {("GET", "/genai/health"): (200, {"status": "ok", "region": "us-chicago-1"})}
CREATED = {"id": "resp_1", "object": "response", "output": []}


def _create(answer):
    return {**HEALTH, ("POST", "/genai/v1/responses"): answer}


def _run(answers, **ctx):
    with serve(answers) as url:
        steps = smoke.Smoke(url, KEY, ctx=smoke.Context(**ctx)).run()
    return {s.name: s for s in steps}


def test_gateway_refusing_the_key():
    steps = _run(_create((401, {"code": 401, "message": "Unauthorized"})))
    assert steps["health"].ok
    assert steps["no_key_refused"].ok  # the same 401 answers the keyless call
    finding = steps["create"].finding
    assert finding is not None and finding.kind == "gateway_auth"
    assert "api_clients" in steps["create"].finding.fix


@pytest.mark.parametrize(
    "body",
    [
        # terraform/gateway.json's message as the whole body, or wrapped in API Gateway's own JSON: not documented.
        b"Invalid or missing API key: send Authorization: Bearer <key>",
        {"code": 401, "message": "Invalid or missing API key: send Authorization: Bearer <key>"},
    ],
)
def test_the_reshaped_gateway_401_is_still_the_gateway(body):
    steps = _run(_create((401, body)))
    assert steps["no_key_refused"].ok
    assert steps["create"].finding is not None and steps["create"].finding.kind == "gateway_auth"


def test_gateway_failing_to_run_the_authorizer():
    steps = _run(_create((500, {"code": 500, "message": "Internal Server Error"})))
    assert steps["create"].finding.kind == "authorizer"
    assert "request.principal.type = 'ApiGateway'" in steps["create"].finding.fix


def test_an_open_gateway_is_reported():
    steps = _run(_create((200, CREATED)))
    assert not steps["no_key_refused"].ok and steps["no_key_refused"].finding.kind == "gateway_open"


def test_iam_not_yet_propagated():
    steps = _run(_create((502, NOT_AUTHORIZED)), project_ocid=PROJECT_CHICAGO)
    finding = steps["create"].finding
    assert finding.kind == "iam_propagation" and finding.kind in smoke.TRANSIENT
    assert "15 minutes" in finding.fix


DG = "genai-ab12cd-functions"
COMPARTMENT = "ocid1.compartment.oc1..aaaacomp"


def test_iam_denied_prints_every_statement_the_function_needs():
    steps = _run(
        _create((502, NOT_AUTHORIZED)),
        project_ocid=PROJECT_CHICAGO,
        iam_settled=True,
        dynamic_group=DG,
        compartment=COMPARTMENT,
    )
    finding = steps["create"].finding
    assert finding.kind == "missing_statement" and finding.kind not in smoke.TRANSIENT
    # Exactly what policies/genai-function.policy and genai-responses.policy render, one per line.
    listed = [line.strip() for line in finding.fix.splitlines() if line.strip().startswith("allow ")]
    assert listed == [
        f"allow dynamic-group {DG} to use generative-ai-family in compartment id {COMPARTMENT}",
        f"allow dynamic-group {DG} to manage generative-ai-response in compartment id {COMPARTMENT}",
        f"allow dynamic-group {DG} to manage generative-ai-conversation in compartment id {COMPARTMENT}",
    ]
    assert 'genai_function_verb = "manage"' in finding.fix


def test_statements_terraform_applied_are_the_ones_printed():
    applied = ("allow dynamic-group dg to manage generative-ai-family in tenancy",)
    steps = _run(_create((502, NOT_AUTHORIZED)), iam_settled=True, statements=applied)
    listed = [line.strip() for line in steps["create"].finding.fix.splitlines() if line.strip().startswith("allow ")]
    assert listed == list(applied)


# Token limits failing closed (terraform/cache.tf): the function's answer while it cannot reach its store.
STORE_UNAVAILABLE = {
    "error": {
        "message": "The token-limit store cannot be reached; limited calls are refused until it can.",
        "type": "server_error",
        "param": None,
        "code": "limit_store_unavailable",
    }
}
LIMIT_STATEMENTS = (
    f"allow dynamic-group {DG} to use generative-ai-family in compartment id {COMPARTMENT}",
    f"allow dynamic-group {DG} to use redis-clusters in compartment id {COMPARTMENT}",
    f"allow dynamic-group {DG} to use oci-cache-users in compartment id {COMPARTMENT}",
)


def test_a_closed_limit_store_is_waited_on_while_iam_propagates():
    steps = _run(_create((502, STORE_UNAVAILABLE)), statements=LIMIT_STATEMENTS)
    finding = steps["create"].finding
    assert finding.kind == "iam_propagation" and finding.kind in smoke.TRANSIENT
    assert "token-limit store" in finding.message


def test_a_closed_limit_store_after_iam_settled_names_its_statements():
    steps = _run(_create((502, STORE_UNAVAILABLE)), iam_settled=True, statements=LIMIT_STATEMENTS)
    finding = steps["create"].finding
    assert finding.kind == "limit_store" and finding.kind not in smoke.TRANSIENT
    listed = [line.strip() for line in finding.fix.splitlines() if line.strip().startswith("allow ")]
    assert listed == list(LIMIT_STATEMENTS[1:])
    assert "terraform output limit_store" in finding.fix


def test_root_compartment_statements_say_in_tenancy():
    ctx = smoke.Context(dynamic_group=DG, compartment="ocid1.tenancy.oc1..aaaaten")
    assert all(s.endswith(" in tenancy") for s in ctx.required_statements())


def test_project_in_another_region():
    steps = _run(_create((502, NOT_AUTHORIZED)), project_ocid=PROJECT_FRANKFURT)
    finding = steps["create"].finding
    assert finding.kind == "project_region"
    assert "eu-frankfurt-1" in finding.message and "us-chicago-1" in finding.message


def test_model_not_offered_in_the_region():
    missing_model = {"error": {"message": "Model openai.gpt-9 is not available in this region.", "code": "404"}}
    steps = _run(_create((404, missing_model)))
    assert steps["create"].finding.kind == "model_region"
    assert "us-chicago-1" in steps["create"].finding.message


def test_delete_not_covered_by_the_verb():
    not_found = {"error": {"message": "No such response", "code": "response_not_found"}}
    answers = {
        **_create((200, CREATED)),
        ("GET", "/genai/v1/responses/resp_1"): (200, CREATED),
        ("DELETE", "/genai/v1/responses/resp_1"): (404, not_found),
    }
    steps = _run(answers, dynamic_group="dg", compartment="c")
    assert steps["create"].ok and steps["get"].ok
    finding = steps["delete"].finding
    assert finding.kind == "missing_statement"
    assert "allow dynamic-group dg to manage generative-ai-family in compartment id c" in finding.fix


def test_gateway_rate_limit():
    steps = _run(_create((429, {"code": 429, "message": "Too Many Requests"})))
    assert steps["create"].finding.kind == "rate_limited"


def test_health_falls_back_to_the_separate_health_deployment():
    answers = {("GET", "/genai-health/health"): (200, {"status": "ok", "region": "eu-frankfurt-1"})}
    steps = _run(answers)
    assert steps["health"].ok and "eu-frankfurt-1" in steps["health"].detail


def test_cli_exit_code_and_output(capsys):
    with serve(_create((502, NOT_AUTHORIZED))) as url:
        code = smoke.main(["--url", url, "--key", KEY, "--iam-settled", "--dynamic-group", "dg", "--compartment", "c"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[missing_statement]" in out and "allow dynamic-group dg to use generative-ai-family" in out


# --- the model: the deployment's default, from Terraform's state ---------------------------------------------


def _state(folder: Path, gateway_url: str, default_model: str) -> Path:
    """A local Terraform state holding the deploy_settings output that terraform/outputs.tf writes."""
    settings = {"gateway_url": gateway_url, "default_model": default_model}
    state = {
        "version": 4,
        "terraform_version": "1.5.0",
        "serial": 1,
        "lineage": "smoke-test",
        "outputs": {
            "deploy_settings": {
                "value": settings,
                "type": ["object", {"gateway_url": "string", "default_model": "string"}],
            }
        },
        "resources": [],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "terraform.tfstate").write_text(json.dumps(state))
    return folder


def _models_sent(argv):
    """Run the CLI against the fake endpoint: the `model` of each generation body sent, "absent" where none."""
    with serve(_create((200, CREATED))) as url:
        smoke.main(["--url", url, "--key", KEY, *argv])
        sent = [json.loads(body) for method, _, body in cast(Any, serve).bodies if method == "POST" and body]
    return [b.get("model", "absent") for b in sent if "input" in b or "messages" in b]


@pytest.mark.skipif(shutil.which("terraform") is None, reason="reads the state with terraform output")
def test_the_default_model_is_read_from_the_state_of_the_deployment_called(tmp_path):
    state = _state(tmp_path / "tf", "https://gw.example/genai", "xai.grok-4")
    assert smoke.deployment_model("https://gw.example/genai", state) == "xai.grok-4"
    assert smoke.deployment_model("https://gw.example/genai/", state) == "xai.grok-4"
    assert smoke.deployment_model("http://127.0.0.1:8080", state) is None  # make run's gateway: not this state's
    assert smoke.deployment_model("https://gw.example/genai", tmp_path / "no-state") is None


@pytest.mark.skipif(shutil.which("terraform") is None, reason="reads the state with terraform output")
def test_smoke_sends_the_model_of_the_deployment_it_calls(tmp_path, capsys):
    with serve(_create((200, CREATED))) as url:
        state = _state(tmp_path / "tf", url, "xai.grok-4")
        smoke.main(["--url", url, "--key", KEY, "--terraform-dir", str(state)])
        sent = [json.loads(body) for method, _, body in cast(Any, serve).bodies if method == "POST" and body]
    generations = [b for b in sent if "input" in b or "messages" in b]
    assert len(generations) == 4  # the keyless call, create, stream, chat completions
    assert {b["model"] for b in generations} == {"xai.grok-4"}
    assert "model xai.grok-4" in capsys.readouterr().out


def test_without_a_state_of_this_deployment_smoke_names_no_model(tmp_path, capsys):
    # No state (or terraform missing): the function's own GENAI_DEFAULT_MODEL answers.
    models = _models_sent(["--terraform-dir", str(tmp_path)])
    assert models and set(models) == {"absent"}
    assert "none named" in capsys.readouterr().out


def test_a_model_named_on_the_command_line_wins(tmp_path):
    with serve(_create((200, CREATED))) as url:
        state = _state(tmp_path / "tf", url, "xai.grok-4")
        smoke.main(["--url", url, "--key", KEY, "--terraform-dir", str(state), "--model", "openai.gpt-oss-20b"])
        sent = [json.loads(body) for method, _, body in cast(Any, serve).bodies if method == "POST" and body]
    assert {b["model"] for b in sent if "input" in b or "messages" in b} == {"openai.gpt-oss-20b"}


# --- a passing run on the local stack (make run's gateway) ----------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack(prefix="/genai", image=False, config={"GENAI_ALLOWED_MODELS": "*"}) as running:
        yield running


@pytest.mark.integration
def test_smoke_passes_on_the_local_stack(stack):
    steps = smoke.Smoke(stack.base_url, stack.api_keys.key).run()
    by_name = {s.name: s for s in steps}
    assert [s.name for s in steps] == [
        "health",
        "no_key_refused",
        "create",
        "stream",
        "get",
        "delete",
        "chat_completions",
        "conversation",
    ]
    for name, step in by_name.items():
        assert step.ok, (name, step.detail, step.finding)


@pytest.mark.integration
def test_smoke_with_a_wrong_key_on_the_local_stack(stack):
    steps = {s.name: s for s in smoke.Smoke(stack.base_url, "not-a-key").run()}
    assert steps["health"].ok and steps["no_key_refused"].ok
    finding = steps["create"].finding
    assert finding is not None and finding.kind == "gateway_auth"


@pytest.mark.integration
def test_smoke_names_the_fix_for_a_refused_model_on_the_local_stack():
    """The function refuses a model with OpenAI's 404 model_not_found: smoke still says which setting to change."""
    served = "openai.gpt-oss-120b,openai.gpt-oss-20b"
    bob = {"models": ["openai.gpt-oss-20b"]}
    with Stack(image=False, config={"GENAI_ALLOWED_MODELS": served}, api_clients={"bob": bob}) as local:
        deployment = {s.name: s for s in smoke.Smoke(local.base_url, local.api_keys.key, model="xai.grok-4").run()}
        as_bob = {s.name: s for s in smoke.Smoke(local.base_url, local.client_keys.keys["bob"]).run()}
    refused = deployment["create"].finding
    assert refused is not None and refused.kind == "model_not_allowed" and refused.status == 404
    assert "genai_allowed_models" in refused.fix and "openai.gpt-oss-20b" in refused.message
    mine = as_bob["create"].finding
    assert mine is not None and mine.kind == "model_not_allowed_for_client" and mine.status == 404
    assert "api_clients" in mine.fix
    assert mine.message.endswith("this client may use: openai.gpt-oss-20b."), "and nothing bob may not use"
