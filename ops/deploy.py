"""`make deploy` and `make destroy`: from a filled terraform.tfvars to a working endpoint.

    python -m ops.deploy deploy     first apply, fn deploy of the functions, second apply, wait for IAM
    python -m ops.deploy destroy    functions and their images, then terraform destroy

(`make stack`, the Resource Manager zip, is ops/stack.py.)

Every step prints what it does; every known failure stops with what to do. Re-running
`deploy` changes nothing once everything is up (functions_deployed stays true in
terraform.tfvars, fn deploy --no-bump rebuilds the same image).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
#: After this long a refusal is no longer propagation: policies take effect within minutes and the
#: function's resource-principal token is cached 15 minutes ("Accessing Other Oracle Cloud
#: Infrastructure Resources from Running Functions",
#: https://docs.oracle.com/en-us/iaas/Content/Functions/Tasks/functionsaccessingociresources.htm).
IAM_SETTLE_S = 17 * 60.0
TF_DIR = ROOT / "terraform"
TFVARS = TF_DIR / "terraform.tfvars"
#: Where each function's func.yaml is: fn deploy runs there, and names the function after its `name:`.
FUNCTION_DIRS = (ROOT, ROOT / "authorizer", ROOT / "usage_metrics")
#: What must exist before a function is pushed into a stack already in phase 2: its OCIR repository
#: (else fn deploy creates it in the root compartment) and its application. The apply
#: that wires it (usage_metrics.tf's connector) refuses to run before the function exists.
BEFORE_PUSH = (
    "oci_artifacts_container_repository.functions",
    "oci_functions_application.this",
    "oci_functions_application.usage_metrics",
)


class Stop(Exception):
    """A known failure: what went wrong and what to do about it."""

    def __init__(self, what: str, todo: str) -> None:
        super().__init__(what)
        self.what = what
        self.todo = todo


Runner = Callable[..., subprocess.CompletedProcess[str]]


def _run(cmd: Sequence[str], *, cwd: Path = ROOT, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), cwd=cwd, text=True, capture_output=capture, check=False)


class Deployer:
    def __init__(
        self,
        *,
        run: Runner = _run,
        which: Callable[[str], str | None] = shutil.which,
        tfvars: Path = TFVARS,
    ) -> None:
        self.run = run
        self.which = which
        self.tfvars = tfvars
        self.step_no = 0

    def step(self, title: str) -> None:
        self.step_no += 1
        print(f"\n[{self.step_no}] {title}", flush=True)

    # --- preflight -----------------------------------------------------------

    def preflight(self, *, need_fn: bool = True) -> None:
        self.step("Checking the tools and terraform/terraform.tfvars")
        if not self.tfvars.is_file():
            raise Stop(
                "terraform/terraform.tfvars is missing.",
                "cp terraform/terraform.tfvars.example terraform/terraform.tfvars, then set tenancy_ocid, region, "
                "compartment_ocid and your API client hashes (make api-key NAME=<client>).",
            )
        if not self.which("terraform"):
            raise Stop(
                "terraform is not installed.",
                "Install Terraform >= 1.5: https://developer.hashicorp.com/terraform/install",
            )
        if not need_fn:
            return
        if not self.which("fn"):
            raise Stop(
                "The fn CLI is not installed; it builds, pushes and creates the functions.",
                "Install it (https://github.com/fnproject/cli#install, e.g. "
                "curl -LSs https://raw.githubusercontent.com/fnproject/cli/master/install | sh), "
                "then run make deploy again.",
            )
        if not self.which("docker"):
            raise Stop(
                "docker is not installed; fn builds the function images with it.",
                "Install Docker (https://docs.docker.com/engine/install/) and run make deploy again.",
            )
        if self.run(["docker", "info"], capture=True).returncode != 0:
            raise Stop(
                "The Docker daemon does not answer (docker info failed).", "Start Docker and run make deploy again."
            )
        # Checked before anything is applied: the IAM wait at the very end needs it,
        # and finding out after two applies and two image builds wastes all of them.
        if not os.environ.get("GENAI_API_KEY"):
            raise Stop(
                "GENAI_API_KEY is not set: make deploy ends by calling the endpoint with it, to wait for IAM.",
                "export GENAI_API_KEY=<the key make api-key printed for one of your api_clients> "
                "(jwt mode: a valid token), then run make deploy again.",
            )

    def tfvars_flag(self) -> bool:
        match = re.search(r"^\s*functions_deployed\s*=\s*(true|false)\s*$", self.tfvars.read_text(), re.M)
        return bool(match and match.group(1) == "true")

    def set_tfvars_flag(self) -> None:
        """functions_deployed = true, kept in tfvars so a later plain apply keeps the deployment."""
        text = self.tfvars.read_text()
        line = "functions_deployed = true"
        if re.search(r"^\s*functions_deployed\s*=", text, re.M):
            text = re.sub(r"^\s*functions_deployed\s*=.*$", line, text, count=1, flags=re.M)
        else:
            text = text.rstrip("\n") + f"\n\n# Set by make deploy after fn deploy (phase 2). Keep it.\n{line}\n"
        self.tfvars.write_text(text)

    # --- terraform -----------------------------------------------------------

    def terraform(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        return self.run(["terraform", f"-chdir={TF_DIR}", *args], capture=capture)

    def apply(self, phase: str, *, targets: Sequence[str] = ()) -> None:
        self.step(f"terraform apply ({phase})")
        if not (TF_DIR / ".terraform").is_dir() and self.terraform("init", "-input=false").returncode != 0:
            raise Stop(
                "terraform init failed.", "Check network access to registry.terraform.io and the messages above."
            )
        targeted = [f"-target={t}" for t in targets]
        if self.terraform("apply", "-input=false", "-auto-approve", *targeted).returncode != 0:
            raise Stop(
                f"terraform apply ({phase}) failed.",
                "Read the error above: a precondition names the setting to fix; a 404 NotAuthorizedOrNotFound from "
                "IAM means your user lacks a permission listed in policies/README.md.",
            )

    def refresh_outputs(self) -> None:
        """Outputs from the current configuration: a targeted apply leaves them as they were."""
        if self.terraform("apply", "-refresh-only", "-input=false", "-auto-approve").returncode != 0:
            raise Stop("terraform apply -refresh-only failed.", "Read the error above.")

    def settings(self) -> dict[str, object]:
        out = self.terraform("output", "-json", "deploy_settings", capture=True)
        if out.returncode != 0:
            raise Stop("terraform output deploy_settings failed.", "Run make deploy (the first apply) first.")
        return dict(json.loads(out.stdout))

    # --- fn ------------------------------------------------------------------

    def fn_context(self, s: dict[str, object]) -> None:
        self.step(f"Pointing the fn CLI at {s['application_name']} (context {s['fn_context']})")
        ctx = str(s["fn_context"])
        self.run(["fn", "create", "context", ctx, "--provider", "oracle"], capture=True)  # exists on a re-run
        commands = [
            ["fn", "use", "context", ctx],
            ["fn", "update", "context", "oracle.compartment-id", str(s["compartment_ocid"])],
            ["fn", "update", "context", "api-url", str(s["functions_api_url"])],
            ["fn", "update", "context", "registry", str(s["ocir_registry"])],
        ]
        if s.get("oci_config_profile"):
            commands.append(["fn", "update", "context", "oracle.profile", str(s["oci_config_profile"])])
        for cmd in commands:
            if self.run(cmd).returncode != 0:
                raise Stop(f"{' '.join(cmd)} failed.", "Check the fn CLI version (fn version) and ~/.oci/config.")

    def ocir_login(self, s: dict[str, object]) -> None:
        self.step(f"Checking docker login to {s['ocir_host']}")
        config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
        try:
            auths = json.loads(config.read_text()).get("auths", {})
        except (OSError, ValueError):
            auths = {}
        if not any(str(s["ocir_host"]) in host for host in auths):
            raise Stop(
                f"Docker is not logged in to {s['ocir_host']}, where fn pushes the images.",
                f"docker login {s['ocir_host']} -u '{s['ocir_namespace']}/<your user name>' "
                "(identity-domain users: '<namespace>/<domain>/<user name>'); the password is an auth token "
                "(Console: your profile > Auth tokens). Then run make deploy again.",
            )

    @staticmethod
    def function_dirs(names: Sequence[str]) -> dict[str, Path]:
        """The folder of each function, found by the `name:` of its func.yaml (what fn deploy names it)."""
        found: dict[str, Path] = {}
        for folder in FUNCTION_DIRS:
            if not (folder / "func.yaml").is_file():
                continue
            match = re.search(r"^name:\s*(\S+)\s*$", (folder / "func.yaml").read_text(), re.M)
            if match:
                found[match.group(1)] = folder
        missing = [name for name in names if name not in found]
        if missing:
            raise Stop(
                f"No func.yaml names {', '.join(missing)}, which Terraform expects in the application.",
                "Run make deploy from an up-to-date clone (git pull): every function's folder must be there.",
            )
        return {name: found[name] for name in names}

    @staticmethod
    def app_of(s: Mapping[str, object], name: str) -> str:
        """The application a function belongs in (the usage-metrics function has its own: usage_metrics.tf)."""
        apps = cast(Mapping[str, object], s.get("function_apps") or {})
        return str(apps.get(name) or s["application_name"])

    def use_compartment_of(self, s: Mapping[str, object], name: str) -> None:
        """Point the fn context at the compartment of the function's application.

        The fn CLI finds `--app` by name in the context's oracle.compartment-id only
        (fnproject/fn_go provider/oracle/shim/apps.go, ListApplications), and the
        usage-metrics application is in a compartment of its own (usage_metrics.tf).
        """
        where = cast(Mapping[str, object], s.get("function_compartments") or {}).get(name) or s["compartment_ocid"]
        cmd = ["fn", "update", "context", "oracle.compartment-id", str(where)]
        if self.run(cmd, capture=True).returncode != 0:
            raise Stop(f"{' '.join(cmd)} failed.", "Check the fn CLI version (fn version) and ~/.oci/config.")

    def fn_deploy(self, s: dict[str, object]) -> None:
        names = [str(n) for n in cast(Sequence[object], s["function_names"])]
        for name, where in self.function_dirs(names).items():
            self.use_compartment_of(s, name)
            self.step(f"fn deploy {name} (build, push to OCIR, create or update)")
            run = self.run(["fn", "deploy", "--app", self.app_of(s, name), "--no-bump"], cwd=where, capture=True)
            sys.stdout.write(run.stdout)
            if run.returncode != 0:
                sys.stderr.write(run.stderr)
                if re.search(r"(?i)unauthorized|denied|authentication required", run.stderr + run.stdout):
                    raise Stop(
                        f"OCIR refused the push of {name}.",
                        f"docker login {s['ocir_host']} again (auth tokens expire when deleted), and check that your "
                        "user may 'manage repos' in the compartment (policies/README.md).",
                    )
                raise Stop(f"fn deploy of {name} failed.", "Read the fn output above.")
        self.use_compartment_of(s, "")  # the stack's compartment again, as fn_context set it

    # --- IAM ------------------------------------------------------------------

    def wait_for_iam(
        self, s: Mapping[str, object], *, tries: int, interval_s: float, settle_s: float = IAM_SETTLE_S
    ) -> None:
        """Call the endpoint until it works; once IAM has had settle_s, a refusal is a missing statement."""
        from ops import smoke

        self.step("Waiting for IAM (a new policy and the function's token cache take up to ~15 minutes)")
        key = os.environ.get("GENAI_API_KEY", "")
        if not key:
            raise Stop(
                "GENAI_API_KEY is not set, so the endpoint cannot be checked.",
                "export GENAI_API_KEY=<the key make api-key printed>, then: "
                f"make smoke URL={s['gateway_url']} KEY=$GENAI_API_KEY",
            )
        ctx = smoke.Context(
            region=str(s.get("genai_region") or ""),
            project_ocid=str(s.get("genai_project_ocid") or ""),
            dynamic_group=str(s.get("dynamic_group_name") or smoke.Context.dynamic_group),
            compartment=str(s.get("compartment_ocid") or smoke.Context.compartment),
            verb=str(s.get("genai_function_verb") or "use"),
            statements=tuple(str(x) for x in cast(Sequence[object], s.get("function_statements") or ())),
        )
        started = time.monotonic()
        finding = None
        for attempt in range(1, tries + 1):
            # Until then a refusal is propagation (the function's token is cached
            # 15 minutes); after it, the same refusal means a statement is missing.
            ctx.iam_settled = time.monotonic() - started >= settle_s
            finding = smoke.probe(str(s["gateway_url"]), key, model=str(s["default_model"]), ctx=ctx)
            if finding is None:
                print("    ready: a Responses call through the gateway succeeded")
                return
            print(f"    {attempt}/{tries}: {finding.kind}: {finding.message}")
            if finding.kind not in smoke.TRANSIENT:
                raise Stop(finding.message, finding.fix)
            if attempt < tries:
                time.sleep(interval_s)
        statements = "".join(f"\n  {line}" for line in ctx.required_statements())
        raise Stop(
            f"IAM still refuses the function after {tries} tries.",
            "Check that these statements are in ACTIVE policies and the dynamic group matches the function, then "
            f"make smoke URL={s['gateway_url']} KEY=$GENAI_API_KEY ARGS=--iam-settled:{statements}",
        )

    # --- the commands -----------------------------------------------------------

    def deploy(self, *, tries: int = 40, interval_s: float = 30.0) -> None:
        self.preflight()
        phase2_done = self.tfvars_flag()
        if phase2_done:
            # A function added since the last deploy (usage_metrics/) is pushed between these two applies.
            self.apply("functions_deployed = true: repositories and application first", targets=BEFORE_PUSH)
            self.refresh_outputs()
        else:
            self.apply("phase 1: everything but the API")
        s = self.settings()
        self.fn_context(s)
        self.ocir_login(s)
        self.fn_deploy(s)
        if not phase2_done:
            self.step("Setting functions_deployed = true in terraform/terraform.tfvars")
            self.set_tfvars_flag()
        self.apply(
            "functions_deployed = true: everything"
            if phase2_done
            else "phase 2: API deployment, usage plans, token-metrics connector, IAM narrowed to the functions"
        )
        s = self.settings()
        self.wait_for_iam(s, tries=tries, interval_s=interval_s)
        print(f"\nDone. OpenAI base_url: {s['gateway_url']}/v1   health: {s['health_url']}")

    def destroy(self) -> None:
        self.preflight(need_fn=False)
        s = self.settings()
        if self.which("fn"):
            for name in list(s["function_names"]):  # type: ignore[call-overload]
                self.step(f"Deleting function {name} (Terraform did not create it: fn deploy did)")
                self.use_compartment_of(s, str(name))
                self.run(["fn", "delete", "function", self.app_of(s, str(name)), str(name)])
            self.use_compartment_of(s, "")
        else:
            print("fn is not installed: delete the functions in the Console (Functions > Applications) first.")
        self.step("Deleting the images in the OCIR repositories")
        if self.which("oci"):
            out = self.terraform("output", "-json", "ocir_repositories", capture=True)
            for path in json.loads(out.stdout or "{}").values():
                repo = str(path).split("/", 2)[-1]
                print(f"    {repo}")
                listed = self.run(
                    [
                        "oci",
                        "artifacts",
                        "container",
                        "image",
                        "list",
                        "--compartment-id",
                        str(s["compartment_ocid"]),
                        "--repository-name",
                        repo,
                        "--all",
                        "--query",
                        "data.items[].id",
                        "--raw-output",
                    ],
                    capture=True,
                )
                for image in json.loads(listed.stdout or "[]") or []:
                    self.run(["oci", "artifacts", "container", "image", "delete", "--image-id", image, "--force"])
        else:
            print("    the oci CLI is not installed: terraform destroy deletes the repositories, images included.")
        self.step("terraform destroy")
        if self.terraform("destroy", "-input=false", "-auto-approve").returncode != 0:
            raise Stop(
                "terraform destroy failed.", "Read the error above; a function left in the application blocks it."
            )
        if self.tfvars.is_file() and self.tfvars_flag():
            text = re.sub(
                r"^\s*functions_deployed\s*=.*$", "functions_deployed = false", self.tfvars.read_text(), flags=re.M
            )
            self.tfvars.write_text(text)
        print("\nDestroyed.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["deploy", "destroy"])
    parser.add_argument("--tries", type=int, default=40, help="IAM wait: requests before giving up (deploy)")
    parser.add_argument("--interval", type=float, default=30.0, help="IAM wait: seconds between requests (deploy)")
    args = parser.parse_args(argv)
    deployer = Deployer()
    try:
        if args.command == "deploy":
            deployer.deploy(tries=args.tries, interval_s=args.interval)
        else:
            deployer.destroy()
    except Stop as stop:
        print(f"\nSTOPPED: {stop.what}\nWhat to do: {stop.todo}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
