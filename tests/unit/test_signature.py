"""The emulator verifies OCI request signatures: a correct one passes, any tampering is refused.

Requests are signed by the real oci SDK signer (through oci-genai-auth), then
changed after signing, and sent to the emulator over a real socket.
"""

import email.utils
import json
import time

import httpx
import oci
import oci_genai_auth
import pytest

from dev.local.credentials import PROJECT, new_rsa_key


class FixedAuth(oci_genai_auth.HttpxOciAuth):  # type: ignore[misc]  # oci-genai-auth ships no type information
    """An oci-genai-auth signer around any oci signer (no refresh)."""

    def _refresh_signer(self):
        pass


@pytest.fixture
def auth(principal, monkeypatch):
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)
    return oci_genai_auth.OciResourcePrincipalAuth()


def signed(auth, emulator, body=None, method="POST", path="/responses"):
    content = json.dumps(body if body is not None else {"model": "openai.gpt-oss-120b", "input": "hi"}).encode()
    request = httpx.Request(
        method,
        emulator.base_url + path,
        content=content if method == "POST" else None,
        headers={"content-type": "application/json", "OpenAI-Project": PROJECT},
    )
    return next(auth.auth_flow(request))


def send(request):
    with httpx.Client() as client:
        return client.send(request)


def refused_because(emulator, answer):
    assert answer.status_code == 401 and answer.json()["code"] == "NotAuthenticated"
    assert answer.headers["opc-request-id"]
    return emulator.calls[-1].reason


def test_a_correctly_signed_request_is_accepted(auth, emulator):
    answer = send(signed(auth, emulator))
    assert answer.status_code == 200 and answer.json()["output"][0]["content"][0]["text"] == "Echo: hi"


def test_a_signed_get_is_accepted(auth, emulator):
    created = send(signed(auth, emulator)).json()
    answer = send(signed(auth, emulator, method="GET", path=f"/responses/{created['id']}"))
    assert answer.status_code == 200 and answer.json()["id"] == created["id"]


def test_tampered_body_is_refused(auth, emulator):
    request = signed(auth, emulator)
    tampered = httpx.Request(
        "POST", request.url, headers=request.headers, content=request.content.replace(b"hi", b"yo")
    )
    assert "x-content-sha256" in refused_because(emulator, send(tampered))


def test_tampered_body_with_matching_digest_is_refused(auth, emulator):
    request = signed(auth, emulator)
    body = request.content.replace(b"hi", b"yo")
    import base64
    import hashlib

    headers = dict(request.headers)
    headers["x-content-sha256"] = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert "does not verify" in refused_because(
        emulator, send(httpx.Request("POST", request.url, headers=headers, content=body))
    )


def test_tampered_path_is_refused(auth, emulator):
    request = signed(auth, emulator)
    moved = httpx.Request("POST", str(request.url) + "x", headers=request.headers, content=request.content)
    assert "does not verify" in refused_because(emulator, send(moved))


def test_old_date_is_refused(auth, emulator, principal):
    signer = oci.auth.signers.SecurityTokenSigner(
        principal.token, oci.signer.load_private_key_from_file(principal.pem_path)
    )
    request = httpx.Request(
        "POST",
        emulator.base_url + "/responses",
        content=b'{"input": "hi"}',
        headers={
            "content-type": "application/json",
            "OpenAI-Project": PROJECT,
            "date": email.utils.formatdate(time.time() - 600, usegmt=True),
        },
    )
    signed_request = next(FixedAuth(signer).auth_flow(request))
    assert "away from now" in refused_because(emulator, send(signed_request))


def test_wrong_key_is_refused(auth, emulator, principal):
    signer = oci.auth.signers.SecurityTokenSigner(principal.token, new_rsa_key())
    answer = send(signed(FixedAuth(signer), emulator))
    assert "does not verify" in refused_because(emulator, answer)


def test_x_content_sha256_must_be_signed(emulator, principal):
    key = oci.signer.load_private_key_from_file(principal.pem_path)
    signer = oci.auth.signers.SecurityTokenSigner(principal.token, key, body_headers=["content-length", "content-type"])
    answer = send(signed(FixedAuth(signer), emulator))
    assert "headers not signed: x-content-sha256" in refused_because(emulator, answer)


def test_token_not_issued_by_iam_is_refused(emulator, principal):
    from dev.local.credentials import Issuer

    rogue = Issuer().issue(new_rsa_key().public_key(), tenancy="t", compartment="c", resource_id="r", lifetime_s=600)
    signer = oci.auth.signers.SecurityTokenSigner(rogue, new_rsa_key())
    assert "token is invalid" in refused_because(emulator, send(signed(FixedAuth(signer), emulator)))


def test_wrong_project_is_not_authorized_or_not_found(auth, emulator):
    request = signed(auth, emulator)
    request.headers["OpenAI-Project"] = "ocid1.generativeaiproject.oc1..other"  # not a signed header
    answer = send(request)
    assert answer.status_code == 404 and answer.json()["code"] == "NotAuthorizedOrNotFound"


def test_emulator_bodies_pass_the_sdks_strict_validation(auth, emulator):
    from openai.types.responses import Response, ResponseStreamEvent
    from pydantic import TypeAdapter

    body = send(
        signed(auth, emulator, {"model": "openai.gpt-oss-120b", "input": "strict", "max_output_tokens": 1})
    ).json()
    assert Response.model_validate(body, strict=False).status == "incomplete"
    stream = send(signed(auth, emulator, {"model": "openai.gpt-oss-120b", "input": "strict", "stream": True}))
    adapter = TypeAdapter(ResponseStreamEvent)
    events = [adapter.validate_json(line[5:]) for line in stream.text.splitlines() if line.startswith("data:")]
    assert [e.sequence_number for e in events] == list(range(len(events)))
