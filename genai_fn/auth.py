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
            return oci_genai_auth.OciResourcePrincipalAuth()
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
