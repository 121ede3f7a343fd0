"""Token limits' bounds: Terraform's validations and schema.yaml against the function's one definition, by value.

The module genai_fn.limits.bounds holds the numbers a limit may take; terraform/variables.tf
repeats them as literals in its validations (a Terraform validation cannot
read Python), and schema.yaml as the Resource Manager form's minimum/maximum.
These tests read the literals out of the parsed HCL and compare each with the
Python value, so a bound changed on one side only fails here, naming both.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import re

import hcl2  # python-hcl2==8.1.4 (requirements-dev.txt); a missing parser must fail, not skip
import pytest
import yaml  # PyYAML==6.0.3 (requirements-dev.txt)

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"


def _bounds():
    # The limits package comes from the function's side of the feature; without
    # it there is nothing to compare with. Once it is there, bounds.py must be.
    if importlib.util.find_spec("genai_fn.limits") is None:
        pytest.skip("the package genai_fn.limits is not in this tree (the function's side of token limits)")
    return importlib.import_module("genai_fn.limits.bounds")


def _variables() -> dict[str, dict]:
    doc = hcl2.loads((TF / "variables.tf").read_text())
    found = {}
    for entry in doc["variable"]:
        for label, body in entry.items():
            found[label.strip('"')] = body
    return found


VARIABLES = _variables()


def _conditions(name: str) -> str:
    """Every validation condition of a variable, as one text."""
    validations = VARIABLES[name].get("validation") or []
    assert validations, f"variable {name} has no validation"
    return " ".join(v["condition"] for v in validations)


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


def _default(name: str):
    value = VARIABLES[name].get("default")
    return value.strip('"') if isinstance(value, str) else value


def test_the_parser_reads_the_limit_variables():
    # A check that reads nothing must fail (python-hcl2 8.x changed how labels come back).
    assert {"api_clients", "jwt_clients", "default_tokens_per_minute", "default_token_quota"} <= set(VARIABLES)
    assert _range(_conditions("default_tokens_per_minute"), "var.default_tokens_per_minute")[1] > 1


@pytest.mark.parametrize("clients", ["api_clients", "jwt_clients"])
def test_client_fields_take_the_functions_bounds(clients):
    bounds = _bounds()
    text = _conditions(clients)
    assert _range(text, "c.tokens_per_minute") == tuple(bounds.TOKENS_PER_MINUTE)
    assert _range(text, "c.token_quota") == tuple(bounds.TOKEN_QUOTA)
    assert _choices(text, "c.token_quota_period") == tuple(bounds.QUOTA_PERIODS)


def test_defaults_take_the_functions_bounds():
    bounds = _bounds()
    assert _range(_conditions("default_tokens_per_minute"), "var.default_tokens_per_minute") == tuple(
        bounds.TOKENS_PER_MINUTE
    )
    assert _range(_conditions("default_token_quota"), "var.default_token_quota") == tuple(bounds.TOKEN_QUOTA)
    assert _choices(_conditions("default_token_quota_period"), "var.default_token_quota_period") == tuple(
        bounds.QUOTA_PERIODS
    )


def test_store_settings_take_the_functions_bounds_and_defaults():
    bounds = _bounds()
    assert _range(_conditions("limit_store_timeout_ms"), "var.limit_store_timeout_ms") == tuple(bounds.STORE_TIMEOUT_MS)
    assert _default("limit_store_timeout_ms") == bounds.DEFAULT_STORE_TIMEOUT_MS
    assert _choices(_conditions("limit_failure_mode"), "var.limit_failure_mode") == tuple(bounds.FAILURE_MODES)
    assert _default("limit_failure_mode") == bounds.DEFAULT_FAILURE_MODE


def test_schema_yaml_offers_the_same_bounds():
    bounds = _bounds()
    spec = yaml.safe_load((TF / "schema.yaml").read_text())["variables"]
    ranges = {
        "default_tokens_per_minute": bounds.TOKENS_PER_MINUTE,
        "default_token_quota": bounds.TOKEN_QUOTA,
        "limit_store_timeout_ms": bounds.STORE_TIMEOUT_MS,
    }
    for name, (low, high) in ranges.items():
        assert (spec[name]["minimum"], spec[name]["maximum"]) == (low, high), name
    assert tuple(spec["default_token_quota_period"]["enum"]) == tuple(bounds.QUOTA_PERIODS)
    assert tuple(spec["limit_failure_mode"]["enum"]) == tuple(bounds.FAILURE_MODES)
