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

import hcl2
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
            assert spec["default"] == tf_vars[name]["default"], f"{name}: default differs from variables.tf"


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


def _paths_read_by_terraform() -> set[str]:
    """Files the .tf read relative to path.module, as they resolve inside the zip."""
    found = set()
    for path in TF.glob("*.tf"):
        for match in re.finditer(r'file\("\$\{path\.module\}/([^"$]+)"\)', path.read_text()):
            found.add(match.group(1))
    return found


def test_stack_zip_carries_what_the_configuration_reads(tmp_path):
    target = build_stack(tmp_path / "stack.zip")
    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        extracted = tmp_path / "stack"
        zf.extractall(extracted)
    assert "schema.yaml" in names and {p.name for p in TF.glob("*.tf")} <= names
    assert not any(n.endswith((".tfvars", ".tfstate")) or ".terraform" in n for n in names)
    assert _paths_read_by_terraform() <= names, "a file() of the configuration is missing from the zip"
    # iam.tf: ./policies exists in the zip, so templatefile() reads every policy file from there.
    iam = hcl2.loads((extracted / "iam.tf").read_text())
    policies_dir = iam["locals"][0]["policies_dir"]
    assert "fileexists(\"${path.module}/policies/genai-function.policy\")" in policies_dir
    assert (extracted / "policies" / "genai-function.policy").is_file()
    loop = re.search(r"for f in \[([^\]]*)\]", (TF / "iam.tf").read_text())
    assert loop, "iam.tf renders no policy files"
    listed = re.findall(r'"([a-z-]+)"', loop.group(1))
    for name in listed:
        assert f"policies/{name}.policy" in names, name
    for rule in ("compartment", "ocid"):
        assert f"policies/function.rule.{rule}" in names


def test_stack_zip_is_reproducible(tmp_path):
    first = build_stack(tmp_path / "a.zip").read_bytes()
    second = build_stack(tmp_path / "b.zip").read_bytes()
    assert first == second
