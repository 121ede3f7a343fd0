"""`make stack`: dist/genai-stack.zip, the configuration as OCI Resource Manager takes it.

    python -m ops.stack [--output PATH]

Upload the zip in Resource Manager (Create stack > .Zip file), or publish it as a
release asset for the README's "Deploy to Oracle Cloud" button.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TF_DIR = ROOT / "terraform"
STACK_ZIP = ROOT / "dist" / "genai-stack.zip"
#: What Resource Manager needs: the configuration, its data files and the schema (never tfvars or state).
STACK_FILES = ("*.tf", "routes.json", "gateway.json", "schema.yaml")


def build_stack(target: Path = STACK_ZIP) -> Path:
    """The Resource Manager zip: terraform/ at its root and policies/ beside the .tf files.

    iam.tf looks for ./policies first (local.policies_dir), so templatefile()
    resolves without a working directory, and schema.yaml sits at the root
    where Resource Manager looks for it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    members: dict[str, Path] = {}
    for pattern in STACK_FILES:
        for path in sorted(TF_DIR.glob(pattern)):
            members[path.name] = path
    for path in sorted((ROOT / "policies").iterdir()):
        if path.is_file():
            members[f"policies/{path.name}"] = path
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(members.items()):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # same bytes on every build
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=STACK_ZIP, help="where to write the zip")
    args = parser.parse_args(argv)
    path = build_stack(args.output.resolve())
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"{shown}: upload it in Resource Manager (Create stack > .Zip file) or host it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
