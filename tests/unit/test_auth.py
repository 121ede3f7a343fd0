"""Auth-mode selection and the errors that say what is missing. No network is touched:
instance principal is only ever resolved, never built (building it calls the metadata service)."""

import email.utils

import httpx
import oci_genai_auth
import pytest
from cryptography.hazmat.primitives import serialization

from dev.local.credentials import new_rsa_key
from genai_fn.auth import CredentialsError, build_auth, resolve_mode


def write_key(path):
    key = new_rsa_key()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


@pytest.fixture
def session_profile(tmp_path):
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9.")
    key = write_key(tmp_path / "key.pem")
    config = tmp_path / "config"
    config.write_text(
        f"[DEFAULT]\nregion=us-chicago-1\ntenancy=ocid1.tenancy.oc1..x\nkey_file={key}\nfingerprint=aa:bb\n"
        f"security_token_file={token}\n"
    )
    return config


@pytest.fixture
def api_key_profile(tmp_path):
    key = write_key(tmp_path / "key.pem")
    config = tmp_path / "config"
    config.write_text(
        "[DEFAULT]\nregion=us-chicago-1\ntenancy=ocid1.tenancy.oc1..aaaa\nuser=ocid1.user.oc1..aaaa\n"
        f"fingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\nkey_file={key}\n"
    )
    return config


def test_auto_picks_resource_principal_inside_oci_functions():
    assert resolve_mode("auto", {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}, "/nonexistent", "DEFAULT") == (
        "resource_principal"
    )


def test_auto_picks_session_for_a_session_profile(session_profile):
    assert resolve_mode("auto", {}, str(session_profile), "DEFAULT") == "session"


def test_auto_picks_user_principal_for_an_api_key_profile(api_key_profile):
    assert resolve_mode("auto", {}, str(api_key_profile), "DEFAULT") == "user_principal"


def test_auto_with_nothing_says_what_it_looked_for(tmp_path):
    with pytest.raises(CredentialsError) as caught:
        resolve_mode("auto", {}, str(tmp_path / "missing"), "DEFAULT")
    message = str(caught.value)
    assert "OCI_AUTH=auto" in message and "OCI_RESOURCE_PRINCIPAL_VERSION" in message
    assert str(tmp_path / "missing") in message


@pytest.mark.parametrize("mode", ["resource_principal", "session", "user_principal", "instance_principal"])
def test_an_explicit_mode_is_kept(mode):
    assert resolve_mode(mode, {}, "/nonexistent", "DEFAULT") == mode


def test_resource_principal_names_missing_variables():
    with pytest.raises(CredentialsError) as caught:
        build_auth("resource_principal", {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}, "~/.oci/config", "DEFAULT")
    message = str(caught.value)
    for name in ("OCI_RESOURCE_PRINCIPAL_RPST", "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", "OCI_RESOURCE_PRINCIPAL_REGION"):
        assert name in message


def test_resource_principal_names_an_unreadable_key(principal, monkeypatch):
    env = principal.environ()
    env["OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"] = principal.pem_path + ".missing"
    with pytest.raises(CredentialsError) as caught:
        build_auth("resource_principal", env, "~/.oci/config", "DEFAULT")
    assert "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM points to" in str(caught.value)


def test_resource_principal_builds_from_the_platform_files(principal, monkeypatch):
    # The oci SDK reads the variables from os.environ itself.
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)
    auth = build_auth("resource_principal", principal.environ(), "~/.oci/config", "DEFAULT")
    assert isinstance(auth, oci_genai_auth.OciResourcePrincipalAuth)
    assert auth.signer.get_claim("res_compartment") == principal.identity.compartment


def test_resource_principal_with_a_corrupt_token_is_a_clear_error(principal, monkeypatch):
    with open(principal.rpst_path, "w") as f:
        f.write("not-a-jwt")
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CredentialsError) as caught:
        build_auth("resource_principal", principal.environ(), "~/.oci/config", "DEFAULT")
    assert str(caught.value).startswith("OCI_AUTH=resource_principal: could not load credentials:")


def test_session_profile_builds(session_profile):
    auth = build_auth("session", {}, str(session_profile), "DEFAULT")
    assert isinstance(auth, oci_genai_auth.OciSessionAuth)


def test_session_without_its_token_file_says_so(session_profile, tmp_path):
    (tmp_path / "token").unlink()
    with pytest.raises(CredentialsError) as caught:
        build_auth("session", {}, str(session_profile), "DEFAULT")
    assert "OCI_AUTH=session" in str(caught.value) and "FileNotFoundError" in str(caught.value)


def test_user_principal_profile_builds(api_key_profile):
    auth = build_auth("user_principal", {}, str(api_key_profile), "DEFAULT")
    assert isinstance(auth, oci_genai_auth.OciUserPrincipalAuth)


def test_unknown_profile_is_named(api_key_profile):
    with pytest.raises(CredentialsError) as caught:
        build_auth("user_principal", {}, str(api_key_profile), "WORK")
    assert "OCI_AUTH=user_principal" in str(caught.value) and "WORK" in str(caught.value)


def _sign(auth, method, url, content, date):
    """The headers `auth` sends for this request at `date` (its first signing, before any answer)."""
    headers = {"date": date, "OpenAI-Project": "ocid1.generativeaiproject.oc1..p"}
    if content is not None:
        headers["content-type"] = "application/json"
    flow = auth.sync_auth_flow(httpx.Request(method, url, content=content, headers=headers))
    signed = next(flow)
    flow.close()
    return signed


REQUESTS = [  # every kind of request the function sends: with a body, without, with a query to encode
    ("POST", "/responses", b'{"model": "m", "input": "hi"}'),
    ("POST", "/conversations", b""),
    ("GET", "/responses/resp_1/input_items?after=item 1&limit=20&order=desc", None),
    ("GET", "/files?purpose=assistants&after=file-%C3%A9", None),
    ("DELETE", "/conversations/conv_1", None),
]


@pytest.mark.parametrize(("method", "path", "content"), REQUESTS)
def test_resource_principal_signs_byte_for_byte_as_the_library_does(
    principal, emulator, monkeypatch, method, path, content
):
    """The function's resource-principal auth makes its signature from the key the library's signer holds,
    without the library's `requests` copy: every header it sends equals what oci-genai-auth's own
    `OciResourcePrincipalAuth` sends for the same request and date, the signature included."""
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)
    ours = build_auth("resource_principal", principal.environ(), "~/.oci/config", "DEFAULT")
    library = oci_genai_auth.OciResourcePrincipalAuth()
    assert type(ours) is not oci_genai_auth.OciResourcePrincipalAuth  # the narrow path is the one tested
    date = email.utils.formatdate(usegmt=True)

    mine, theirs = (_sign(a, method, emulator.base_url + path, content, date) for a in (ours, library))

    assert mine.headers["authorization"].startswith("Signature ")
    assert dict(mine.headers) == dict(theirs.headers)
    assert mine.url == theirs.url and mine.content == theirs.content


@pytest.mark.parametrize(("method", "path", "content"), REQUESTS[:3])
def test_resource_principal_signature_is_accepted_and_a_wrong_key_is_not(
    principal, emulator, monkeypatch, method, path, content
):
    """Over a real socket to the emulator, which checks every signature as OCI's front door does."""
    for name, value in principal.environ().items():
        monkeypatch.setenv(name, value)
    auth = build_auth("resource_principal", principal.environ(), "~/.oci/config", "DEFAULT")
    with httpx.Client() as client:
        answer = client.send(
            _sign(auth, method, emulator.base_url + path, content, email.utils.formatdate(usegmt=True))
        )
        assert answer.status_code != 401, answer.text
        assert emulator.calls[-1].jti

        assert isinstance(auth, oci_genai_auth.OciResourcePrincipalAuth)
        auth.signer.private_key = new_rsa_key()  # what the signer holds is what signs
        answer = client.send(
            _sign(auth, method, emulator.base_url + path, content, email.utils.formatdate(usegmt=True))
        )
        assert answer.status_code == 401 and "signature does not verify" in emulator.calls[-1].reason
