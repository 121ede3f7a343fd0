"""Check every `oci_*` block of a Terraform folder against the OCI provider's schema.

The schema subset (`data/oci-provider-schema.json`) was read from
oracle/terraform-provider-oci v8.28.0 (`internal/service/*/*_resource.go` and
`*_data_source.go`). For each `resource` and `data` block of an `oci_*` type:
the type must be in the subset (a type missing from it is an error here, so the
subset grows with the Terraform instead of silently skipping new blocks),
every argument and nested block must be one the provider accepts, read-only
(computed) attributes must not be set, required arguments must be present, and
the `content` of `dynamic` blocks is checked like a static block.

python-hcl2 8.x keeps the quotes of block labels (`'"oci_x"'`) and adds
`__start_line__`-style markers; both are stripped. A run that reads no block
fails: a parser whose output changed shape must not pass as "no errors".
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field
from typing import Any

import hcl2

SCHEMA = pathlib.Path(__file__).resolve().parent / "data" / "oci-provider-schema.json"
#: Terraform meta-arguments and blocks every resource accepts.
META = {"count", "for_each", "depends_on", "provider", "lifecycle", "timeouts", "connection", "provisioner"}


@dataclass
class Report:
    checked: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.errors


def unquote(label: object) -> str:
    text = str(label)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _blocks(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return value
    return None


def check_body(body: dict[str, Any], spec: dict[str, Any], where: str, errors: list[str]) -> None:
    allowed = set(spec.get("required", [])) | set(spec.get("optional", []))
    nested = spec.get("blocks", {})
    computed = set(spec.get("computed", []))
    present: set[str] = set()
    for raw_key, value in body.items():
        key = unquote(raw_key)
        if key.startswith("__") or key in META:
            continue
        if key == "dynamic":
            for dyn in _blocks(value) or []:
                for raw_name, inner in dyn.items():
                    name = unquote(raw_name)
                    if name.startswith("__"):
                        continue
                    present.add(name)
                    if name not in nested:
                        errors.append(f"{where}: dynamic '{name}' is not a nested block")
                        continue
                    for i, content in enumerate((_blocks(inner) or [{}])[0].get("content", []) or []):
                        check_body(content, nested[name], f"{where}.{name}[dynamic {i}]", errors)
            continue
        present.add(key)
        if key in nested:
            for i, block in enumerate(_blocks(value) or []):
                check_body(block, nested[key], f"{where}.{key}[{i}]", errors)
        elif key not in allowed:
            why = "is read-only (computed)" if key in computed else "is not an argument or block"
            errors.append(f"{where}: '{key}' {why}")
    for required in spec.get("required", []):
        if required not in present:
            errors.append(f"{where}: required '{required}' is missing")


def check_folder(folder: pathlib.Path, schema_path: pathlib.Path = SCHEMA) -> Report:
    schema = json.loads(schema_path.read_text())
    report = Report()
    files = sorted(p for p in folder.rglob("*.tf") if ".terraform" not in p.parts)
    if not files:
        report.errors.append(f"no .tf files under {folder}")
        return report
    for tf in files:
        try:
            doc = hcl2.loads(tf.read_text())
        except Exception as exc:  # noqa: BLE001 - a file that does not parse is a finding, whatever lark raises
            report.errors.append(f"{tf.name}: does not parse: {exc}")
            continue
        for kind in ("resource", "data"):
            for entry in doc.get(kind, []) or []:
                for raw_type, named in entry.items():
                    rtype = unquote(raw_type)
                    if not rtype.startswith("oci_"):
                        continue
                    for raw_name, body in named.items():
                        where = f"{tf.name}: {kind} {rtype}.{unquote(raw_name)}"
                        spec = schema[kind].get(rtype)
                        if spec is None:
                            report.errors.append(f"{where}: type not in the provider schema subset")
                            continue
                        report.checked += 1
                        check_body(body, spec, where, report.errors)
    if report.checked == 0:
        report.errors.append("no oci_* block was read: the HCL parser's output changed shape, or the folder is wrong")
    return report
