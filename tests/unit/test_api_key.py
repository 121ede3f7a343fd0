"""OCI_AUTH=api_key: a Generative AI API key for local development, never shown, refused when deployed.

The settings in-process; the function in-process through fdk against the emulator, which accepts a
Bearer key its issuer issued and refuses any other with OCI's 401 (dev/local/emulator/core.py).
"""

from __future__ import annotations

import json

import httpx
import pytest

from dev.local.credentials import COMPARTMENT, PROJECT, Issuer
from dev.local.emulator import Emulator
from genai_fn.settings import Settings, SettingsError
from tests.conftest import invoke, load_function

KEY = "sk-local-development-key-0123456789"
LOCAL = {"GENAI_PROJECT_OCID": PROJECT, "GENAI_REGION": "us-chicago-1", "OCI_AUTH": "api_key"}


def test_the_key_comes_from_the_environment_or_a_file(tmp_path) -> None:
    assert Settings.from_environ({**LOCAL, "OCI_GENAI_API_KEY": KEY}).api_key == KEY
    (tmp_path / "key").write_text(KEY + "\n")  # the newline an editor adds is not part of the key
    assert Settings.from_environ({**LOCAL, "OCI_GENAI_API_KEY_FILE": str(tmp_path / "key")}).api_key == KEY
    assert KEY not in repr(Settings.from_environ({**LOCAL, "OCI_GENAI_API_KEY": KEY}))
    assert Settings.from_environ({**LOCAL, "OCI_AUTH": "session", "OCI_GENAI_API_KEY": KEY}).api_key == ""


@pytest.mark.parametrize(
    ("extra", "named", "says"),
    [
        ({}, "OCI_GENAI_API_KEY", "set exactly one of"),
        ({"OCI_GENAI_API_KEY": KEY, "OCI_GENAI_API_KEY_FILE": "/k"}, "OCI_GENAI_API_KEY", "not both"),
        ({"OCI_GENAI_API_KEY_FILE": "/no/such/key"}, "OCI_GENAI_API_KEY_FILE", "cannot read /no/such/key"),
        ({"OCI_GENAI_API_KEY": KEY + " tail"}, "OCI_GENAI_API_KEY", "is not an API key"),
        # Deployed (Oracle's variables of every OCI Functions container): the key is refused, whichever way.
        ({"OCI_GENAI_API_KEY": KEY, "FN_APP_ID": "ocid1.fnapp.oc1..x"}, "OCI_AUTH", "runs in OCI Functions"),
        (
            {"OCI_GENAI_API_KEY": KEY, "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"},
            "OCI_AUTH",
            "(OCI_RESOURCE_PRINCIPAL_VERSION is set)",
        ),
        ({"OCI_AUTH": "auto", "OCI_GENAI_API_KEY": KEY, "FN_FN_ID": "x"}, "OCI_GENAI_API_KEY", "local development"),
    ],
)
def test_a_key_that_cannot_be_used_is_named_never_quoted(extra, named, says) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({**LOCAL, **extra})
    assert named in caught.value.problems and says in caught.value.problems[named]
    assert KEY not in str(caught.value)


def test_the_emulator_takes_only_a_key_its_issuer_issued(issuer: Issuer, emulator: Emulator) -> None:
    key = issuer.issue_api_key()
    body = {"model": "openai.gpt-oss-120b", "input": "hi"}
    with httpx.Client(base_url=emulator.base_url, headers={"OpenAI-Project": PROJECT}) as client:
        accepted = client.post("/responses", json=body, headers={"Authorization": f"Bearer {key}"})
        refused = client.post("/responses", json=body, headers={"Authorization": f"Bearer {key}x"})
    assert accepted.status_code == 200 and emulator.calls[-2].jti.startswith("api-key-")
    assert refused.status_code == 401 and refused.json()["code"] == "NotAuthenticated"
    assert key not in refused.text


def _function(monkeypatch, emulator: Emulator, **extra: str):
    return load_function(
        monkeypatch,
        {
            **LOCAL,
            "GENAI_BASE_URL": emulator.base_url,
            "GENAI_CONTROL_BASE_URL": emulator.control_base_url,
            "GENAI_COMPARTMENT_OCID": COMPARTMENT,
            **extra,
        },
    )


def _create(fn) -> tuple[int, dict, bytes]:
    body = json.dumps({"input": "hi", "store": False}).encode()
    return invoke(fn, "POST", "/genai/v1/responses", body, {"content-type": "application/json"})


def test_the_function_sends_the_key_and_never_logs_it(monkeypatch, capfd, issuer: Issuer, emulator: Emulator) -> None:
    key = issuer.issue_api_key()
    fn = _function(monkeypatch, emulator, OCI_GENAI_API_KEY=key)
    status, headers, body = _create(fn)
    assert status == 200 and emulator.calls[-1].jti.startswith("api-key-")
    wrong = "sk-" + "w" * 40
    fn = _function(monkeypatch, emulator, OCI_GENAI_API_KEY=wrong)
    refused_status, refused_headers, refused = _create(fn)
    # OCI's 401 reaches the caller as the function's own error, without the key.
    assert refused_status == 502 and json.loads(refused)["error"]["code"] == "upstream_not_authorized"
    out = capfd.readouterr()
    logged = out.out + out.err
    assert '"auth_mode":"api_key"' in logged and '"status":502' in logged
    for secret in (key, wrong):
        assert secret not in logged and secret.encode() not in body + refused
        assert all(secret not in v for v in (*headers.values(), *refused_headers.values()))


def test_a_deployed_function_refuses_the_key_on_every_call(monkeypatch, capfd, emulator: Emulator) -> None:
    fn = _function(monkeypatch, emulator, OCI_GENAI_API_KEY=KEY, FN_APP_ID="ocid1.fnapp.oc1.us-chicago-1.x")
    calls = len(emulator.calls)
    status, _, body = _create(fn)
    error = json.loads(body)["error"]
    assert status == 502 and error["code"] == "function_misconfigured" and "OCI_AUTH" in error["message"]
    assert len(emulator.calls) == calls, "nothing is sent with a refused key"
    out = capfd.readouterr()
    assert '"event":"start"' in out.err and "runs in OCI Functions" in out.err and KEY not in out.out + out.err
