"""What a first deploy in a real tenancy trips over and no local check used to see (issue 13).

Each test fails on the Terraform as it was before the fix; the Oracle page or
provider source behind each decision is cited next to the code it checks.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import textwrap

from tests.terraform.test_terraform_structure import (
    DOCS,
    TF,
    locals_map,
    one_block,
    resources,
    variables,
)

ROOT = TF.parent
LOCALS = locals_map()
OUTPUTS = {name: body for doc in DOCS.values() for entry in doc.get("output", []) for name, body in entry.items()}


def _unquote(text: str) -> str:
    return text[1:-1] if text[:1] == text[-1:] == '"' else text


def render(output: str, values: dict[str, str]) -> str:
    """A heredoc output as Terraform prints it, with the given values for ${...}."""
    raw = OUTPUTS[output]["value"]
    body = re.fullmatch(r'"?<<-EOT\n(.*)\n\s*EOT"?', raw, re.S)
    assert body, f"{output} is not a heredoc"
    text = textwrap.dedent(body.group(1))

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"{output} uses ${{{name}}}: give the test a value"
        return values[name]

    return re.sub(r"\$\{([a-z_.]+)\}", value, text).replace("%%{", "%{") + "\n"


# --- the Generative AI project lives where the function calls it -------------------


def test_project_is_created_in_the_region_the_function_calls():
    ((_, project),) = resources("oci_generative_ai_project")
    assert project["provider"] == "${oci.genai}"
    providers = {p["oci"].get("alias"): p["oci"] for p in DOCS["providers.tf"]["provider"]}
    assert providers["genai"]["region"] == "${local.genai_region}"
    assert LOCALS["genai_region"] == "${coalesce(var.genai_region, var.region)}"
    assert LOCALS["function_config"]["GENAI_REGION"] == "${local.genai_region}"


# --- plan-time failures stop the plan -------------------------------------------


def test_no_check_blocks_only_preconditions():
    # Terraform: a failed check block is a warning and the apply goes on.
    assert not any(doc.get("check") for doc in DOCS.values())
    ((_, app),) = resources("oci_functions_application")
    conditions = [c["condition"] for c in one_block(app, "lifecycle")["precondition"]]
    assert any("var.existing_function_subnet_ocid != null" in c for c in conditions)
    assert any("length(jsonencode(local.app_config)) < 4096" in c for c in conditions)


# --- names and tokens unique per stack -------------------------------------------


def test_tenancy_unique_names_carry_the_stack_id():
    stack_id = LOCALS["stack_id"]
    for part in ("var.compartment_ocid", "var.region", "var.name"):
        assert part in stack_id, f"stack_id must differ when {part} does"
    assert LOCALS["iam_prefix"] == "${var.name}-${local.stack_id}"
    assert LOCALS["dynamic_group_name"] == "${local.iam_prefix}-functions"
    for name, body in resources("oci_identity_policy"):
        assert body["name"].startswith("${local.iam_prefix}-"), name
    assert LOCALS["ocir_prefix"] == '${coalesce(var.ocir_repository_prefix, "${var.name}-${local.stack_id}")}'
    assert variables()["ocir_repository_prefix"]["default"] is None


def test_usage_plan_tokens_are_the_authorizer_answer_and_unique_per_stack():
    assert LOCALS["client_tokens"] == '${{for name in keys(local.api_clients) : name => "${local.stack_id}.${name}"}}'
    ((_, sub),) = resources("oci_apigateway_subscriber")
    assert one_block(sub, "clients")["token"] == "${local.client_tokens[each.key]}"
    # The authorizer answers with the client name it finds in API_KEY_HASHES: the same token.
    assert "${local.client_tokens[name]}:${h}" in LOCALS["authorizer_config"]
    # keys.py accepts names of 63 characters: the 7-character prefix leaves 56 for the client.
    assert "{0,55}" in str(variables()["api_clients"]["validation"])
    assert "{0,55}" in str(variables()["api_key_hashes"]["validation"])


# --- what the outputs tell the user -----------------------------------------------


def test_outputs_never_say_var_functions_deployed_and_always_chdir():
    for name, body in OUTPUTS.items():
        text = str(body["value"])
        assert "-var functions_deployed" not in text, name
        for use in re.findall(r"terraform[^\n\"]*? output", text):
            assert "-chdir=terraform" in use or "local.tf_output" in use, f"{name}: {use}"
    assert LOCALS["tf_output"] == "terraform -chdir=terraform output -raw"
    assert "functions_deployed = true in terraform/terraform.tfvars" in OUTPUTS["next_step"]["value"]


def _sample(extra: dict[str, str] | None = None) -> dict[str, str]:
    values = {
        "local.at_repo_root": _unquote(LOCALS["at_repo_root"]),
        "local.fn_context": "genai-us-chicago-1",
        "local.fn_profile": "",
        "var.compartment_ocid": "ocid1.compartment.oc1..aaaa",
        "local.functions_api": "https://functions.us-chicago-1.oci.oraclecloud.com",
        "local.ocir_registry": "ord.ocir.io/ns/genai-abc123",
        "local.ocir_host": "ord.ocir.io",
        "local.ocir_namespace": "ns",
        "local.application_name": "genai-app",
        "local.deploy_authz": "",
        "local.gateway_url": "https://gw.example/genai",
        "local.auth_header": "Authorization: Bearer k",
        "var.genai_default_model": "openai.gpt-oss-120b",
    }
    return {**values, **(extra or {})}


def test_fn_setup_refuses_to_run_outside_the_repository_root(tmp_path):
    guard = render("fn_setup_and_deploy", _sample()).splitlines()[0]
    outside = subprocess.run(["bash", "-c", guard], cwd=tmp_path, capture_output=True, text=True)
    assert outside.returncode == 1 and "repository root" in outside.stderr
    inside = subprocess.run(["bash", "-c", guard], cwd=ROOT, capture_output=True, text=True)
    assert inside.returncode == 0, inside.stderr
    assert "fn deploy --app genai-app --no-bump" in render("fn_setup_and_deploy", _sample())


def _fake_tools(tmp_path: pathlib.Path, http_code: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(f"#!/bin/sh\nprintf {http_code}\n")
    (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_wait_for_iam_fails_loudly_when_iam_never_allows(tmp_path):
    script = render("wait_for_iam", _sample())
    run = subprocess.run(["bash", "-c", script], env=_fake_tools(tmp_path, "502"), capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stdout.count("HTTP 502") == 40 and "ready" not in run.stdout
    assert "IAM still refuses after 40 tries" in run.stderr and "make smoke" in run.stderr


def test_wait_for_iam_succeeds_when_the_call_does(tmp_path):
    script = render("wait_for_iam", _sample())
    run = subprocess.run(["bash", "-c", script], env=_fake_tools(tmp_path, "200"), capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ready"


# --- smaller items ----------------------------------------------------------------


def test_functions_service_statements_are_on_by_default():
    # Oracle's Functions set-up lists them (policies/functions-service.policy).
    assert variables()["grant_functions_service_access"]["default"] is True


def test_ocir_host_follows_the_realm():
    host = LOCALS["ocir_host"]
    assert 'var.realm_domain == "oraclecloud.com"' in host
    assert "artifacts.${var.region}.oci.${var.realm_domain}" in host
    assert "local.ocir_host" in LOCALS["ocir_registry"]
    assert not any(".ocir.io" in str(b["value"]) for b in OUTPUTS.values())

