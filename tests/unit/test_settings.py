"""Configuration: read once, validated, with errors that name the setting."""

import json
import re
from pathlib import Path

import pytest

from genai_fn.settings import Settings, SettingsError

PROJECT = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaexample"
MINIMAL = {"GENAI_PROJECT_OCID": PROJECT, "GENAI_REGION": "us-chicago-1"}


def test_minimal_configuration_gets_documented_defaults():
    s = Settings.from_environ(MINIMAL)
    assert s.base_url == "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/openai/v1"
    assert s.default_model == "openai.gpt-oss-120b"
    assert s.allowed_models == frozenset({"openai.gpt-oss-120b"})
    # A cap only, nothing injected; the body limit is the platform's own 6 MB.
    assert (s.max_output_tokens, s.default_output_tokens) == (32768, 0)
    assert (s.max_body_bytes, s.max_retries) == (6 * 1024 * 1024, 2)
    assert s.model_aliases == {}
    assert s.control_base_url == "https://generativeai.us-chicago-1.oci.oraclecloud.com/20231130/openai/v1"
    assert s.compartment_ocid == ""
    assert s.auth_mode == "auto"
    assert s.log_prompts is False
    assert s.deadline_margin_s == 1.0


def test_missing_project_is_named():
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({"GENAI_REGION": "us-chicago-1"})
    assert list(caught.value.problems) == ["GENAI_PROJECT_OCID"]
    assert "GENAI_PROJECT_OCID: is required but not set" in str(caught.value)


def test_every_bad_setting_is_reported_at_once():
    env = {
        "GENAI_PROJECT_OCID": "ocid1.bucket.oc1..x",
        "GENAI_REGION": "Chicago",
        "GENAI_MAX_OUTPUT_TOKENS": "lots",
        "GENAI_MAX_BODY_BYTES": str(7 * 1024 * 1024),
        "GENAI_LOG_PROMPTS": "maybe",
        "GENAI_EAGER_START": "soon",
        "OCI_AUTH": "password",
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ(env)
    assert set(caught.value.problems) == {
        "GENAI_PROJECT_OCID",
        "GENAI_REGION",
        "GENAI_MAX_OUTPUT_TOKENS",
        "GENAI_MAX_BODY_BYTES",
        "GENAI_LOG_PROMPTS",
        "GENAI_EAGER_START",
        "OCI_AUTH",
    }
    assert "must be between 1024 and 6291456" in caught.value.problems["GENAI_MAX_BODY_BYTES"]


def test_region_comes_from_the_resource_principal_when_not_set():
    s = Settings.from_environ({"GENAI_PROJECT_OCID": PROJECT, "OCI_RESOURCE_PRINCIPAL_REGION": "eu-frankfurt-1"})
    assert s.region == "eu-frankfurt-1"
    assert "eu-frankfurt-1.oci.oraclecloud.com" in s.base_url


def test_no_region_anywhere_is_named():
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({"GENAI_PROJECT_OCID": PROJECT})
    assert "GENAI_REGION" in caught.value.problems


def test_sovereign_realm_domain_comes_from_region_metadata():
    meta = json.dumps({"realmKey": "oc9", "realmDomainComponent": "oraclecloud9.com"})
    s = Settings.from_environ({**MINIMAL, "OCI_REGION_METADATA": meta})
    assert s.base_url == "https://inference.generativeai.us-chicago-1.oci.oraclecloud9.com/openai/v1"


def test_unreadable_region_metadata_is_named():
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({**MINIMAL, "OCI_REGION_METADATA": "{not json"})
    assert "OCI_REGION_METADATA" in caught.value.problems


def test_base_url_override_needs_no_region():
    s = Settings.from_environ({"GENAI_PROJECT_OCID": PROJECT, "GENAI_BASE_URL": "http://127.0.0.1:9/openai/v1/"})
    assert s.base_url == "http://127.0.0.1:9/openai/v1"


def test_allowed_models_list_and_wildcard():
    s = Settings.from_environ({**MINIMAL, "GENAI_ALLOWED_MODELS": "openai.gpt-oss-120b, xai.grok-4"})
    assert s.model_allowed("xai.grok-4") and not s.model_allowed("openai.gpt-oss-20b")
    anything = Settings.from_environ({**MINIMAL, "GENAI_ALLOWED_MODELS": "*"})
    assert anything.allowed_models is None and anything.model_allowed("whatever.model")


def test_allowed_models_must_include_the_default():
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({**MINIMAL, "GENAI_ALLOWED_MODELS": "xai.grok-4"})
    assert "GENAI_ALLOWED_MODELS" in caught.value.problems


def test_summary_holds_no_project_ocid():
    summary = Settings.from_environ(MINIMAL).summary()
    assert summary["project_configured"] is True
    assert PROJECT not in json.dumps(summary)


def test_eager_start_is_off_unless_asked_and_boot_reads_the_same_setting():
    from genai_fn.boot import eager_start_requested

    base = {"GENAI_PROJECT_OCID": PROJECT, "GENAI_REGION": "us-chicago-1"}
    assert Settings.from_environ(base).eager_start is False
    assert Settings.from_environ({**base, "GENAI_EAGER_START": "true"}).eager_start is True
    assert eager_start_requested({**base, "GENAI_EAGER_START": "1"}) is True
    assert eager_start_requested(base) is False
    # A broken configuration is reported on every call; boot does not crash on it.
    assert eager_start_requested({"GENAI_EAGER_START": "true"}) is False


def test_model_aliases_are_read_and_must_point_at_allowed_models():
    s = Settings.from_environ(
        {**MINIMAL, "GENAI_MODEL_ALIASES": " gpt-4o-mini = openai.gpt-oss-120b ,gpt-4o=openai.gpt-oss-120b"}
    )
    assert s.model_aliases == {"gpt-4o-mini": "openai.gpt-oss-120b", "gpt-4o": "openai.gpt-oss-120b"}
    assert s.resolve_model("gpt-4o") == "openai.gpt-oss-120b" and s.resolve_model("gpt-5") is None
    assert s.served_models() == ["gpt-4o", "gpt-4o-mini", "openai.gpt-oss-120b"]
    for bad, why in [("gpt-4o", "name=model"), ("a=b=c", "name=model"), ("gpt-4o=xai.grok-4", "does not allow")]:
        with pytest.raises(SettingsError) as caught:
            Settings.from_environ({**MINIMAL, "GENAI_MODEL_ALIASES": bad})
        assert why in caught.value.problems["GENAI_MODEL_ALIASES"]


def test_a_default_output_limit_may_not_exceed_the_cap():
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({**MINIMAL, "GENAI_MAX_OUTPUT_TOKENS": "100", "GENAI_DEFAULT_OUTPUT_TOKENS": "200"})
    assert "must not exceed GENAI_MAX_OUTPUT_TOKENS (100)" in caught.value.problems["GENAI_DEFAULT_OUTPUT_TOKENS"]


def test_the_compartment_must_be_an_ocid():
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({**MINIMAL, "GENAI_COMPARTMENT_OCID": "my-compartment"})
    assert list(caught.value.problems) == ["GENAI_COMPARTMENT_OCID"]
    ok = "ocid1.compartment.oc1..aaaaaaaaexample"
    assert Settings.from_environ({**MINIMAL, "GENAI_COMPARTMENT_OCID": ok}).compartment_ocid == ok


def test_func_yaml_and_the_configuration_page_list_every_setting_the_function_reads():
    root = Path(__file__).resolve().parents[2]
    read = set(re.findall(r'reader\.\w+\(\s*"((?:GENAI|OCI)_[A-Z_]+)"', (root / "genai_fn/settings.py").read_text()))
    platform = {"OCI_RESOURCE_PRINCIPAL_REGION", "OCI_REGION_METADATA"}  # set by OCI Functions, not by you
    assert "GENAI_MODEL_ALIASES" in read and len(read) > 15, "the pattern still finds what settings.py reads"
    listed = set(re.findall(r"(?:GENAI|OCI)_[A-Z_]+", (root / "func.yaml").read_text()))
    assert read - platform == listed
    documented = (root / "docs" / "configuration.md").read_text()
    assert not [name for name in read - platform if name not in documented]
