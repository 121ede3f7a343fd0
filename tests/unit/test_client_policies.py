"""Per-client policy: the GENAI_CLIENT_POLICIES format, its start-up checks, and its one rendering.

The function's behaviour under a policy is tested through the local gateway
(tests/integration/test_clients.py); here, what the setting accepts and how
Terraform and `make run` write it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dev.local import clients as local_clients
from genai_fn.families import Family
from genai_fn.settings import Settings, SettingsError
from tests.conftest import invoke, load_function

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "GENAI_PROJECT_OCID": "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaexample",
    "GENAI_REGION": "us-chicago-1",
    "GENAI_ALLOWED_MODELS": "openai.gpt-oss-120b,openai.gpt-oss-20b",
    "GENAI_MODEL_ALIASES": "gpt-4o-mini=openai.gpt-oss-20b",
    "GENAI_MAX_OUTPUT_TOKENS": "4096",
}


PROJECT_A = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaa"
PROJECT_B = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaab"
COMPARTMENT_A = "ocid1.compartment.oc1..aaaaaaaaa"


def settings_with(policies: object) -> Settings:
    return Settings.from_environ({**BASE, "GENAI_CLIENT_POLICIES": json.dumps(policies)})


def test_a_valid_table_is_read_and_unset_means_none():
    settings = settings_with(
        {
            "a": {"project": PROJECT_A, "compartment": COMPARTMENT_A},
            "b": {"models": ["gpt-4o-mini"], "max_output_tokens": 10, "families": ["chat"], "project": PROJECT_B},
        }
    )
    assert settings.client_policies is not None
    policy = settings.client_policies["b"]
    assert (
        policy.models == frozenset({"gpt-4o-mini"})
        and policy.max_output_tokens == 10
        and policy.families == frozenset({"chat"})
    )
    assert settings.client_policies["a"].models is None
    assert settings.client_policies["a"].project == PROJECT_A and settings.client_policies["b"].compartment is None
    assert Settings.from_environ(BASE).client_policies is None


@pytest.mark.parametrize(
    ("policies", "says"),
    [
        ({"b": {"max_output_tokens": 5000}}, "GENAI_MAX_OUTPUT_TOKENS (4096)"),
        ({"b": {"max_output_tokens": True}}, "max_output_tokens"),
        ({"b": {"models": ["meta.llama"]}}, "meta.llama are not allowed here"),
        ({"b": {"families": ["images"]}}, "unknown families images"),
        ({"b": {"models": []}}, "non-empty list"),
        ({"b": {"quota": 1}}, "only compartment, families, max_output_tokens, models, project"),
        ({}, "JSON object"),
        ([], "JSON object"),
    ],
)
def test_a_bad_table_is_refused_at_start_up_naming_the_setting(policies, says):
    with pytest.raises(SettingsError) as caught:
        settings_with(policies)
    assert (
        list(caught.value.problems) == ["GENAI_CLIENT_POLICIES"]
        and says in caught.value.problems["GENAI_CLIENT_POLICIES"]
    )


def test_not_json_is_refused():
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({**BASE, "GENAI_CLIENT_POLICIES": "{alice"})
    assert "not valid JSON" in caught.value.problems["GENAI_CLIENT_POLICIES"]


def test_any_model_is_listable_when_every_model_is_allowed():
    settings = Settings.from_environ(
        {**BASE, "GENAI_ALLOWED_MODELS": "*", "GENAI_CLIENT_POLICIES": '{"a": {"models": ["x.y"]}}'}
    )
    assert settings.client_policies is not None and settings.client_policies["a"].models == frozenset({"x.y"})


def test_render_is_the_twin_of_terraform():
    # The same api_clients and the same expected string as terraform/tests/clients.tftest.hcl's
    # policies_rendered_and_header_set run (there the names carry the stack id: "SID." here).
    # alice's tokens_per_hour is a budget for an alarm, not a policy: accepted, and left out.
    api_clients: dict[str, dict[str, Any]] = {
        "alice": {
            "key_hashes": ["a" * 64],
            "tokens_per_hour": 100000,
            "project_ocid": "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaalice",
            "compartment_ocid": "ocid1.compartment.oc1..aaaaaaaaalice",
        },
        "bob": {
            "key_hashes": ["b" * 64],
            "models": ["gpt-4o-mini"],
            "max_output_tokens": 1024,
            "families": ["responses", "chat"],
            "project_ocid": "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaabob",
            "compartment_ocid": "ocid1.compartment.oc1..aaaaaaaaabob",
        },
    }
    tftest = (ROOT / "terraform" / "tests" / "clients.tftest.hcl").read_text()
    found = re.search(r'replace\(\s*"((?:[^"\\]|\\.)*)"', tftest)
    assert found, "the expected string of the Terraform run"
    expected = json.loads(found.group(1).encode().decode("unicode_escape"))
    rendered = local_clients.render_policies(api_clients, token=lambda name: f"SID.{name}")
    assert json.loads(rendered) == expected
    assert rendered == json.dumps(expected, sort_keys=True, separators=(",", ":"))
    assert local_clients.render_policies({"alice": {"key_hashes": ["a" * 64]}}) == ""
    assert local_clients.render_policies({"alice": {"key_hashes": ["a" * 64], "tokens_per_hour": 10}}) == ""


def test_terraform_validates_families_against_the_route_table():
    variables = (ROOT / "terraform" / "variables.tf").read_text()
    lists = re.findall(r"contains\((\[\"simple\"[^]]*\]), f\)", variables)
    assert len(lists) == 4, "api_clients, jwt_clients and their JSON forms (Resource Manager) all check families"
    for listed in lists:
        assert json.loads(listed) == [f.value for f in Family]


def test_the_clients_file_is_read_as_terraform_reads_it(tmp_path):
    path = tmp_path / "clients.auto.tfvars.json"
    assert local_clients.load(path) == local_clients.ClientsFile()
    path.write_text(
        json.dumps(
            {
                "api_clients": {"bob": {"key_hashes": ["b" * 64], "models": ["m"]}},
                "cors_allowed_origins": ["https://a.example"],
            }
        )
    )
    loaded = local_clients.load(path)
    assert loaded.api_clients["bob"]["models"] == ["m"] and loaded.cors_allowed_origins == ("https://a.example",)
    path.write_text('{"api_clients": []}')
    with pytest.raises(ValueError, match=r"clients\.auto\.tfvars\.json"):
        local_clients.load(path)


# -- the function, in-process through fdk (no gateway: these are the calls a gateway never makes) --


@pytest.fixture
def fn(monkeypatch, function_env):
    config = {**function_env, **{k: v for k, v in BASE.items() if k not in ("GENAI_REGION", "GENAI_PROJECT_OCID")}}
    config["GENAI_CLIENT_POLICIES"] = json.dumps({"bob": {"families": ["responses"]}})
    return load_function(monkeypatch, config)


def test_with_policies_a_call_naming_no_listed_client_is_refused(fn, emulator):
    calls = len(emulator.calls)
    for headers in ({}, {"x-genai-client": "mallory"}):
        status, _, body = invoke(
            fn, "POST", "/v1/responses", b'{"input": "x"}', {"content-type": "application/json", **headers}
        )
        error = json.loads(body)["error"]
        assert status == 403 and error["code"] == "client_not_allowed" and error["type"] == "permission_error"
    assert len(emulator.calls) == calls
    status, _, _ = invoke(
        fn, "POST", "/v1/responses", b'{"input": "x"}', {"content-type": "application/json", "x-genai-client": "bob"}
    )
    assert status == 200


def test_health_and_direct_invocations_are_not_client_calls(fn):
    assert invoke(fn, "GET", "/health")[0] == 200
    # `fn invoke` needs an IAM permission on the function: the operator's call, under the global settings.
    status, _, body = invoke(fn, "POST", "/", b"hello", gateway=False)
    assert status == 200 and json.loads(body)["output_text"] == "Echo: hello"
