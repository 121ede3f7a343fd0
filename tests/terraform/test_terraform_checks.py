"""dev/terraform_checks.py (`make terraform-run`) never passes silently: no terraform is one visible line."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_without_terraform(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # A real process whose PATH holds no terraform (an empty folder).
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TERRAFORM_CHECKS")}
    return subprocess.run(
        [sys.executable, "-m", "dev.terraform_checks"],
        cwd=ROOT,
        env={**clean, "PATH": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_no_terraform_is_said_in_one_line(tmp_path):
    run = _run_without_terraform(tmp_path)
    assert run.returncode == 0
    assert run.stdout.splitlines() == [
        "terraform-run: SKIPPED: terraform is not installed (https://developer.hashicorp.com/terraform/install)"
    ]


def test_ci_can_require_it(tmp_path):
    run = _run_without_terraform(tmp_path, TERRAFORM_CHECKS_REQUIRED="1")
    assert run.returncode == 1 and run.stdout.startswith("terraform-run: FAILED: terraform is not installed")


def test_terraform_checks_need_only_the_standard_library() -> None:
    """`make test` runs terraform-run with the machine's python3, before .venv exists (dev/mk/terraform.mk):
    dev/terraform_checks.py and the ops/stack.py it runs may import nothing that .venv installs."""
    for path in (ROOT / "dev" / "terraform_checks.py", ROOT / "ops" / "stack.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
        outside = imported - set(sys.stdlib_module_names) - {"__future__"}
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}, which the machine's python3 lacks"
