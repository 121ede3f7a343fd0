"""The Resource Manager stack: schema.yaml against Oracle's meta-schema types, and the zip `make stack` builds.

Types: "Extend Console Pages Using Schema Documents"
(https://docs.oracle.com/iaas/Content/ResourceManager/Concepts/terraformconfigresourcemanager_topic-schema.htm):
the meta-schema accepts array, boolean, enum, integer, number, string, text,
file, password, datetime and the oci:* types, and a variable's type must agree
with the Terraform variable's.
"""

from __future__ import annotations

import re
import zipfile

import yaml  # PyYAML==6.0.3 (requirements-dev.txt)

from ops.stack import build_stack
from tests.terraform.test_terraform_structure import DOCS, TF, variables

SCHEMA = yaml.safe_load((TF / "schema.yaml").read_text())
META_TYPES = {"array", "boolean", "enum", "integer", "number", "string", "text", "file", "password", "datetime"}
#: Which schema types can carry each Terraform type.
AGREES = {
    "string": {"string", "text", "enum", "password", "file", "datetime"},
    "number": {"number", "integer", "enum"},
    "bool": {"boolean"},
    "list(string)": {"array"},
}
OUTPUTS = {name for doc in DOCS.values() for entry in doc.get("output", []) for name in entry}


def _tf_type(body: dict) -> str:
    return str(body["type"]).removeprefix("${").removesuffix("}")


def test_every_schema_type_is_one_the_meta_schema_accepts():
    declared = SCHEMA["variables"]
    assert len(declared) > 30
    for name, spec in declared.items():
        kind = spec["type"]
        assert kind in META_TYPES or kind.startswith("oci:"), f"{name}: type {kind!r} is not in the meta-schema"
        if kind == "array":
            assert spec["items"]["type"] in META_TYPES, name


def test_schema_types_agree_with_variables_tf():
    tf_vars = variables()
    for name, spec in SCHEMA["variables"].items():
        assert name in tf_vars, f"schema.yaml declares {name}, which variables.tf does not"
        tf_type = _tf_type(tf_vars[name])
        kind = spec["type"]
        allowed = AGREES.get(tf_type)
        assert allowed is not None, f"{name}: a {tf_type} variable cannot be declared in schema.yaml; keep it hidden"
        assert kind in allowed or (tf_type == "string" and kind.startswith("oci:")), f"{name}: {kind} vs {tf_type}"
        if kind == "enum":
            assert all(isinstance(v, str if tf_type == "string" else (int, float)) for v in spec["enum"]), name
        if "default" in spec and "default" in tf_vars[name]:
            # "${compartment_ocid}": Resource Manager fills the picker from another field; Terraform keeps null.
            filled = isinstance(spec["default"], str) and re.fullmatch(r"\$\{[a-z_]+\}", spec["default"])
            assert filled or spec["default"] == tf_vars[name]["default"], f"{name}: default differs from variables.tf"


def test_complex_variables_stay_hidden_and_undeclared():
    hidden = next(g for g in SCHEMA["variableGroups"] if g.get("visible") is False)
    for name, body in variables().items():
        if _tf_type(body) not in AGREES:
            assert name not in SCHEMA["variables"] and name in hidden["variables"], name


def test_every_variable_and_output_is_grouped_once():
    grouped = [v for g in SCHEMA["variableGroups"] for v in g["variables"]]
    assert sorted(grouped) == sorted(variables())
    outputs = [o for g in SCHEMA["outputGroups"] for o in g["outputs"]]
    assert sorted(outputs) == sorted(OUTPUTS), set(outputs) ^ OUTPUTS
    assert set(SCHEMA["outputs"]) <= OUTPUTS


def test_log_retention_is_a_number_in_both():
    assert SCHEMA["variables"]["log_retention_days"]["type"] == "integer"
    assert _tf_type(variables()["log_retention_days"]) == "number"


def test_stack_zip_holds_no_tfvars_state_or_tests(tmp_path):
    # That the zip's layout works (./policies, templatefile paths) is run by Terraform on the
    # unpacked zip (dev/terraform_checks.py); this is what must never be in it.
    with zipfile.ZipFile(build_stack(tmp_path / "stack.zip")) as zf:
        names = set(zf.namelist())
    assert "schema.yaml" in names and {p.name for p in TF.glob("*.tf")} <= names
    assert not any(n.endswith((".tfvars", ".tfstate", ".lock.hcl")) or ".terraform" in n for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_stack_zip_is_reproducible(tmp_path):
    first = build_stack(tmp_path / "a.zip").read_bytes()
    second = build_stack(tmp_path / "b.zip").read_bytes()
    assert first == second
