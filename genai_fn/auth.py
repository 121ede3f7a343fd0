"""Which OCI identity signs the model calls, chosen once per container.

In OCI Functions the function signs with its own resource principal: no keys to
store or rotate. Off OCI (a laptop, CI against a real tenancy) the same code can
sign as a user, through a session token or an API-key profile, or as a compute
instance, or send a Generative AI API key (`api_key`: local development only,
refused in a deployed function by genai_fn/settings.py). `OCI_AUTH` picks one;
`auto` picks the resource principal when the platform provides one and the OCI
CLI profile otherwise.

Every failure becomes a `CredentialsError` that says which mode was tried and
what is missing, never a traceback.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Generator, Mapping

import httpx

from . import sdk_import

RP_VERSION = "OCI_RESOURCE_PRINCIPAL_VERSION"
RP_FILES = ("OCI_RESOURCE_PRINCIPAL_RPST", "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM")


class CredentialsError(Exception):
    """The chosen identity cannot sign requests; the message says why."""


def resolve_mode(requested: str, environ: Mapping[str, str], config_file: str, profile: str) -> str:
    """The concrete mode for `OCI_AUTH=requested` (only `auto` needs resolving)."""
    if requested != "auto":
        return requested
    if environ.get(RP_VERSION):
        return "resource_principal"
    path = os.path.expanduser(config_file)
    if os.path.isfile(path):
        return "session" if _profile(path, profile).get("security_token_file") else "user_principal"
    raise CredentialsError(
        f"OCI_AUTH=auto found no credentials: {RP_VERSION} is not set (not running in OCI Functions) "
        f"and there is no OCI config file at {config_file}. Run 'oci session authenticate', "
        "or set OCI_AUTH to session, user_principal or instance_principal."
    )


class ApiKeyAuth(httpx.Auth):
    """Sends a Generative AI API key as `Authorization: Bearer <key>` (OCI_AUTH=api_key).

    Oracle: "When your application calls an OCI Generative AI model endpoint, include either secret in
    the Authorization header" (https://docs.oracle.com/iaas/Content/generative-ai/api-keys.htm); its
    OpenAI SDK example passes the key as `api_key` and still names the project, which travels as
    `OpenAI-Project` (https://docs.oracle.com/en-us/iaas/Content/generative-ai/use-project.htm, option one).
    The header replaces whatever the OpenAI SDK put there (`service.openai()`'s "not-used").
    """

    def __init__(self, key: str) -> None:
        self._header = f"Bearer {key}"

    def __repr__(self) -> str:  # never the key, whoever prints the client
        return "ApiKeyAuth(<key>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def build_auth(
    mode: str, environ: Mapping[str, str], config_file: str, profile: str, *, api_key: str = ""
) -> httpx.Auth:
    """An `httpx.Auth` that signs every request as `mode`, or `CredentialsError`."""
    if mode == "api_key":
        if not api_key:  # settings refuse this first; said here too, for a caller that skips them
            raise CredentialsError("OCI_AUTH=api_key: no key (OCI_GENAI_API_KEY or OCI_GENAI_API_KEY_FILE)")
        return ApiKeyAuth(api_key)
    # Imported here: oci is the heaviest import of the function, and only
    # calls that reach the model need it (not /health, not rejected input).
    sdk_import.import_signer()
    import oci_genai_auth

    if mode == "resource_principal":
        _check_resource_principal(environ)
    try:
        if mode == "resource_principal":
            return _resource_principal_auth(oci_genai_auth.OciResourcePrincipalAuth)
        if mode == "session":
            return oci_genai_auth.OciSessionAuth(config_file=os.path.expanduser(config_file), profile_name=profile)
        if mode == "user_principal":
            return oci_genai_auth.OciUserPrincipalAuth(
                config_file=os.path.expanduser(config_file), profile_name=profile
            )
        if mode == "instance_principal":
            return oci_genai_auth.OciInstancePrincipalAuth()
    except Exception as exc:  # every library failure becomes one clear message
        raise CredentialsError(f"OCI_AUTH={mode}: could not load credentials: {_describe(exc)}") from exc
    raise CredentialsError(f"OCI_AUTH={mode} is not a known mode")


def _resource_principal_auth(library: type[httpx.Auth]) -> httpx.Auth:
    """oci-genai-auth's `OciResourcePrincipalAuth` (`library`), making the signature from the key its signer holds.

    Everything but the signature is the library's: its signer (oci's resource-principal
    signer, which loads the key and token), its refresh every `refresh_interval` and after
    a 401, and its retry of that request. Its `_sign_request` copies each httpx request into
    a `requests` request, prepares it and has oci's signer sign that, a cost beside the RSA
    signature itself on every call (`python -m dev.bench.signing` prices it). Here the same headers
    are computed from the httpx request directly and signed with the same key, the same way
    (oci/signer.py `inject_missing_headers` and `do_request_sign`, oci's vendored httpsig_cffi
    `HeaderSigner`): the Authorization header is byte for byte the library's, which
    tests/unit/test_auth.py checks on every kind of request the function sends. A signer
    without the attributes used here (`api_key`, `private_key`), or a request this path does
    not cover (a `key` query parameter, which the library strips), is left to the library.
    """
    import base64
    import hashlib
    from email.utils import formatdate
    from urllib.parse import urlsplit

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from requests.utils import requote_uri

    # oci/signer.py `Signer.__init__`: what every request signs, and what a request with a body adds.
    generic = ("date", "(request-target)", "host")
    body_headers = ("content-length", "content-type", "x-content-sha256")

    class ResourcePrincipalAuth(library):  # type: ignore[misc,valid-type]  # the library ships no types
        def _sign_request(self, request: httpx.Request, content: bytes, signer: object) -> None:
            key, key_id = getattr(signer, "private_key", None), getattr(signer, "api_key", None)
            if (
                not isinstance(key, rsa.RSAPrivateKey)
                or not isinstance(key_id, str)
                or any(name.lower() == "key" for name in request.url.params)
            ):
                super()._sign_request(request, content, signer)
                return
            headers = request.headers
            for name in ("Authorization", "X-Api-Key", "x-goog-api-key"):
                headers.pop(name, None)
            method = request.method.upper()
            with_body = method in ("PUT", "POST", "PATCH")
            # What `requests` adds when it prepares the copy: a length for any body, and 0 for none
            # on a method other than GET and HEAD.
            if content:
                headers["content-length"] = str(len(content))
            elif method not in ("GET", "HEAD"):
                headers.setdefault("content-length", "0")
            headers.setdefault("date", formatdate(usegmt=True))
            headers.setdefault("content-type", "application/json")
            if with_body:
                headers["x-content-sha256"] = base64.b64encode(hashlib.sha256(content).digest()).decode()
            # The path and query as `requests` would send them; the host as oci reads it from the URL.
            target = f"{method.lower()} {requote_uri(request.url.raw_path.decode('ascii'))}"
            host = urlsplit(str(request.url)).netloc
            names = generic + body_headers if with_body else generic
            lines = [
                f"(request-target): {target}"
                if name == "(request-target)"
                else f"host: {host}"
                if name == "host"
                else f"{name}: {headers[name]}"
                for name in names
            ]
            signature = key.sign("\n".join(lines).encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
            headers["authorization"] = (
                f'Signature algorithm="rsa-sha256",headers="{" ".join(names)}",keyId="{key_id}",'
                f'signature="{base64.b64encode(signature).decode("ascii")}",version="1"'
            )

    return ResourcePrincipalAuth()


def _check_resource_principal(environ: Mapping[str, str]) -> None:
    """Name the missing piece before the oci SDK fails with a vaguer message."""
    missing = [name for name in (RP_VERSION, *RP_FILES, "OCI_RESOURCE_PRINCIPAL_REGION") if not environ.get(name)]
    if missing:
        raise CredentialsError(
            f"OCI_AUTH=resource_principal: {', '.join(missing)} not set. "
            "OCI Functions sets these in every function container; elsewhere use OCI_AUTH=session."
        )
    if environ[RP_VERSION] != "2.2":
        raise CredentialsError(
            f"OCI_AUTH=resource_principal: {RP_VERSION}={environ[RP_VERSION]!r}; OCI Functions uses 2.2"
        )
    for name in RP_FILES:
        value = environ[name]
        # Either an absolute path (what OCI Functions gives) or the value itself.
        if os.path.isabs(value) and not os.access(value, os.R_OK):
            raise CredentialsError(f"OCI_AUTH=resource_principal: {name} points to {value}, which cannot be read")


def _profile(path: str, profile: str) -> Mapping[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path)
    except configparser.Error:
        return {}
    return parser[profile] if parser.has_section(profile) or profile == "DEFAULT" else {}


def _describe(exc: Exception) -> str:
    # Library messages name files and settings; they never carry key material.
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
