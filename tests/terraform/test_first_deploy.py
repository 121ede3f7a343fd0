"""The shell the outputs hand to users, run for real: what terraform test cannot execute.

The rest of what a first deploy trips over (project region, stack-unique
names, plan-time preconditions) is run by Terraform in terraform/tests/.
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
        "local.deploy_usage": "",
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
