"""The function and its docs against the one definition of each bound, default and name (genai_fn/bounds.py).

settings.py must read each setting with the definition's range and default
(tested by behaviour: the bounds accepted, one step beyond them refused, the
default when unset); docs/configuration.md must state the same defaults and
ranges, and list exactly the settings the function reads; docs/clients.md the
families of genai_fn/families.py and the policy fields. Terraform's copies:
tests/terraform/test_limit_bounds.py.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from genai_fn import bounds
from genai_fn.families import Family
from genai_fn.settings import Settings, SettingsError
from tests.conftest import LIMIT_STORE_SETTINGS, MINIMAL_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
CLIENTS = ROOT / "docs" / "clients.md"
BASE = MINIMAL_SETTINGS
#: What a token limit needs besides itself: the store (never reached: from_environ only reads settings).
STORE = {**LIMIT_STORE_SETTINGS, "GENAI_TOKENS_PER_MINUTE": "1000"}
#: Set by OCI Functions in every container, never by a user: not in the settings table.
PLATFORM = re.compile(r"OCI_RESOURCE_PRINCIPAL_[A-Z_]+|OCI_REGION_METADATA")

#: How each setting with a definition is seen on a `Settings`.
READ: dict[str, Callable[[Settings], object]] = {
    "GENAI_DEFAULT_MODEL": lambda s: s.default_model,
    "GENAI_MAX_OUTPUT_TOKENS": lambda s: s.max_output_tokens,
    "GENAI_DEFAULT_OUTPUT_TOKENS": lambda s: s.default_output_tokens,
    "GENAI_MAX_BODY_BYTES": lambda s: s.max_body_bytes,
    "GENAI_MAX_RETRIES": lambda s: s.max_retries,
    "GENAI_TIMEOUT_SECONDS": lambda s: s.attempt_timeout_s,
    "GENAI_DEADLINE_MARGIN_MS": lambda s: round(s.deadline_margin_s * 1000),
    "GENAI_LOG_LEVEL": lambda s: s.log_level,
    "GENAI_LOG_PROMPTS": lambda s: s.log_prompts,
    "GENAI_EAGER_START": lambda s: s.eager_start,
    "OCI_AUTH": lambda s: s.auth_mode,
    "GENAI_BREAKER_FAILURES": lambda s: s.breaker_failures,
    "GENAI_BREAKER_COOLDOWN_SECONDS": lambda s: s.breaker_cooldown_s,
    "GENAI_FAILOVER_SHARE": lambda s: s.failover_share,
    "GENAI_TOKENS_PER_MINUTE": lambda s: s.limits and s.limits.tokens_per_minute,
    "GENAI_TOKEN_QUOTA": lambda s: s.limits and s.limits.token_quota,
    "GENAI_TOKEN_QUOTA_PERIOD": lambda s: s.limits and s.limits.token_quota_period,
    "GENAI_LIMIT_STORE_TIMEOUT_MS": lambda s: s.limits and round(s.limits.timeout_s * 1000),
    "GENAI_LIMIT_FAILURE_MODE": lambda s: s.limits and s.limits.failure_mode,
}


def _env(name: str, value: str) -> dict[str, str]:
    """A configuration that sets `name` to `value` and is otherwise valid."""
    env = {**BASE, name: value}
    if name.startswith(("GENAI_TOKEN", "GENAI_LIMIT_")):
        env = {**STORE, **env}
    if name == "GENAI_TOKEN_QUOTA":
        env["GENAI_TOKEN_QUOTA_PERIOD"] = "day"
    if name == "GENAI_TOKEN_QUOTA_PERIOD":
        env["GENAI_TOKEN_QUOTA"] = "10"
    if name == "GENAI_DEFAULT_OUTPUT_TOKENS":
        env["GENAI_MAX_OUTPUT_TOKENS"] = str(bounds.MAX_OUTPUT_TOKENS[1])
    return env


def _text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def test_the_definitions_import_nothing_of_the_function():
    # So that settings, clients, dev/ and the tests can all import them without a circle.
    for module in ("bounds", "families"):
        tree = ast.parse((ROOT / "genai_fn" / f"{module}.py").read_text())
        imported = [
            node.module or "." if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        ]
        relative = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
        assert not relative and not [m for m in imported if m.startswith("genai_fn")], (
            f"genai_fn/{module}.py: {imported}"
        )


def test_every_setting_with_a_definition_is_seen_here():
    assert set(READ) == set(bounds.SETTINGS)


@pytest.mark.parametrize("name", sorted(n for n, s in bounds.SETTINGS.items() if s.bounds))
def test_settings_takes_each_number_within_the_definitions_range_only(name):
    spec = bounds.SETTINGS[name]
    assert spec.bounds is not None
    low, high = spec.bounds
    step = 1 if low == int(low) and high == int(high) else 0.01
    for value in (low, high):
        assert READ[name](Settings.from_environ(_env(name, _text(value)))) == value, f"{name}={value}"
    for value in (low - step, high + step):
        with pytest.raises(SettingsError) as refused:
            Settings.from_environ(_env(name, _text(value)))
        assert f"between {low:.12g} and {high:.12g}" in refused.value.problems[name], refused.value.problems


@pytest.mark.parametrize("name", sorted(n for n, s in bounds.SETTINGS.items() if s.choices))
def test_settings_takes_each_choice_of_the_definition_only(name):
    spec = bounds.SETTINGS[name]
    for choice in spec.choices:
        env = {**_env(name, choice), **({"OCI_GENAI_API_KEY": "k" * 16} if choice == "api_key" else {})}
        assert READ[name](Settings.from_environ(env)) == choice
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ(_env(name, "nonesuch"))
    assert name in refused.value.problems


@pytest.mark.parametrize("name", sorted(bounds.SETTINGS))
def test_settings_defaults_are_the_definitions(name):
    spec = bounds.SETTINGS[name]
    # A limit's store settings are read only once a limit is set (GENAI_TOKENS_PER_MINUTE's default is none).
    env = {**STORE, **BASE} if name.startswith(("GENAI_LIMIT_", "GENAI_TOKEN_QUOTA")) else BASE
    assert READ[name](Settings.from_environ(env)) == spec.default


def test_model_names_take_the_definitions_length():
    longest = "m" * bounds.MODEL_NAME_CHARS
    assert Settings.from_environ({**BASE, "GENAI_DEFAULT_MODEL": longest}).default_model == longest
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({**BASE, "GENAI_DEFAULT_MODEL": longest + "m"})
    assert "GENAI_DEFAULT_MODEL" in refused.value.problems


# -- docs/configuration.md ---------------------------------------------------------------------------


def _rows() -> list[tuple[list[str], list[str], str]]:
    """Each row of the settings table: its names, its backticked defaults, and the whole row's text."""
    rows = []
    for line in CONFIGURATION.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        assert len(cells) == 3, f"docs/configuration.md: a row of {len(cells)} cells: {line}"
        rows.append((re.findall(r"`([^`]+)`", cells[0]), re.findall(r"`([^`]+)`", cells[1]), line))
    assert len(rows) > 20, "docs/configuration.md: the settings table was not found"
    return rows


ROWS = _rows()


def _read_settings() -> set[str]:
    """Every setting name genai_fn/settings.py and clients.py hold as a string, less the platform's own."""
    names = set()
    for path in (ROOT / "genai_fn" / "settings.py", ROOT / "genai_fn" / "clients.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"(GENAI|OCI)_[A-Z0-9_]+", node.value) and not PLATFORM.fullmatch(node.value):
                    names.add(node.value)
    return names


def test_the_table_lists_exactly_the_settings_the_function_reads():
    read = _read_settings()
    assert {"GENAI_MAX_RETRIES", "GENAI_CLIENT_POLICIES", "OCI_AUTH"} <= read, (
        "the scan of settings.py found too little"
    )
    listed = [name for names, _, _ in ROWS for name in names]
    assert len(listed) == len(set(listed)), f"docs/configuration.md lists a setting twice: {sorted(listed)}"
    assert set(listed) == read, (
        f"docs/configuration.md lists {sorted(set(listed) - read)} which genai_fn/settings.py does not read, "
        f"and leaves out {sorted(read - set(listed))}"
    )


def _row(name: str) -> tuple[list[str], list[str], str]:
    found = [row for row in ROWS if name in row[0]]
    assert len(found) == 1, f"docs/configuration.md: {name} is in {len(found)} rows"
    return found[0]


def _same(stated: str, value: object) -> bool:
    if isinstance(value, bool):
        return stated == str(value).lower()
    if isinstance(value, (int, float)):
        return re.fullmatch(r"[0-9.]+", stated) is not None and float(stated) == value
    return stated == value


@pytest.mark.parametrize("name", sorted(bounds.SETTINGS))
def test_the_table_states_each_default_of_the_definition(name):
    names, defaults, _ = _row(name)
    default = bounds.SETTINGS[name].default
    stated = defaults[names.index(name)] if names.index(name) < len(defaults) else None
    if default is None:
        assert stated is None, f"docs/configuration.md: {name} states the default {stated!r}, genai_fn/bounds.py none"
    else:
        assert stated is not None and _same(stated, default), (
            f"docs/configuration.md: {name} states the default {stated!r}, genai_fn/bounds.py {default!r}"
        )


def _range_text(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


@pytest.mark.parametrize("name", sorted(n for n, s in bounds.SETTINGS.items() if s.bounds))
def test_the_table_states_each_range_of_the_definition(name):
    names, _, line = _row(name)
    ranged = [n for n in names if n in bounds.SETTINGS and bounds.SETTINGS[n].bounds]
    assert ranged == [name], f"docs/configuration.md: one row per setting with a range, not {ranged}"
    spec = bounds.SETTINGS[name]
    assert spec.bounds is not None
    expected = f"{_range_text(spec.bounds[0])} to {_range_text(spec.bounds[1])}"
    stated = re.findall(r"(\d(?:[\d,.]*\d)?) to (\d(?:[\d,.]*\d)?)", line)
    assert re.search(rf"(?<![\d,.]){re.escape(expected)}(?!\d|[,.]\d)", line), (
        f"docs/configuration.md: {name} states {stated}, genai_fn/bounds.py {expected}"
    )


@pytest.mark.parametrize("name", sorted(n for n, s in bounds.SETTINGS.items() if s.choices))
def test_the_table_names_each_choice_of_the_definition(name):
    _, _, line = _row(name)
    named = set(re.findall(r"`([^`]+)`", line))
    missing = set(bounds.SETTINGS[name].choices) - named
    assert not missing, f"docs/configuration.md: {name}'s row leaves out {sorted(missing)}"


def test_the_table_states_the_model_name_length():
    _, _, line = _row("GENAI_DEFAULT_MODEL")
    stated = re.findall(r"at most (\d+) characters", line)
    assert stated == [str(bounds.MODEL_NAME_CHARS)], (
        f"docs/configuration.md: model names of at most {stated}, genai_fn/bounds.py {bounds.MODEL_NAME_CHARS}"
    )


# -- docs/clients.md -----------------------------------------------------------------------------------


def test_clients_doc_lists_every_family_and_no_other():
    text = CLIENTS.read_text()
    bullet = re.search(r"\n- \*\*families\*\*:(.*?)(?=\n- \*\*|\n\n)", text, re.S)
    assert bullet, "docs/clients.md: no **families** bullet"
    named = {n for n in re.findall(r"`([^`]+)`", bullet.group(1)) if re.fullmatch(r"[a-z_]+", n)}
    families = {f.value for f in Family}
    assert named == families, (
        f"docs/clients.md lists the families {sorted(named)}; genai_fn/families.py has {sorted(families)} "
        f"(missing {sorted(families - named)}, unknown {sorted(named - families)})"
    )


def test_clients_doc_names_every_policy_field():
    text = CLIENTS.read_text()
    in_terraform = [bounds.POLICY_FIELDS_IN_TERRAFORM.get(f, f) for f in bounds.POLICY_FIELDS]
    missing = [f for f in in_terraform if not re.search(rf"`{f}`|^\s*{f}\s+=", text, re.M)]
    assert not missing, f"docs/clients.md never names the policy fields {missing} (genai_fn/bounds.py POLICY_FIELDS)"
