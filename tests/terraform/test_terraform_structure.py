"""Static checks of terraform/ and policies/: parsed with python-hcl2 (8.x), no network, no provider.

terraform validate/plan cannot run without the provider, so these assert what
the review of an IAM change must never miss: types and descriptions, IAM in the
home region, statements rendered from policies/ only, no manage/all-resources,
a dynamic group limited to this project's functions, every route but /health
authenticated, and no ingress from the internet except HTTPS to the gateway.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
from typing import Any

import hcl2  # python-hcl2==8.1.4 (requirements-dev.txt); a missing parser must fail, not skip
import pytest

from dev.local.gateway import load_routes
from dev.routes_gen import surface
from tests.conftest import load_source

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"
POLICIES = ROOT / "policies"

SAMPLE = {
    "compartment_ocid": "ocid1.compartment.oc1..aaaacomp",
    "network_compartment_ocid": "ocid1.compartment.oc1..aaaanet",
    "dynamic_group_name": "genai-functions",
    "developer_group_name": "genai-developers",
    "function_ocid": "ocid1.fnfunc.oc1.us-chicago-1.aaaafn",
    "genai_verb": "use",
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


def dynamic_for_each(body, key):
    return [dyn[key].get("for_each", "") for dyn in body.get("dynamic", []) or [] if key in dyn]


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


def test_provider_and_terraform_pins():
    tf = one_block(DOCS["versions.tf"], "terraform")
    assert tf["required_version"] == ">= 1.5"
    oci = one_block(tf, "required_providers")["oci"]
    # A lower bound for oci_generative_ai_project, an upper bound so a major release is adopted on purpose.
    assert oci == {"source": "oracle/oci", "version": ">= 8.21.0, < 9.0.0"}
    providers = [p["oci"] for p in DOCS["providers.tf"]["provider"]]
    aliases = [p.get("alias") for p in providers]
    assert aliases.count("home") == 1 and aliases.count(None) == 1
    home = next(p for p in providers if p.get("alias") == "home")
    assert home["region"] == "${local.home_region}"
    src = (TF / "providers.tf").read_text()
    assert "home_region_key" in src and "data.oci_identity_regions" in src


# --- IAM ----------------------------------------------------------------------


def test_every_iam_resource_is_on_the_home_region_provider():
    iam = [(t, n, b) for _, t, n, b in blocks("resource") if t.startswith("oci_identity_")]
    assert {t for t, _, _ in iam} >= {"oci_identity_dynamic_group", "oci_identity_policy"}
    for rtype, name, body in iam:
        assert body.get("provider") in ("${oci.home}", "oci.home"), f"{rtype}.{name} is not on oci.home"


def test_dynamic_group_lives_in_the_tenancy():
    ((_name, body),) = resources("oci_identity_dynamic_group")
    assert body["compartment_id"] == "${var.tenancy_ocid}"
    assert body["matching_rule"] == "${local.matching_rule}"


def test_policy_statements_are_rendered_from_the_policy_files():
    policy_files = sorted(p.stem for p in POLICIES.glob("*.policy"))
    assert policy_files, "policies/*.policy missing"
    loc = locals_map()
    # ../policies in the repository, ./policies in the Resource Manager zip (test_stack.py).
    assert loc["policies_dir"] == (
        '${fileexists("${path.module}/policies/genai-function.policy") ? '
        '"${path.module}/policies" : "${path.module}/../policies"}'
    )
    rendered_expr = loc["rendered_policies"]
    assert 'templatefile("${local.policies_dir}/${f}.policy"' in rendered_expr.replace("\\", "")
    match = re.search(r"for f in \[([^\]]*)\]", rendered_expr)
    assert match, rendered_expr
    listed = match.group(1)
    assert sorted(re.findall(r"[\"']([a-z-]+)[\"']", listed)) == policy_files
    referenced = []
    for name, body in resources("oci_identity_policy"):
        m = re.fullmatch(r'\$\{local\.rendered_policies\["([a-z-]+)"\]\}', body["statements"])
        assert m, f"oci_identity_policy.{name}: statements must come from local.rendered_policies"
        referenced.append(m.group(1))
    assert sorted(referenced) == policy_files, "every policy file is applied, each exactly once"
    # No statement text is written inline anywhere in the Terraform.
    for path in TF.glob("*.tf"):
        assert not re.search(r"(?i)\ballow\s+(group|dynamic-group|any-user|service)\b", path.read_text()), path.name


EXPECTED_STATEMENTS = {
    "genai-function": [
        "allow dynamic-group genai-functions to use generative-ai-family "
        "in compartment id ocid1.compartment.oc1..aaaacomp",
    ],
    "genai-stores": [
        "allow dynamic-group genai-functions to {GENERATIVE_AI_FILE_INSPECT, GENERATIVE_AI_FILE_READ, "
        "GENERATIVE_AI_FILE_CONTENT_READ, GENERATIVE_AI_FILE_CREATE, GENERATIVE_AI_FILE_DELETE} "
        "in compartment id ocid1.compartment.oc1..aaaacomp",
        "allow dynamic-group genai-functions to {GENERATIVE_AI_VECTORSTORE_INSPECT, GENERATIVE_AI_VECTORSTORE_READ, "
        "GENERATIVE_AI_VECTORSTORE_UPDATE, GENERATIVE_AI_VECTORSTORE_CREATE, GENERATIVE_AI_VECTORSTORE_DELETE} "
        "in compartment id ocid1.compartment.oc1..aaaacomp",
        "allow dynamic-group genai-functions to {GENERATIVE_AI_VECTORSTORE_FILE_INSPECT, "
        "GENERATIVE_AI_VECTORSTORE_FILE_READ, GENERATIVE_AI_VECTORSTORE_FILE_UPDATE, "
        "GENERATIVE_AI_VECTORSTORE_FILE_CREATE, GENERATIVE_AI_VECTORSTORE_FILE_DELETE, "
        "GENERATIVE_AI_VECTORSTORE_FILE_CONTENT_READ} in compartment id ocid1.compartment.oc1..aaaacomp",
        "allow dynamic-group genai-functions to {GENERATIVE_AI_CONTAINER_INSPECT, GENERATIVE_AI_CONTAINER_READ, "
        "GENERATIVE_AI_CONTAINER_CREATE, GENERATIVE_AI_CONTAINER_FILE_INSPECT, GENERATIVE_AI_CONTAINER_FILE_READ, "
        "GENERATIVE_AI_CONTAINER_FILE_CONTENT_READ, GENERATIVE_AI_CONTAINER_FILE_CREATE, "
        "GENERATIVE_AI_CONTAINER_FILE_DELETE} in compartment id ocid1.compartment.oc1..aaaacomp",
    ],
    "api-gateway": [
        "allow any-user to use functions-family in compartment id ocid1.compartment.oc1..aaaacomp where ALL "
        "{request.principal.type = 'ApiGateway', request.resource.compartment.id = 'ocid1.compartment.oc1..aaaacomp'}",
    ],
    "developer-group": [
        "allow group genai-developers to use generative-ai-family in compartment id ocid1.compartment.oc1..aaaacomp",
    ],
    "functions-service": [
        "allow service faas to read repos in compartment id ocid1.compartment.oc1..aaaacomp",
        "allow service faas to use virtual-network-family in compartment id ocid1.compartment.oc1..aaaanet",
    ],
}


def test_rendered_statements_are_exactly_the_reviewed_ones():
    rendered = {p.stem: policy_lines(p) for p in POLICIES.glob("*.policy")}
    assert rendered == EXPECTED_STATEMENTS


STATEMENT = re.compile(
    r"^allow (dynamic-group|any-user|group|service) (\S+ )?to "
    r"((inspect|read|use) [a-z-]+|\{GENERATIVE_AI_[A-Z_]+(, GENERATIVE_AI_[A-Z_]+)*\}) "
    r"in compartment id \S+( where .+)?$"
)


def test_manage_only_when_genai_function_verb_asks_for_it():
    # The one verb a variable may widen; validated to use or manage (variables.tf).
    verb = variables()["genai_function_verb"]
    assert verb["default"] == "use"
    assert 'contains(["use", "manage"], var.genai_function_verb)' in str(verb["validation"])
    manage = policy_lines(POLICIES / "genai-function.policy", {**SAMPLE, "genai_verb": "manage"})
    assert manage == [EXPECTED_STATEMENTS["genai-function"][0].replace(" use ", " manage ")]
    assert locals_map()["policy_vars"]["genai_verb"] == "${var.genai_function_verb}"


def test_no_manage_and_no_all_resources_in_any_statement():
    statements = [s for p in POLICIES.glob("*.policy") for s in policy_lines(p)]
    assert statements
    for s in statements:
        low = s.lower()
        assert not re.search(r"\bmanage\b", low), s
        assert "all-resources" not in low, s
        assert " in tenancy" not in low, s
        assert STATEMENT.match(s), f"statement outside the allowed shape: {s}"
    any_user = [s for s in statements if s.startswith("allow any-user")]
    assert any_user and all("request.principal.type = 'ApiGateway'" in s for s in any_user)


def test_dynamic_group_rule_is_limited_to_fnfunc_in_the_compartment_or_the_function():
    by_compartment = policy_lines(POLICIES / "function.rule.compartment")
    by_ocid = policy_lines(POLICIES / "function.rule.ocid")
    assert by_compartment == [
        "ALL {resource.type = 'fnfunc', resource.compartment.id = 'ocid1.compartment.oc1..aaaacomp'}"
    ]
    assert by_ocid == ["ALL {resource.type = 'fnfunc', resource.id = 'ocid1.fnfunc.oc1.us-chicago-1.aaaafn'}"]
    loc = locals_map()
    assert "function.rule.${r}" in loc["rendered_rules"]
    expr = loc["matching_rule"]
    assert set(re.findall(r"local\.rendered_rules\[\"?(\w+)\"?\]", expr)) == {"compartment", "ocid"}
    assert "'" not in expr.replace("rendered_rules", ""), "the rule must not be written inline"


# --- API Gateway --------------------------------------------------------------

ROUTES_JSON = json.loads((TF / "routes.json").read_text())


def _routes(deployment_body):
    spec = one_block(deployment_body, "specification")
    return spec, nested_blocks(spec, "routes")


def test_routes_come_from_routes_json_and_drop_the_authorization_header():
    deployments = dict(resources("oci_apigateway_deployment"))
    assert set(deployments) == {"api", "health"}
    lists = {"api": "authenticated", "health": "anonymous"}
    for name, body in deployments.items():
        spec, routes = _routes(body)
        assert routes and not spec.get("routes"), f"{name}: routes must all come from routes.json"
        assert dynamic_for_each(spec, "routes") == [f"${{local.api_routes.{lists[name]}}}"]
        (route,) = routes
        assert route["path"] == "${routes.value.path}" and route["methods"] == "${routes.value.methods}"
        backend = one_block(route, "backend")
        assert backend["type"] == "ORACLE_FUNCTIONS_BACKEND" and backend["function_id"] == "${local.function_id}"
        policies = one_block(route, "request_policies")
        headers = one_block(one_block(policies, "header_transformations"), "filter_headers")
        assert headers["type"] == "BLOCK" and one_block(headers, "items") == {"name": "Authorization"}
        authz = one_block(policies, "authorization")
        if name == "api":
            assert authz["type"] == "AUTHENTICATION_ONLY"
            request = one_block(spec, "request_policies")
            auths = nested_blocks(request, "authentication")
            assert {a["type"] for a in auths} == {"CUSTOM_AUTHENTICATION", "JWT_AUTHENTICATION"}
            assert all(a["is_anonymous_access_allowed"] is False for a in auths)
        else:
            assert authz is None and "authentication" not in str(spec)
    assert locals_map()["api_routes"] == '${jsondecode(file("${path.module}/routes.json"))}'


def test_health_has_its_own_deployment_and_rate_limit():
    health = dict(resources("oci_apigateway_deployment"))["health"]
    assert health["count"] == "${local.deploy_api ? 1 : 0}"
    request = one_block(one_block(health, "specification"), "request_policies")
    limit = one_block(request, "rate_limiting")
    assert limit == {"rate_in_requests_per_second": "${var.health_rate_limit_per_second}", "rate_key": "CLIENT_IP"}
    assert "usage_plans" not in request
    assert ROUTES_JSON["anonymous"] == [{"path": "/health", "methods": ["GET"]}]


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


def test_authentication_modes_match_the_authorizer_and_jwt_settings():
    ((_name, body),) = [(n, b) for n, b in resources("oci_apigateway_deployment") if n == "api"]
    request = one_block(one_block(body, "specification"), "request_policies")
    auths = {a["type"]: a for a in nested_blocks(request, "authentication")}
    custom, jwt = auths["CUSTOM_AUTHENTICATION"], auths["JWT_AUTHENTICATION"]
    assert custom["function_id"] == "${local.authorizer_function_id}"
    assert custom["parameters"] == {"authorization": "request.headers[Authorization]"}
    assert custom["cache_key"] == ["authorization"]
    assert jwt["issuers"] == "${var.jwt_issuers}" and jwt["audiences"] == "${var.jwt_audiences}"
    assert one_block(jwt, "public_keys")["type"] == "REMOTE_JWKS"
    # The authorizer reads the same parameter name and answers with context.client.
    func = load_source(ROOT / "authorizer" / "func.py", "authz_for_tf_test")
    assert func.PARAMETER == "authorization"
    plans = nested_blocks(request, "usage_plans")
    assert [p["token_locations"] for p in plans] == [["request.auth[client]"]]
    assert one_block(request, "rate_limiting")["rate_in_requests_per_second"] == "${var.rate_limit_per_second}"


def test_each_client_has_its_own_usage_plan_and_subscriber():
    ((_, plan),) = resources("oci_apigateway_usage_plan")
    assert plan["for_each"].endswith("local.api_clients : {}}")
    ent = one_block(plan, "entitlements")
    assert one_block(ent, "rate_limit")["value"] == "${each.value.rate_limit_per_second}"
    assert one_block(ent, "quota")["operation_on_breach"] == "REJECT"
    ((_, sub),) = resources("oci_apigateway_subscriber")
    client = one_block(sub, "clients")
    assert client["token"] == "${local.client_tokens[each.key]}"
    assert sub["for_each"] == "${oci_apigateway_usage_plan.client}"


def test_authorizer_config_format_is_what_keys_py_parses():
    expr = locals_map()["authorizer_config"]
    assert "API_KEY_HASHES" in expr
    assert '"${local.client_tokens[name]}:${h}"' in expr.replace("\\", "")
    assert 'join(",",' in expr.replace(" ", "")


# --- network ------------------------------------------------------------------


def _ingress_rules(body):
    return nested_blocks(body, "ingress_security_rules")


def test_no_internet_ingress_except_https_to_the_gateway_subnet():
    vars_ = variables()
    default_cidrs = vars_["gateway_ingress_cidrs"]["default"]
    internet_sources = {"0.0.0.0/0", "${var.gateway_ingress_cidrs}", "${ingress_security_rules.value}"}
    subnets = dict(resources("oci_core_subnet"))
    lists = resources("oci_core_security_list") + resources("oci_core_default_security_list")
    assert lists
    for name, body in lists:
        for rule in _ingress_rules(body):
            source = rule["source"]
            dynamic_source = source == "${ingress_security_rules.value}"
            if source in internet_sources or (dynamic_source and "0.0.0.0/0" in default_cidrs):
                tcp = one_block(rule, "tcp_options")
                assert rule["protocol"] == "6" and tcp and tcp["min"] == tcp["max"] == 443, (
                    f"security list {name}: internet ingress other than TCP 443"
                )
                gateway_subnet = subnets["gateway"]
                assert f"${{oci_core_security_list.{name}[0].id}}" in gateway_subnet["security_list_ids"], (
                    f"security list {name} allows internet ingress but is not the gateway subnet's"
                )
    functions_list = dict(resources("oci_core_security_list"))["functions"]
    assert _ingress_rules(functions_list) == []
    default_list = dict(resources("oci_core_default_security_list"))["locked"]
    assert _ingress_rules(default_list) == [] and default_list.get("egress_security_rules") in (None, [])
    assert subnets["functions"]["prohibit_public_ip_on_vnic"] is True
    for name, rule in resources("oci_core_network_security_group_security_rule"):
        assert not (rule.get("direction") == "INGRESS" and rule.get("source") == "0.0.0.0/0"), name


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


def test_terraform_fmt_is_clean():
    terraform = shutil.which("terraform")
    if not terraform:
        pytest.skip("terraform not installed: fmt check skipped")
    result = subprocess.run([terraform, "fmt", "-check", "-recursive", str(TF)], capture_output=True, text=True)
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout}"
