"""Static checks of terraform/ and policies/ that Terraform itself cannot make (python-hcl2 8.x).

What the configuration does (rendered statements, routes, usage plans,
network, every validation) is run by Terraform in terraform/tests/*.tftest.hcl
(`make terraform-run`, dev/terraform_checks.py). Left here: the project's
standards (every variable typed, described, validated), IAM on the home-region
provider, statement text only in policies/ and its shape, the route table
against the function's surface, the authorizer's own parameter name, and the
files a user edits (tfvars example, schema.yaml).
"""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import hcl2  # python-hcl2==8.1.4 (requirements-dev.txt); a missing parser must fail, not skip
import yaml  # PyYAML==6.0.3 (requirements-dev.txt)

from dev.local.gateway import load_routes
from dev.routes_gen import surface
from dev.local.runner import load_source

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"
POLICIES = ROOT / "policies"

SAMPLE = {
    "compartment_ocid": "ocid1.compartment.oc1..aaaacomp",
    "compartment_scope": "compartment id ocid1.compartment.oc1..aaaacomp",
    "network_compartment_ocid": "ocid1.compartment.oc1..aaaanet",
    "network_scope": "compartment id ocid1.compartment.oc1..aaaanet",
    "dynamic_group_name": "genai-functions",
    "developer_group_name": "genai-developers",
    "function_ocid": "ocid1.fnfunc.oc1.us-chicago-1.aaaafn",
    "genai_verb": "use",
    "usage_metrics_dynamic_group_name": "genai-usage-metrics",
    "usage_metrics_function_ocid": "ocid1.fnfunc.oc1.us-chicago-1.aaaausage",
    "usage_metrics_namespace": "genai_gateway",
    # Only usage_metrics.tf's rendering (rendered_connector_policies) has these.
    "usage_metrics_compartment_ocid": "ocid1.compartment.oc1..aaaametrics",
    "usage_metrics_connector_ocid": "ocid1.serviceconnector.oc1.us-chicago-1.aaaausage",
    "log_group_ocid": "ocid1.loggroup.oc1.us-chicago-1.aaaalogs",
    "limit_connector_ocid": "ocid1.serviceconnector.oc1.us-chicago-1.aaaalimits",
}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# --- parsing helpers ------------------------------------------------------------


def _unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _norm(value):
    """python-hcl2 8.x keeps quotes on labels and literals and adds markers; drop both."""
    if isinstance(value, dict):
        return {_unquote(k): _norm(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return _unquote(value)


def _load_all():
    docs = {}
    for path in sorted(TF.glob("*.tf")):
        docs[path.name] = _norm(hcl2.loads(path.read_text()))
    assert docs, "no .tf files found"
    return docs


DOCS = _load_all()


def blocks(kind):
    """(file, type, name, body) for every resource/data block, or (file, name, body) for variables."""
    out: list[tuple[Any, ...]] = []
    for fname, doc in DOCS.items():
        for entry in doc.get(kind, []) or []:
            for label, inner in entry.items():
                if kind in ("resource", "data"):
                    for name, body in inner.items():
                        out.append((fname, label, name, body))
                else:
                    out.append((fname, label, inner))
    return out


def resources(rtype):
    return [(name, body) for _, t, name, body in blocks("resource") if t == rtype]


def one_block(body, key):
    value = body.get(key)
    if isinstance(value, list):
        assert len(value) == 1, f"expected one {key} block"
        return value[0]
    return value


def nested_blocks(body, key):
    """Static blocks named key plus the content of dynamic \"key\" blocks."""
    found = list(body.get(key, []) or [])
    for dyn in body.get("dynamic", []) or []:
        if key in dyn:
            found.extend(dyn[key].get("content", []))
    return found


def locals_map():
    merged = {}
    for doc in DOCS.values():
        for entry in doc.get("locals", []) or []:
            merged.update(entry)
    return merged


def variables():
    return {name: body for _, name, body in blocks("variable")}


def policy_lines(path: pathlib.Path, values=SAMPLE):
    """What iam.tf's templatefile() + comment stripping yields for one file."""
    text = path.read_text()
    unknown = set(PLACEHOLDER.findall(text)) - set(values)
    assert not unknown, f"{path.name}: undocumented placeholders {unknown}"
    rendered = PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    return [ln.strip() for ln in rendered.split("\n") if ln.strip() and not ln.strip().startswith("#")]


# --- variables ----------------------------------------------------------------


def test_every_variable_is_typed_and_described():
    found = variables()
    assert len(found) > 20
    for name, body in found.items():
        assert body.get("type"), f"variable {name} has no type"
        assert isinstance(body.get("description"), str) and len(body["description"]) > 10, (
            f"variable {name} has no description"
        )


def test_constrained_variables_have_validation():
    constrained = [n for n in variables() if n.endswith("_ocid") or "region" in n or "cidr" in n] + [
        "application_shape",
        "auth_mode",
        "rate_limit_key",
        "genai_log_level",
        "execution_log_level",
        "log_retention_days",
        "api_clients",
        "api_key_hashes",
        "path_prefix",
        "name",
        "authorizer_cache_seconds",
        "rate_limit_per_second",
        "jwt_jwks_uri",
        "jwt_issuers",
        "developer_group_name",
    ]
    found = variables()
    for name in constrained:
        assert name in found, f"expected variable {name}"
        assert found[name].get("validation"), f"variable {name} is constrained but has no validation"


# --- IAM ----------------------------------------------------------------------


def test_every_iam_resource_is_on_the_home_region_provider():
    iam = [(t, n, b) for _, t, n, b in blocks("resource") if t.startswith("oci_identity_")]
    assert {t for t, _, _ in iam} >= {"oci_identity_dynamic_group", "oci_identity_policy"}
    for rtype, name, body in iam:
        assert body.get("provider") in ("${oci.home}", "oci.home"), f"{rtype}.{name} is not on oci.home"


def test_policy_statements_are_rendered_from_the_policy_files():
    policy_files = sorted(p.stem for p in POLICIES.glob("*.policy"))
    assert policy_files, "policies/*.policy missing"
    loc = locals_map()
    # ../policies in the repository, ./policies in the Resource Manager zip (test_stack.py).
    assert loc["policies_dir"] == (
        '${fileexists("${path.module}/policies/genai-function.policy") ? '
        '"${path.module}/policies" : "${path.module}/../policies"}'
    )
    # iam.tf renders most files; usage_metrics.tf renders the connector's the same way,
    # with the values only it knows (the connector's own OCID among them).
    listed = {}
    for local_name, policies_vars in (
        ("rendered_policies", "local.policy_vars"),
        ("rendered_connector_policies", "local.connector_policy_vars"),
    ):
        rendered_expr = loc[local_name].replace("\\", "")
        assert f'templatefile("${{local.policies_dir}}/${{f}}.policy", {policies_vars})' in rendered_expr
        assert 'if trimspace(line) != "" && !startswith(trimspace(line), "#")' in rendered_expr
        match = re.search(r"for f in \[([^\]]*)\]", rendered_expr)
        assert match, rendered_expr
        listed.update({f: local_name for f in re.findall(r"[\"']([a-z-]+)[\"']", match.group(1))})
    assert sorted(listed) == policy_files, "every policy file is rendered, by one of the two"
    assert "local.policy_vars" in loc["connector_policy_vars"], "the connector's values add to iam.tf's, no other"
    referenced = []
    for name, body in resources("oci_identity_policy"):
        m = re.fullmatch(
            r'\$\{local\.(rendered_policies|rendered_connector_policies)\["([a-z-]+)"\]\}', body["statements"]
        )
        assert m, f"oci_identity_policy.{name}: statements must come from a rendered policy file"
        assert listed.get(m.group(2)) == m.group(1), f"oci_identity_policy.{name}: not where {m.group(2)} is rendered"
        referenced.append(m.group(2))
    assert sorted(referenced) == policy_files, "every policy file is applied, each exactly once"
    # No statement text is written inline anywhere in the Terraform.
    for path in TF.glob("*.tf"):
        assert not re.search(r"(?i)\ballow\s+(group|dynamic-group|any-user|service)\b", path.read_text()), path.name


STATEMENT = re.compile(
    r"^allow (dynamic-group|any-user|group|service) (\S+ )?to "
    r"((inspect|read|use) [a-z-]+|manage generative-ai-(response|conversation)"
    r"|\{GENERATIVE_AI_[A-Z_]+(, GENERATIVE_AI_[A-Z_]+)*\}) "
    r"in compartment id \S+( where .+)?$"
)


def test_no_manage_and_no_all_resources_in_any_statement():
    # manage only on the two single types of genai-responses.policy (terraform/tests/iam.tftest.hcl
    # checks the rendered text); genai_function_verb = "manage" is the user's choice.
    statements = [s for p in POLICIES.glob("*.policy") for s in policy_lines(p)]
    assert statements
    for s in statements:
        low = s.lower()
        assert not re.search(r"\bmanage generative-ai-family\b", low), s
        assert "all-resources" not in low, s
        assert " in tenancy" not in low, s
        assert STATEMENT.match(s), f"statement outside the allowed shape: {s}"
    # any-user only for a service acting as itself, named by request.principal.type: API Gateway
    # (api-gateway.policy) and the usage-metrics connector (usage-metrics-connector.policy).
    any_user = [s for s in statements if s.startswith("allow any-user")]
    assert any_user and all(
        re.search(r" where ALL \{request\.principal\.type = '(ApiGateway|serviceconnector)', ", s) for s in any_user
    ), any_user


def test_the_connector_statements_name_one_connector_one_compartment_one_log_group():
    # policies/usage-metrics-connector.policy: every statement is for the one connector, by its
    # OCID; invoking is scoped to the usage-metrics compartment alone, reading to one log group.
    lines = policy_lines(POLICIES / "usage-metrics-connector.policy")
    principal = (
        "request.principal.type = 'serviceconnector', "
        f"request.principal.id = '{SAMPLE['usage_metrics_connector_ocid']}', "
        f"request.principal.compartment.id = '{SAMPLE['usage_metrics_compartment_ocid']}'"
    )
    metrics = f"compartment id {SAMPLE['usage_metrics_compartment_ocid']}"
    assert lines == [
        f"allow any-user to read log-content in {SAMPLE['compartment_scope']} where ALL {{{principal}, "
        f"target.loggroup.id = '{SAMPLE['log_group_ocid']}'}}",
        f"allow any-user to use fn-function in {metrics} where ALL {{{principal}}}",
        f"allow any-user to use fn-invocation in {metrics} where ALL {{{principal}}}",
    ]
    # No other file grants anything in the usage-metrics compartment.
    others = [ln for p in POLICIES.glob("*.policy") if p.stem != "usage-metrics-connector" for ln in policy_lines(p)]
    assert not [ln for ln in others if SAMPLE["usage_metrics_compartment_ocid"] in ln]


def test_function_names_are_the_ones_fn_deploy_uses():
    # fn deploy names a function after func.yaml's name: (no Terraform variable can rename it).
    names = {
        "function_name": yaml.safe_load((ROOT / "func.yaml").read_text())["name"],
        "authorizer_function_name": yaml.safe_load((ROOT / "authorizer" / "func.yaml").read_text())["name"],
        # The name the usage_metrics/ contract fixes; its func.yaml must say the same once it is there.
        "usage_metrics_function_name": "genai-usage-metrics",
    }
    usage_yaml = ROOT / "usage_metrics" / "func.yaml"
    if usage_yaml.is_file():
        assert yaml.safe_load(usage_yaml.read_text())["name"] == names["usage_metrics_function_name"]
    loc = locals_map()
    assert {k: loc[k] for k in names} == names
    assert not set(names) & set(variables()), "a variable would suggest the name can be changed there"


# --- API Gateway --------------------------------------------------------------

ROUTES_JSON = json.loads((TF / "routes.json").read_text())


def _served(kind, method, path):
    """Whether routes.json's `kind` list takes the call, matched as API Gateway matches (dev/local/gateway.py)."""
    return any(method in r.methods and r.matches(path) for r in load_routes() if r.anonymous is (kind == "anonymous"))


def test_every_call_of_the_surface_has_a_route_and_nothing_else_is_open():
    # The surface is the function's route table (genai_fn/routes.py ROUTES), not a copy kept here.
    calls = surface()
    missing = [(m, p) for m, p, anonymous in calls if not _served("anonymous" if anonymous else "authenticated", m, p)]
    assert not missing, f"no route for {missing}"
    assert not any(_served("anonymous", m, p) for m, p, anonymous in calls if not anonymous)
    assert _served("anonymous", "GET", "/health") and not _served("authenticated", "GET", "/health")
    for route in ROUTES_JSON["authenticated"] + ROUTES_JSON["anonymous"]:
        assert set(route["methods"]) <= {"GET", "POST", "DELETE"}
        for segment in route["path"].split("/"):
            if segment.startswith("{"):
                assert re.fullmatch(r"\{[A-Za-z0-9_]+\*?\}", segment), route


def test_the_gateway_sends_the_authorizer_the_parameter_it_reads():
    # What terraform test cannot see: the authorizer function's own code.
    ((_name, body),) = [(n, b) for n, b in resources("oci_apigateway_deployment") if n == "api"]
    request = one_block(one_block(body, "specification"), "request_policies")
    custom = next(a for a in nested_blocks(request, "authentication") if a["type"] == "CUSTOM_AUTHENTICATION")
    func = load_source(ROOT / "authorizer" / "func.py", "authz_for_tf_test")
    assert custom["parameters"] == {func.PARAMETER: "request.headers[Authorization]"}
    assert custom["cache_key"] == [func.PARAMETER]


# --- files a user touches -------------------------------------------------------


def test_tfvars_example_sets_every_required_variable_and_names_only_real_ones():
    text = (TF / "terraform.tfvars.example").read_text()
    found = variables()
    uncommented = set(re.findall(r"^([a-z_][a-z0-9_]*)\s*=", text, re.M))
    mentioned = set(re.findall(r"^#?\s*([a-z_][a-z0-9_]*)\s*=", text, re.M))
    required = {n for n, b in found.items() if "default" not in b}
    assert required <= uncommented, f"not set in the example: {required - uncommented}"
    assert mentioned <= set(found), f"unknown variables in the example: {mentioned - set(found)}"


def test_schema_yaml_groups_every_variable():
    text = (TF / "schema.yaml").read_text()
    groups, variables_part = text.split("\nvariables:\n", 1)
    grouped = re.findall(r"^      - ([a-z_0-9]+)$", groups, re.M)
    assert sorted(grouped) == sorted(variables()), "schema.yaml variableGroups must list every variable once"
    for picker in ("oci:identity:compartment:id", "oci:identity:region:name", "oci:core:subnet:id"):
        assert picker in variables_part
