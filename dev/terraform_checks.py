"""`make terraform-run`: the Terraform configuration run by Terraform itself, with the real OCI provider.

    python -m dev.terraform_checks

For terraform/ and for the Resource Manager zip (ops/stack.py) unpacked in a
temporary folder, so its layout and templatefile() paths are proven from the zip
root: `terraform init -backend=false`, `terraform validate`, and `terraform test`
(terraform/tests/*.tftest.hcl: plan and apply runs against a mocked provider, no
credentials, no network). Prints how many run blocks passed and how long it took.

`terraform test` starts the provider afresh for every run block, and the
provider's start-up (the schema of every OCI resource) is most of what the runs
cost: each terraform process here is given one provider process, started once,
that all its run blocks reattach to (`reattached_provider`). The files are split
across TERRAFORM_TEST_JOBS processes (3 by default), each in its own copy,
balanced by their run blocks, and the zip's runs go beside them.

Where the provider comes from, first that works:

1. ``../shared/terraform-provider/mirror.sh`` beside the clone (a build of the
   provider for machines without the registry): unpacked into a cache folder,
   never into ../shared, which may be read-only;
2. the Terraform registry, as `terraform init` always does.

Each run works in a temporary copy, so no ``.terraform/`` or
``.terraform.lock.hcl`` (whose checksums depend on where the provider came from)
lands in terraform/. Where there is no terraform, or neither source gives a
provider, one line says so and nothing is claimed; TERRAFORM_CHECKS_REQUIRED=1
(CI) turns that line into a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TF_DIR = ROOT / "terraform"
#: The runs the stack zip gets: its own layout is what the phase runs exercise.
ZIP_RUNS = TF_DIR / "tests" / "phases.tftest.hcl"
#: TERRAFORM_PROVIDER_MIRROR names another mirror.sh (a worktree elsewhere than the clone).
SHARED_MIRROR = ROOT.parent / "shared" / "terraform-provider" / "mirror.sh"
MIRROR_SCRIPT = Path(os.environ.get("TERRAFORM_PROVIDER_MIRROR") or SHARED_MIRROR)
#: Outside the clone: the unpacked provider (275 MB) is shared by every clone and worktree.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genai-fn-terraform"
#: A run block's first line in a .tftest.hcl file.
RUN_BLOCK = re.compile(r'^run "', re.M)
#: What `terraform test` prints last, e.g. "Success! 41 passed, 0 failed." (Terraform 1.6+).
SUMMARY = re.compile(r"(\d+) passed, (\d+) failed")
#: Terraform's plugin handshake, which a provider process checks before it serves (hashicorp/terraform,
#: internal/plugin/serve.go; hashicorp/terraform-plugin-go's cmd/terraform-provider-primes/README.md starts
#: a provider for TF_REATTACH_PROVIDERS with the same value).
MAGIC_COOKIE = {"TF_PLUGIN_MAGIC_COOKIE": "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"}
#: How long a provider process may take to print its handshake line.
PROVIDER_START_S = 120.0
#: What init prints when the registry cannot be reached (no network, proxy, DNS).
UNREACHABLE = ("Failed to query available provider packages", "could not connect", "no such host", "i/o timeout")


class Unavailable(Exception):
    """No terraform, or no way to get the provider: said in one line, never a silent pass."""


def _skip_or_fail(why: str) -> int:
    required = os.environ.get("TERRAFORM_CHECKS_REQUIRED") == "1"
    print(f"terraform-run: {'FAILED' if required else 'SKIPPED'}: {why}", flush=True)
    return 1 if required else 0


def provider_env() -> tuple[dict[str, str], str]:
    """Environment for terraform, and where the provider comes from (for the log)."""
    env = dict(os.environ)
    env["TF_IN_AUTOMATION"] = "1"
    # terraform and the provider are Go programs, and `terraform test` starts the provider afresh for each run
    # block, whose start-up builds its whole schema: with the collector off until a process holds 512 MiB, those
    # short-lived processes spend far less CPU collecting garbage they would free on exit anyway
    # (https://pkg.go.dev/runtime#hdr-Environment_Variables: GOGC, GOMEMLIMIT). A caller's own settings win.
    env.setdefault("GOGC", "off")
    env.setdefault("GOMEMLIMIT", "512MiB")
    env.pop("TF_CLI_ARGS", None)
    if MIRROR_SCRIPT.is_file():
        mirror = CACHE / "mirror"
        done = subprocess.run(["bash", str(MIRROR_SCRIPT), str(mirror)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Unavailable(f"{MIRROR_SCRIPT} failed: {done.stderr.strip() or done.stdout.strip()}")
        env["TF_CLI_CONFIG_FILE"] = str(mirror / "terraformrc")
        return env, f"offline mirror of {MIRROR_SCRIPT.parent}"
    # The registry: a config file named in the environment but absent is the
    # user's business; a plugin cache spares a 300 MB download per copy.
    (CACHE / "plugins").mkdir(parents=True, exist_ok=True)
    env.setdefault("TF_PLUGIN_CACHE_DIR", str(CACHE / "plugins"))
    return env, "the Terraform registry"


def copy_config(dest: Path) -> Path:
    """terraform/ and policies/ as they sit in the repository, without local state or tfvars."""
    ignore = shutil.ignore_patterns(
        ".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfvars", "*.tfvars.json", "*.tfplan"
    )
    shutil.copytree(TF_DIR, dest / "terraform", ignore=ignore)
    shutil.copytree(ROOT / "policies", dest / "policies")
    return dest / "terraform"


def unpack_stack(dest: Path) -> Path:
    """The Resource Manager zip unpacked, with the tests beside it (they are not part of the zip)."""
    # Built by the command `make stack` runs, not by importing it: dev/ uses ops/ only as its users do.
    zip_path = dest / "stack.zip"
    subprocess.run(
        [sys.executable, "-m", "ops.stack", "--output", str(zip_path)], cwd=ROOT, capture_output=True, check=True
    )
    root = dest / "stack"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root)
    shutil.copytree(TF_DIR / "tests", root / "tests")
    return root


def _first_error(text: str) -> str:
    lines = [line.strip(" │╷╵") for line in text.splitlines()]
    return next((line for line in lines if line.startswith("Error:")), lines[-1] if lines else "no output")


def terraform(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def reattached_provider(workdir: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """`env` naming, in TF_REATTACH_PROVIDERS, one oracle/oci provider process started here for every run block.

    The provider `terraform init` installed in `workdir`, started once and reattached to, as Terraform's
    "Debugging Providers" page describes (https://developer.hashicorp.com/terraform/plugin/debugging):
    the same binary serves the same schema and validation, started once instead of per run block.
    `"Test": true` tells Terraform the process is not its own to stop (go-plugin's ReattachConfig.Test);
    it is stopped here. Where no provider can be started this way, `env` as it was: Terraform starts
    the provider itself, as usual, only more slowly.
    """
    binary = next(
        iter(sorted((workdir / ".terraform" / "providers").glob("*/oracle/oci/*/*/terraform-provider-oci*"))), None
    )
    if binary is None:
        yield env
        return
    proc = subprocess.Popen(
        [str(binary)],
        env={**env, **MAGIC_COOKIE, "PLUGIN_PROTOCOL_VERSIONS": "5,6"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    out = proc.stdout
    assert out is not None

    def drain() -> None:
        # All it prints is read, so that a full pipe never blocks it; the first line is go-plugin's handshake.
        for line in out:
            lines.put(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        try:
            handshake = lines.get(timeout=PROVIDER_START_S).strip().split("|")
        except queue.Empty:
            handshake = []
        if len(handshake) < 5 or handshake[4] != "grpc":
            yield env
            return
        _, version, network, address, protocol = handshake[:5]
        reattach = {
            "registry.terraform.io/oracle/oci": {
                "Protocol": protocol,
                "ProtocolVersion": int(version),
                "Pid": proc.pid,
                "Test": True,
                "Addr": {"Network": network, "String": address},
            }
        }
        yield {**env, "TF_REATTACH_PROVIDERS": json.dumps(reattach)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check(label: str, workdir: Path, env: dict[str, str], *test_args: str) -> int:
    """init, validate and test in `workdir`; the number of run blocks that passed."""
    init = terraform(["init", "-backend=false", "-input=false", "-no-color"], workdir, env)
    if init.returncode != 0:
        text = init.stderr + init.stdout
        if any(marker in text for marker in UNREACHABLE):
            raise Unavailable(
                "terraform init cannot get the oracle/oci provider "
                f"(no ../shared mirror, registry unreachable): {_first_error(text)}"
            )
        raise RuntimeError(f"{label}: terraform init failed:\n{text}")
    with reattached_provider(workdir, env) as run_env:
        validate = terraform(["validate", "-no-color"], workdir, run_env)
        if validate.returncode != 0:
            raise RuntimeError(f"{label}: terraform validate failed:\n{validate.stderr}{validate.stdout}")
        print(f"{label}: terraform init + validate: ok", flush=True)
        test = terraform(["test", "-no-color", *test_args], workdir, run_env)
    summary = SUMMARY.findall(test.stdout)
    if test.returncode != 0 or not summary:
        raise RuntimeError(f"{label}: terraform test failed:\n{test.stdout}{test.stderr}")
    passed, failed = (int(n) for n in summary[-1])
    files = len(re.findall(r"^tests/\S+\.tftest\.hcl\.\.\. pass$", test.stdout, re.M))
    print(f"{label}: terraform test: {passed} run blocks passed, {failed} failed, in {files} files", flush=True)
    return passed


def groups(files: list[Path], jobs: int) -> list[list[Path]]:
    """`files` in at most `jobs` groups of about as many run blocks each (largest file first, to the lightest group)."""
    sized = sorted(((len(RUN_BLOCK.findall(f.read_text())), f) for f in files), key=lambda x: (-x[0], x[1].name))
    buckets: list[list[Path]] = [[] for _ in range(max(1, min(jobs, len(files))))]
    loads = [0] * len(buckets)
    for runs, path in sized:
        lightest = loads.index(min(loads))
        buckets[lightest].append(path)
        loads[lightest] += runs
    return [sorted(b) for b in buckets if b]


def main() -> int:
    if shutil.which("terraform") is None:
        return _skip_or_fail("terraform is not installed (https://developer.hashicorp.com/terraform/install)")
    started = time.monotonic()
    jobs = int(os.environ.get("TERRAFORM_TEST_JOBS") or 3)
    try:
        env, source = provider_env()
        print(f"terraform-run: provider oracle/oci from {source}", flush=True)
        with tempfile.TemporaryDirectory(prefix="genai-tf-") as tmp, ThreadPoolExecutor(jobs + 1) as pool:
            base = Path(tmp)
            split = groups(sorted((TF_DIR / "tests").glob("*.tftest.hcl")), jobs)
            runs = []
            for i, files in enumerate(split, 1):
                filters = [f"-filter={f.relative_to(TF_DIR)}" for f in files]
                workdir = copy_config(base / f"repo-{i}")
                runs.append(pool.submit(check, f"terraform/ [{i}/{len(split)}]", workdir, env, *filters))
            # The zip's own layout (./policies, routes.json at the root) is what
            # the phase runs exercise; the other files test the same .tf files.
            zip_filter = f"-filter={ZIP_RUNS.relative_to(TF_DIR)}"
            runs.append(pool.submit(check, "stack zip", unpack_stack(base / "zip"), env, zip_filter))
            errors = [run.exception() for run in runs]
            if unavailable := next((e for e in errors if isinstance(e, Unavailable)), None):
                raise unavailable
            failed = [e for e in errors if e is not None]
            for err in failed:
                print(err, file=sys.stderr)
            if failed:
                return 1
            passed = sum(run.result() for run in runs)
    except Unavailable as err:
        return _skip_or_fail(str(err))
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"terraform-run: {passed} run blocks passed in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
