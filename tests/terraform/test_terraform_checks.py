"""dev/terraform_checks.py (`make terraform-run`) never passes silently: no terraform is one visible line."""

from __future__ import annotations

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
