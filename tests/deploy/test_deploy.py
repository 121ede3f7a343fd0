"""make deploy / destroy: each known failure stops with what to do; a re-run changes nothing.

No fn CLI and no Docker on this machine: those preflight failures are real here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any, cast

import pytest

from ops import deploy
from tests.deploy.fake_http import serve

NOT_AUTHORIZED = {"error": {"message": "refused", "code": "upstream_not_authorized"}}
SETTINGS = {
    "application_name": "genai-app",
    "fn_context": "genai-us-chicago-1",
    "functions_api_url": "https://functions.us-chicago-1.oci.oraclecloud.com",
    "compartment_ocid": "ocid1.compartment.oc1..aaaa",
    "oci_config_profile": None,
    "ocir_host": "ord.ocir.io",
    "ocir_namespace": "ns",
    "ocir_registry": "ord.ocir.io/ns/genai-abc123",
    "function_names": ["genai-responses", "genai-authorizer"],
    "gateway_url": "",
    "health_url": "",
    "default_model": "openai.gpt-oss-120b",
    "dynamic_group_name": "genai-abc123-functions",
    "genai_function_verb": "use",
    "function_statements": [
        "allow dynamic-group dg to use generative-ai-family in compartment id ocid1.compartment.oc1..aaaa",
        "allow dynamic-group dg to manage generative-ai-response in compartment id ocid1.compartment.oc1..aaaa",
    ],
}
STATEMENTS = cast(list[str], SETTINGS["function_statements"])


@pytest.fixture
def tfvars(tmp_path):
    path = tmp_path / "terraform.tfvars"
    path.write_text('region = "us-chicago-1"\nfunctions_deployed = false\n')
    return path


def _which(*present):
    return lambda tool: f"/usr/bin/{tool}" if tool in present else None


def _stop(deployer, **kwargs):
    with pytest.raises(deploy.Stop) as stop:
        deployer.deploy(**kwargs)
    return stop.value


def test_missing_tfvars(tmp_path):
    stop = _stop(deploy.Deployer(tfvars=tmp_path / "terraform.tfvars", which=_which("terraform", "fn", "docker")))
    assert "terraform.tfvars is missing" in stop.what and "terraform.tfvars.example" in stop.todo


@pytest.mark.skipif(shutil.which("fn") is not None, reason="this machine has the fn CLI")
def test_no_fn_cli_on_this_machine(tfvars):
    # The real lookup: terraform is installed here, fn is not.
    which = shutil.which if shutil.which("terraform") else _which("terraform")
    stop = _stop(deploy.Deployer(tfvars=tfvars, which=which))
    assert "fn CLI is not installed" in stop.what and "fnproject/cli" in stop.todo


def test_no_docker(tfvars):
    stop = _stop(deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn")))
    assert "docker is not installed" in stop.what


def test_docker_daemon_down_is_the_real_failure_here(tfvars):
    # `docker info` really runs: with no docker binary, or no daemon, it cannot succeed.
    def run(cmd, **kw):
        try:
            return deploy._run(cmd, **kw)
        except FileNotFoundError:
            return subprocess.CompletedProcess(cmd, 127, "", "docker: not found")

    if run(["docker", "info"], capture=True).returncode == 0:
        pytest.skip("this machine has a running Docker daemon")
    stop = _stop(deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn", "docker"), run=run))
    assert "Docker daemon does not answer" in stop.what


class FakeTools:
    """terraform, fn and docker as a recorder: every command succeeds, terraform output gives SETTINGS."""

    def __init__(self, settings):
        self.settings = settings
        self.commands: list[list[str]] = []
        self.fn_deploy_dirs: list[object] = []

    def __call__(self, cmd, *, cwd=deploy.ROOT, capture=False):
        self.commands.append(list(cmd))
        if cmd[:2] == ["fn", "deploy"]:
            self.fn_deploy_dirs.append(cwd)
        out = json.dumps(self.settings) if cmd[:3] == ["terraform", f"-chdir={deploy.TF_DIR}", "output"] else ""
        return subprocess.CompletedProcess(cmd, 0, out, "")

    def applies(self):
        return [c for c in self.commands if c[:2] == ["terraform", f"-chdir={deploy.TF_DIR}"] and c[2] == "apply"]


def _docker_config(tmp_path, monkeypatch, hosts):
    folder = tmp_path / "docker"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"auths": {h: {} for h in hosts}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))


def test_no_ocir_login(tfvars, tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_API_KEY", "k")
    _docker_config(tmp_path, monkeypatch, ["docker.io"])
    tools = FakeTools(SETTINGS)
    stop = _stop(deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn", "docker"), run=tools))
    assert "not logged in to ord.ocir.io" in stop.what
    assert "docker login ord.ocir.io -u 'ns/<your user name>'" in stop.todo
    assert not any(c[:2] == ["fn", "deploy"] for c in tools.commands)


def test_first_deploy_then_a_rerun_changes_nothing(tfvars, tmp_path, monkeypatch):
    _docker_config(tmp_path, monkeypatch, ["ord.ocir.io"])
    monkeypatch.setenv("GENAI_API_KEY", "k")
    ok = {"id": "resp_1", "object": "response"}
    with serve({("POST", "/genai/v1/responses"): (200, ok)}) as url:
        settings = {**SETTINGS, "gateway_url": url}
        first = FakeTools(settings)
        deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn", "docker"), run=first).deploy(tries=1)
        assert len(first.applies()) == 2  # phase 1, then phase 2 with the flag in tfvars
        assert "functions_deployed = true" in tfvars.read_text()
        assert "functions_deployed = false" not in tfvars.read_text()
        fn_deploys = [c for c in first.commands if c[:2] == ["fn", "deploy"]]
        assert fn_deploys == [["fn", "deploy", "--app", "genai-app", "--no-bump"]] * 2

        before = tfvars.read_text()
        again = FakeTools(settings)
        deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn", "docker"), run=again).deploy(tries=1)
        assert tfvars.read_text() == before
        # Repositories and application first (targeted), outputs refreshed, the pushes, then everything.
        applies = [c[3:] for c in again.applies()]
        assert applies == [
            ["-input=false", "-auto-approve", *(f"-target={t}" for t in deploy.BEFORE_PUSH)],
            ["-refresh-only", "-input=false", "-auto-approve"],
            ["-input=false", "-auto-approve"],
        ]
        pushed = [i for i, c in enumerate(again.commands) if c[:2] == ["fn", "deploy"]]
        applied = [i for i, c in enumerate(again.commands) if c in again.applies()]
        assert applied[1] < pushed[0] and pushed[-1] < applied[2]


def test_each_function_is_deployed_from_the_folder_its_func_yaml_names(tfvars, tmp_path, monkeypatch):
    _docker_config(tmp_path, monkeypatch, ["ord.ocir.io"])
    monkeypatch.setenv("GENAI_API_KEY", "k")
    folders = {"genai-responses": tmp_path / "main", "genai-usage-metrics": tmp_path / "metrics"}
    for name, folder in folders.items():
        folder.mkdir()
        (folder / "func.yaml").write_text(f"schema_version: 20180708\nname: {name}\nmemory: 128\n")
    monkeypatch.setattr(deploy, "FUNCTION_DIRS", tuple(folders.values()))
    monkeypatch.setattr(deploy.Deployer, "wait_for_iam", lambda *a, **k: None)
    apps = {"genai-usage-metrics": "genai-metrics-app", "genai-responses": "genai-app"}
    compartments = {
        "genai-usage-metrics": "ocid1.compartment.oc1..metrics",
        "genai-responses": "ocid1.compartment.oc1..aaaa",
    }
    tools = FakeTools(
        {**SETTINGS, "function_names": list(apps), "function_apps": apps, "function_compartments": compartments}
    )
    deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn", "docker"), run=tools).deploy(tries=1)
    assert tools.fn_deploy_dirs == [folders["genai-usage-metrics"], folders["genai-responses"]]
    # Each into its own application: the usage-metrics function is kept out of the log it reads.
    assert [c[3] for c in tools.commands if c[:2] == ["fn", "deploy"]] == ["genai-metrics-app", "genai-app"]
    # fn finds --app in the context's compartment only: each deploy runs with its application's,
    # and the context is left on the stack's compartment.
    assert _compartment_at_each_fn(tools, "deploy") == [
        ("genai-metrics-app", "ocid1.compartment.oc1..metrics"),
        ("genai-app", "ocid1.compartment.oc1..aaaa"),
    ]
    assert _context_compartments(tools)[-1] == "ocid1.compartment.oc1..aaaa"

    missing = FakeTools({**SETTINGS, "function_names": ["genai-responses", "genai-authorizer"]})
    stop = _stop(deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn", "docker"), run=missing))
    assert "genai-authorizer" in stop.what and not missing.fn_deploy_dirs


def _context_compartments(tools):
    return [c[4] for c in tools.commands if c[:4] == ["fn", "update", "context", "oracle.compartment-id"]]


def _compartment_at_each_fn(tools, verb):
    """(application, the context's compartment when fn <verb> ran) for each fn <verb>."""
    seen, current = [], None
    for c in tools.commands:
        if c[:4] == ["fn", "update", "context", "oracle.compartment-id"]:
            current = c[4]
        elif c[:2] == ["fn", verb]:
            seen.append((c[3], current))
    return seen


def test_destroy_deletes_each_function_from_its_applications_compartment(tfvars, tmp_path, monkeypatch):
    apps = {"genai-responses": "genai-app", "genai-usage-metrics": "genai-metrics-app"}
    compartments = {
        "genai-responses": "ocid1.compartment.oc1..aaaa",
        "genai-usage-metrics": "ocid1.compartment.oc1..metrics",
    }
    tools = FakeTools(
        {**SETTINGS, "function_names": list(apps), "function_apps": apps, "function_compartments": compartments}
    )
    deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn"), run=tools).destroy()
    assert _compartment_at_each_fn(tools, "delete") == [
        ("genai-app", "ocid1.compartment.oc1..aaaa"),
        ("genai-metrics-app", "ocid1.compartment.oc1..metrics"),
    ]
    # The functions go before terraform destroy, which deletes the then empty compartment.
    deleted = [i for i, c in enumerate(tools.commands) if c[:2] == ["fn", "delete"]]
    destroyed = [
        i for i, c in enumerate(tools.commands) if c[:3] == ["terraform", f"-chdir={deploy.TF_DIR}", "destroy"]
    ]
    assert deleted and destroyed and deleted[-1] < destroyed[0]
    assert _context_compartments(tools)[-1] == "ocid1.compartment.oc1..aaaa"


def test_the_project_has_a_folder_for_every_function_terraform_names():
    # The folders of this clone: the main function, the authorizer, and usage_metrics/ once it is there.
    dirs = deploy.Deployer.function_dirs(["genai-responses", "genai-authorizer"])
    assert dirs == {"genai-responses": deploy.ROOT, "genai-authorizer": deploy.ROOT / "authorizer"}


def test_flag_is_appended_when_tfvars_lacks_it(tmp_path):
    path = tmp_path / "terraform.tfvars"
    path.write_text('region = "us-chicago-1"\n')
    deployer = deploy.Deployer(tfvars=path)
    assert not deployer.tfvars_flag()
    deployer.set_tfvars_flag()
    deployer.set_tfvars_flag()
    assert deployer.tfvars_flag() and path.read_text().count("functions_deployed") == 1


def test_iam_never_propagating_fails_loudly(tfvars, tmp_path, monkeypatch):
    monkeypatch.setenv("GENAI_API_KEY", "k")
    with serve({("POST", "/genai/v1/responses"): (502, NOT_AUTHORIZED)}) as url:
        deployer = deploy.Deployer(tfvars=tfvars)
        with pytest.raises(deploy.Stop) as stop:
            deployer.wait_for_iam({**SETTINGS, "gateway_url": url}, tries=3, interval_s=0)
        assert len([s for s in cast(Any, serve).seen if s[0] == "POST"]) == 3
    assert "still refuses the function after 3 tries" in stop.value.what
    assert STATEMENTS[0] in stop.value.todo and STATEMENTS[1] in stop.value.todo


def test_a_refusal_after_iam_has_settled_names_the_missing_statements(tfvars, monkeypatch):
    # Before: a persistent 404 counted as propagation until the tries ran out, then a generic message.
    monkeypatch.setenv("GENAI_API_KEY", "k")
    with serve({("POST", "/genai/v1/responses"): (502, NOT_AUTHORIZED)}) as url:
        with pytest.raises(deploy.Stop) as stop:
            deploy.Deployer(tfvars=tfvars).wait_for_iam(
                {**SETTINGS, "gateway_url": url}, tries=40, interval_s=0, settle_s=0
            )
        assert len([s for s in cast(Any, serve).seen if s[0] == "POST"]) == 1
    assert "after IAM has had time to settle" in stop.value.what
    listed = [line.strip() for line in stop.value.todo.splitlines() if line.strip().startswith("allow ")]
    assert listed == STATEMENTS


def test_the_key_is_asked_for_before_anything_is_applied(tfvars, monkeypatch):
    # Before: GENAI_API_KEY was checked after both applies and both fn deploys.
    monkeypatch.delenv("GENAI_API_KEY", raising=False)
    tools = FakeTools(SETTINGS)
    stop = _stop(deploy.Deployer(tfvars=tfvars, which=_which("terraform", "fn", "docker"), run=tools))
    assert "GENAI_API_KEY is not set" in stop.what
    assert not any(c[0] in ("terraform", "fn") for c in tools.commands)


def test_a_non_transient_failure_stops_the_wait_at_once(tfvars, monkeypatch):
    monkeypatch.setenv("GENAI_API_KEY", "k")
    with serve({("POST", "/genai/v1/responses"): (401, {"code": 401, "message": "Unauthorized"})}) as url:
        with pytest.raises(deploy.Stop) as stop:
            deploy.Deployer(tfvars=tfvars).wait_for_iam({**SETTINGS, "gateway_url": url}, tries=5, interval_s=0)
        assert len(cast(Any, serve).seen) == 1
    assert "refused the key" in stop.value.what


def test_wait_needs_the_key(tfvars, monkeypatch):
    monkeypatch.delenv("GENAI_API_KEY", raising=False)
    with pytest.raises(deploy.Stop) as stop:
        deploy.Deployer(tfvars=tfvars).wait_for_iam(SETTINGS, tries=1, interval_s=0)
    assert "GENAI_API_KEY" in stop.value.what


@pytest.mark.skipif((deploy.TF_DIR / "terraform.tfvars").exists(), reason="a real terraform.tfvars: would deploy")
def test_main_prints_what_to_do(capsys):
    assert deploy.main(["deploy"]) == 1
    err = capsys.readouterr().err
    assert "STOPPED: terraform/terraform.tfvars is missing." in err and "What to do: cp " in err
