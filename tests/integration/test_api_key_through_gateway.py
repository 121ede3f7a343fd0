"""`make run` with a Generative AI API key (OCI_AUTH=api_key): through the local gateway, the key in a file.

The stack issues the key from the emulator's issuer and hands the function only its file
(OCI_GENAI_API_KEY_FILE), on a developer's machine: no OCI_RESOURCE_PRINCIPAL_* or FN_* variables.
"""

from __future__ import annotations

import pytest

from dev.local.emulator import Emulator
from tests.conftest import stack_for_tests

pytestmark = pytest.mark.integration


def test_make_run_with_an_api_key_and_with_a_wrong_one(tmp_path, emulator: Emulator) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("sk-" + "x" * 48 + "\n")
    with (
        stack_for_tests(emulator, api_key=True) as right,
        stack_for_tests(emulator, api_key=True, config={"OCI_GENAI_API_KEY_FILE": str(wrong)}) as refused,
    ):
        assert right.api_key_file is not None and "OCI_RESOURCE_PRINCIPAL_VERSION" not in right.env
        key = right.api_key_file.read_text().strip()
        answer = right.openai().responses.create(input="hi", store=False)
        assert answer.output_text and emulator.calls[-1].jti.startswith("api-key-")
        assert right.runner.log_for(answer._request_id or "")["status"] == 200

        failed = refused.client().post("/v1/responses", json={"input": "hi", "store": False})
        error = failed.json()["error"]
        assert failed.status_code == 502 and error["code"] == "upstream_not_authorized"
        assert error["message"].startswith("OCI Generative AI refused the API key (OCI_AUTH=api_key): 401")
        assert emulator.calls[-1].status == 401 and emulator.calls[-1].reason.endswith("the API key is not valid")
        assert refused.runner.log_for(failed.headers["x-request-id"])["status"] == 502
        logs = "\n".join([*right.runner.lines(), *refused.runner.lines()])
    for secret in (key, wrong.read_text().strip()):
        assert secret not in logs and secret not in failed.text
