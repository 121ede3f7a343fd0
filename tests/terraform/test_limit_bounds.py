"""Terraform and Resource Manager against the function's one definition of each bound, default and name, by value.

genai_fn/bounds.py holds every bound, default and field name of the function's
configuration, and genai_fn/families.py the API families. terraform/variables.tf
repeats them as literals in its validations, error messages and defaults (a
Terraform validation cannot read Python), inputs.tf and clients.tf repeat the
client fields, functions.tf and cache.tf name the settings they set, and
schema.yaml repeats the bounds as the Resource Manager form's minimum, maximum,
default and enum. These tests read each literal out of the parsed files and
compare it with the Python value, so a value changed on one side only fails
here, naming the file, the variable and both values.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re
from typing import Any

import hcl2  # python-hcl2==8.1.4 (requirements-dev.txt); a missing parser must fail, not skip
import pytest
import yaml  # PyYAML==6.0.3 (requirements-dev.txt)

from genai_fn import bounds
from genai_fn.families import Family

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"
FAMILIES = tuple(f.value for f in Family)
#: The model-name variables and how many regex() each validation holds (aliases: key and value).
MODEL_VARIABLES = {
    "genai_default_model": 1,
    "genai_allowed_models": 1,
    "genai_fallback_models": 1,
    "genai_model_aliases": 2,
}
#: Terraform's name of each policy field, and the fields of each kind of client entry.
POLICY_IN_TF = tuple(bounds.POLICY_FIELDS_IN_TERRAFORM.get(f, f) for f in bounds.POLICY_FIELDS)
JWT_FIELDS = frozenset(POLICY_IN_TF + bounds.TERRAFORM_CLIENT_FIELDS)
API_FIELDS = JWT_FIELDS | frozenset(bounds.TERRAFORM_API_CLIENT_FIELDS)


def _variables() -> dict[str, dict[str, Any]]:
    doc = hcl2.loads((TF / "variables.tf").read_text())
    found = {}
    for entry in doc["variable"]:
        for label, body in entry.items():
            found[label.strip('"')] = body
    return found


VARIABLES = _variables()
SCHEMA = yaml.safe_load((TF / "schema.yaml").read_text())["variables"]
NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.]*\w)")


def _validations(name: str) -> list[dict[str, str]]:
    validations = VARIABLES[name].get("validation") or []
    assert validations, f"terraform/variables.tf: variable {name} has no validation"
    return validations


def _conditions(name: str) -> str:
    """Every validation condition of a variable, as one text."""
    return " ".join(v["condition"] for v in _validations(name))


def _messages(name: str) -> str:
    return " ".join(v["error_message"] for v in _validations(name))


def _range(text: str, field: str) -> tuple[int, int]:
    """(low, high) of `<field> >= low && <field> <= high` in a condition; exactly one such pair."""
    pairs = re.findall(rf"{re.escape(field)} >= (\d+) && {re.escape(field)} <= (\d+)", text)
    assert len(pairs) == 1, f"expected one range check of {field}, found {pairs} in {text}"
    low, high = pairs[0]
    return int(low), int(high)


def _choices(text: str, field: str) -> tuple[str, ...]:
    """The list of contains([...], <field ...>) in a condition; exactly one."""
    lists = re.findall(rf"contains\(\[([^\]]*)\], [^)]*{re.escape(field)}", text)
    assert len(lists) == 1, f"expected one contains() of {field}, found {lists} in {text}"
    return tuple(re.findall(r'"([^"]*)"', lists[0]))


def _numbers(text: str) -> set[int]:
    """The whole numbers a text states (not those inside a name such as gpt-oss-120b)."""
    return {int(n) for n in NUMBER.findall(text)}


def _default(name: str) -> object:
    value = VARIABLES[name].get("default")
    return value.strip('"') if isinstance(value, str) else value


def _same(a: object, b: object) -> bool:
    """Equal values, a bool never equal to a number."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _regexes(text: str) -> list[str]:
    """The patterns of every regex("...") in a condition, HCL escapes undone (\\\\ is one backslash)."""
    return [re.sub(r"\\(.)", r"\1", p) for p in re.findall(r'regex\("((?:[^"\\]|\\.)*)"', text)]


def _object_fields(type_text: str) -> set[str]:
    """The attribute names of map(object({...})) as python-hcl2 renders the type."""
    inner = type_text[type_text.index("object({") + len("object({") :]
    return set(re.findall(r"(\w+) = ", inner))


def _allow_list(name: str) -> tuple[str, ...]:
    """The keys setsubtract(keys(c), [...]) allows in a _json variable's validation; exactly one list."""
    lists = re.findall(r"setsubtract\(keys\(c\), \[([^\]]*)\]\)", _conditions(name))
    assert len(lists) == 1, f"terraform/variables.tf: {name}: expected one allow-list of keys, found {lists}"
    return tuple(re.findall(r'"([^"]*)"', lists[0]))


def test_the_parser_reads_the_variables():
    # A check that reads nothing must fail (python-hcl2 8.x changed how labels come back).
    assert {"api_clients", "jwt_clients", "genai_max_output_tokens", "default_tokens_per_minute"} <= set(VARIABLES)
    assert _range(_conditions("genai_max_retries"), "var.genai_max_retries")[1] >= 1
    assert [s for s in bounds.SETTINGS.values() if s.variable], "no setting names its Terraform variable"


# -- each setting: its variable's default, validation, error message and form field -----------------

TERRAFORM_SETTINGS = {name: s for name, s in bounds.SETTINGS.items() if s.variable}


def _variable(setting: str) -> str:
    variable = TERRAFORM_SETTINGS[setting].variable
    assert variable is not None
    return variable


@pytest.mark.parametrize("setting", sorted(TERRAFORM_SETTINGS))
def test_each_variable_takes_the_functions_default(setting):
    spec, variable = TERRAFORM_SETTINGS[setting], _variable(setting)
    assert variable in VARIABLES, f"terraform/variables.tf: no variable {variable} (for {setting})"
    found = _default(variable)
    assert _same(found, spec.default), (
        f"terraform/variables.tf: {variable} defaults to {found!r}, genai_fn/bounds.py's {setting} to {spec.default!r}"
    )


@pytest.mark.parametrize("setting", sorted(n for n, s in TERRAFORM_SETTINGS.items() if s.bounds))
def test_each_variable_takes_the_functions_range_and_says_it(setting):
    spec, variable = TERRAFORM_SETTINGS[setting], _variable(setting)
    assert spec.bounds is not None
    expected = tuple(spec.bounds)
    found = _range(_conditions(variable), f"var.{variable}")
    assert found == expected, f"terraform/variables.tf: {variable} validates {found}, genai_fn/bounds.py {expected}"
    stated = _numbers(_messages(variable))
    assert stated == set(expected), (
        f"terraform/variables.tf: {variable}'s error_message states {sorted(stated)}, the range is {expected}"
    )


@pytest.mark.parametrize("setting", sorted(n for n, s in TERRAFORM_SETTINGS.items() if s.choices))
def test_each_variable_takes_the_functions_choices_and_says_them(setting):
    spec, variable = TERRAFORM_SETTINGS[setting], _variable(setting)
    found = _choices(_conditions(variable), f"var.{variable}")
    assert found == spec.choices, (
        f"terraform/variables.tf: {variable} allows {found}, genai_fn/bounds.py {spec.choices}"
    )
    said = set(re.findall(r"\w+", _messages(variable)))
    assert set(spec.choices) <= said, (
        f"terraform/variables.tf: {variable}'s error_message leaves out {sorted(set(spec.choices) - said)}"
    )


@pytest.mark.parametrize("setting", sorted(TERRAFORM_SETTINGS))
def test_the_form_offers_the_functions_values(setting):
    spec = TERRAFORM_SETTINGS[setting]
    field = SCHEMA.get(spec.variable)
    assert field is not None, f"terraform/schema.yaml: no field {spec.variable} (for {setting})"
    if spec.bounds:
        found = (field.get("minimum"), field.get("maximum"))
        assert found == tuple(spec.bounds), (
            f"terraform/schema.yaml: {spec.variable} offers minimum, maximum {found}, genai_fn/bounds.py {spec.bounds}"
        )
    if spec.choices:
        assert tuple(field.get("enum") or ()) == spec.choices, (
            f"terraform/schema.yaml: {spec.variable} offers {field.get('enum')}, genai_fn/bounds.py {spec.choices}"
        )
    if spec.default is None:
        assert "default" not in field, f"terraform/schema.yaml: {spec.variable} has a default, the function none"
    else:
        assert _same(field.get("default"), spec.default), (
            f"terraform/schema.yaml: {spec.variable} defaults to {field.get('default')!r}, "
            f"genai_fn/bounds.py's {setting} to {spec.default!r}"
        )


@pytest.mark.parametrize("setting", sorted(TERRAFORM_SETTINGS))
def test_each_variable_names_the_setting_it_sets(setting):
    variable = _variable(setting)
    assert setting in VARIABLES[variable]["description"], (
        f"terraform/variables.tf: {variable}'s description does not name {setting}, the setting it is"
    )


@pytest.mark.parametrize("setting", sorted(TERRAFORM_SETTINGS))
def test_terraform_sets_each_setting_from_its_variable(setting):
    variable = _variable(setting)
    text = "\n".join(p.read_text() for p in sorted(TF.glob("*.tf")))
    lines = re.findall(rf"\b{setting}\s*=\s*(.*)", text)
    assert lines, f"terraform/*.tf never sets {setting}"
    assert any(re.search(rf"\b(var|local)\.{variable}\b", line) for line in lines), (
        f"terraform/*.tf sets {setting} from {lines}, not from var.{variable}"
    )


def _python_setting_names() -> set[str]:
    """Every GENAI_* name genai_fn/settings.py and clients.py hold as a string: the settings the function reads."""
    names = set()
    for path in (ROOT / "genai_fn" / "settings.py", ROOT / "genai_fn" / "clients.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"GENAI_[A-Z0-9_]+", node.value):
                    names.add(node.value)
    return names


def test_every_setting_terraform_sets_is_one_the_function_reads():
    read = _python_setting_names()
    assert {"GENAI_MAX_RETRIES", "GENAI_CLIENT_POLICIES"} <= read, "the scan of settings.py found too little"
    set_by: dict[str, str] = {}
    for path in sorted(TF.glob("*.tf")):
        for name in re.findall(r"\b(GENAI_[A-Z0-9_]+)\s*=", path.read_text()):
            set_by.setdefault(name, path.name)
    assert {"GENAI_MAX_OUTPUT_TOKENS", "GENAI_LIMIT_STORE"} <= set(set_by), (
        "the scan of terraform/*.tf found too little"
    )
    unread = {name: where for name, where in set_by.items() if name not in read}
    assert not unread, f"Terraform sets settings genai_fn/settings.py never reads: {unread}"


# -- model names -------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", sorted(MODEL_VARIABLES))
def test_model_names_take_the_functions_pattern_and_length(variable):
    patterns = _regexes(_conditions(variable))
    assert len(patterns) == MODEL_VARIABLES[variable], f"terraform/variables.tf: {variable}: {patterns}"
    body = bounds.MODEL_NAME[1:-1]
    for pattern in patterns:
        # genai_allowed_models also takes "*" (any model).
        assert pattern in (bounds.MODEL_NAME, rf"^(\*|{body})$"), (
            f"terraform/variables.tf: {variable} checks {pattern}, genai_fn/bounds.py MODEL_NAME is {bounds.MODEL_NAME}"
        )
    stated = _numbers(_messages(variable))
    assert stated == {bounds.MODEL_NAME_CHARS}, (
        f"terraform/variables.tf: {variable}'s error_message states {sorted(stated)}, "
        f"genai_fn/bounds.py MODEL_NAME_CHARS is {bounds.MODEL_NAME_CHARS}"
    )


def test_model_name_pattern_takes_the_stated_length():
    pattern = re.compile(bounds.MODEL_NAME)
    assert pattern.match("m" * bounds.MODEL_NAME_CHARS) and not pattern.match("m" * (bounds.MODEL_NAME_CHARS + 1))


# -- families ----------------------------------------------------------------------------------------


def test_every_family_list_is_the_functions():
    text = (TF / "variables.tf").read_text()
    lists = [tuple(re.findall(r'"([^"]*)"', m)) for m in re.findall(r"contains\(\[([^\]]*)\], f\)", text)]
    # api_clients, api_clients_json, jwt_clients_json, jwt_clients.
    assert len(lists) == 4, f"terraform/variables.tf: expected 4 lists of families, found {len(lists)}"
    for found in lists:
        assert found == FAMILIES, f"terraform/variables.tf lists the families {found}, genai_fn/families.py {FAMILIES}"


@pytest.mark.parametrize("variable", ["api_clients", "jwt_clients"])
def test_family_error_messages_name_the_functions_families(variable):
    said = re.findall(r"families among ([^;.]*)[;.]", _messages(variable))
    assert len(said) == 1, f"terraform/variables.tf: {variable}'s error_message names no list of families"
    found = {name.strip() for name in re.split(r",| or ", said[0])}
    assert found == set(FAMILIES), (
        f"terraform/variables.tf: {variable}'s error_message lists {sorted(found)}, genai_fn/families.py {FAMILIES}"
    )


# -- client entries: their fields, names and token limits --------------------------------------------


@pytest.mark.parametrize(("variable", "fields"), [("api_clients", API_FIELDS), ("jwt_clients", JWT_FIELDS)])
def test_client_objects_have_the_functions_fields(variable, fields):
    found = _object_fields(VARIABLES[variable]["type"])
    assert found == fields, (
        f"terraform/variables.tf: {variable}'s object has {sorted(found)}; genai_fn/bounds.py gives {sorted(fields)} "
        f"(missing {sorted(fields - found)}, unknown {sorted(found - fields)})"
    )


@pytest.mark.parametrize(("variable", "fields"), [("api_clients_json", API_FIELDS), ("jwt_clients_json", JWT_FIELDS)])
def test_json_clients_allow_the_functions_fields(variable, fields):
    found = set(_allow_list(variable))
    assert found == fields, (
        f"terraform/variables.tf: {variable} allows {sorted(found)}; genai_fn/bounds.py gives {sorted(fields)}"
    )


@pytest.mark.parametrize(
    ("local", "fields"), [("api_clients_from_json", API_FIELDS), ("jwt_clients_from_json", JWT_FIELDS)]
)
def test_json_clients_are_decoded_with_every_field(local, fields):
    text = (TF / "inputs.tf").read_text()
    block = re.search(rf"\n  {local} = tomap\(\{{\n(.*?)\n  \}}\)\n", text, re.S)
    assert block, f"terraform/inputs.tf: no local {local}"
    found = set(re.findall(r"^\s+(\w+)\s+= ", block.group(1), re.M))
    assert found == fields, (
        f"terraform/inputs.tf: {local} decodes {sorted(found)}; genai_fn/bounds.py gives {sorted(fields)}"
    )


def test_the_policy_terraform_renders_has_the_functions_fields():
    text = (TF / "clients.tf").read_text()
    block = re.search(r"\n  policy_clients = (.*?)\n  hash_only_clients", text, re.S)
    assert block, "terraform/clients.tf: no local policy_clients"
    sent = set(re.findall(r"(\w+)\s*= c\.", block.group(1)))
    scope = re.search(r"\n  client_scope = \{(.*?)\n  \}\n", text, re.S)
    assert scope, "terraform/clients.tf: no local client_scope"
    scoped = set(re.findall(r"^\s+(\w+)\s+= ", scope.group(1), re.M))
    assert sent | scoped == set(bounds.POLICY_FIELDS), (
        f"terraform/clients.tf renders {sorted(sent | scoped)} into GENAI_CLIENT_POLICIES, "
        f"genai_fn/bounds.py POLICY_FIELDS is {sorted(bounds.POLICY_FIELDS)}"
    )


@pytest.mark.parametrize("variable", ["jwt_clients", "jwt_clients_json"])
def test_client_names_take_the_functions_length(variable):
    found = re.findall(r"length\(name\) >= (\d+) && length\(name\) <= (\d+)", _conditions(variable))
    assert found == [("1", str(bounds.MAX_CLIENT_NAME_CHARS))], (
        f"terraform/variables.tf: {variable} takes names of {found} characters, "
        f"genai_fn/bounds.py MAX_CLIENT_NAME_CHARS is {bounds.MAX_CLIENT_NAME_CHARS}"
    )
    if variable == "jwt_clients":
        (message,) = [v["error_message"] for v in _validations(variable) if "length(name)" in v["condition"]]
        stated = _numbers(message)
        assert stated == {1, bounds.MAX_CLIENT_NAME_CHARS}, (
            f"terraform/variables.tf: jwt_clients's error_message states {sorted(stated)}, "
            f"genai_fn/bounds.py MAX_CLIENT_NAME_CHARS is {bounds.MAX_CLIENT_NAME_CHARS}"
        )


@pytest.mark.parametrize("variable", ["api_clients_json", "jwt_clients_json"])
def test_the_forms_examples_use_only_the_functions_fields_and_families(variable):
    description = SCHEMA[variable]["description"]
    example, _ = json.JSONDecoder().raw_decode(description[description.index("{") :])
    fields = API_FIELDS if variable == "api_clients_json" else JWT_FIELDS
    for name, entry in example.items():
        assert set(entry) <= fields, (
            f"terraform/schema.yaml: {variable}'s example gives {name} {sorted(set(entry) - fields)}"
        )
        assert set(entry.get("families", ())) <= set(FAMILIES), (
            f"terraform/schema.yaml: {variable}: {entry['families']}"
        )


@pytest.mark.parametrize("clients", ["api_clients", "jwt_clients"])
def test_client_token_limits_take_the_functions_bounds(clients):
    text = _conditions(clients)
    assert _range(text, "c.tokens_per_minute") == tuple(bounds.TOKENS_PER_MINUTE)
    assert _range(text, "c.token_quota") == tuple(bounds.TOKEN_QUOTA)
    assert _choices(text, "c.token_quota_period") == tuple(bounds.QUOTA_PERIODS)
    stated = _numbers(_validations(clients)[0]["error_message"])
    assert stated == {*bounds.TOKENS_PER_MINUTE, *bounds.TOKEN_QUOTA}, (
        f"terraform/variables.tf: {clients}'s token-limit error_message states {sorted(stated)}"
    )


@pytest.mark.parametrize("clients", ["api_clients_json", "jwt_clients_json"])
def test_json_client_token_limits_take_the_functions_bounds(clients):
    text = _conditions(clients)
    assert _range(text, "c.tokens_per_minute") == tuple(bounds.TOKENS_PER_MINUTE)
    assert _range(text, "c.token_quota") == tuple(bounds.TOKEN_QUOTA)
    assert _choices(text, "c.token_quota_period") == tuple(bounds.QUOTA_PERIODS)
