"""The usage-metrics function's configuration: read once per container, validated, errors naming the key.

The Functions application's configuration reaches the function as
environment variables (shared with the other functions of the application).

    USAGE_METRICS_COMPARTMENT_OCID  required: the compartment the metrics are posted to
    USAGE_METRICS_NAMESPACE         default genai_gateway: lowercase letters, digits and `_`,
                                    starting with a letter, not `oci_` or `oracle_` (Monitoring's own)
    USAGE_METRICS_ENDPOINT          optional: the telemetry-ingestion base URL (a local emulator);
                                    default https://telemetry-ingestion.<region>.<realm domain>
                                    for OCI_RESOURCE_PRINCIPAL_REGION (set by OCI Functions)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_NAMESPACE = "genai_gateway"
# PostMetricData's rule for a custom namespace; the prefixes are reserved for Oracle's own metrics.
# (At most 255 characters, as terraform/variables.tf's validation of usage_metrics_namespace has it.)
_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]{0,254}$")
RESERVED_PREFIXES = ("oci_", "oracle_")
_OCID = re.compile(r"^ocid1\.(compartment|tenancy)\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+$")
#: A region name (us-chicago-1) or its short code (ord).
_REGION = re.compile(r"^[a-z][a-z0-9-]*$")
#: PostMetricData's endpoint: "Replace the string telemetry with telemetry-ingestion" (its API reference).
INGESTION_TEMPLATE = "https://telemetry-ingestion.{region}.{secondLevelDomain}"


class ConfigError(ValueError):
    """A setting is missing or wrong; the message starts with its name."""


@dataclass(frozen=True)
class Config:
    compartment_id: str
    namespace: str
    #: The telemetry-ingestion base URL, no trailing slash.
    endpoint: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Config:
        compartment = environ.get("USAGE_METRICS_COMPARTMENT_OCID", "").strip()
        if not compartment:
            raise ConfigError("USAGE_METRICS_COMPARTMENT_OCID is required: the compartment the metrics go to")
        if not _OCID.match(compartment):
            raise ConfigError(f"USAGE_METRICS_COMPARTMENT_OCID: {compartment!r} is not a compartment or tenancy OCID")
        namespace = environ.get("USAGE_METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE
        if not _NAMESPACE.match(namespace) or namespace.startswith(RESERVED_PREFIXES):
            raise ConfigError(
                f"USAGE_METRICS_NAMESPACE: {namespace!r} must be lowercase letters, digits and _, start with a "
                "letter, and not start with oci_ or oracle_"
            )
        endpoint = environ.get("USAGE_METRICS_ENDPOINT", "").strip().rstrip("/")
        if endpoint:
            if not endpoint.startswith(("https://", "http://")):
                raise ConfigError(f"USAGE_METRICS_ENDPOINT: {endpoint!r} is not an http(s) URL")
        else:
            endpoint = default_endpoint(environ)
        return cls(compartment, namespace, endpoint)


def default_endpoint(environ: Mapping[str, str]) -> str:
    """The telemetry-ingestion endpoint of the function's own region (PostMetricData is not on `telemetry`).

    The oci SDK's own table of regions and realms (`oci.regions.endpoint_for`) names the host: it knows
    each realm's domain, maps short region codes ("phx"), and reads OCI_REGION_METADATA for regions
    newer than the SDK.
    """
    import oci  # here: the configuration's other checks need no SDK

    region = environ.get("OCI_RESOURCE_PRINCIPAL_REGION", "").strip()
    if not _REGION.match(region):
        raise ConfigError(
            f"OCI_RESOURCE_PRINCIPAL_REGION: {region!r} is not a region (OCI Functions sets it; "
            "set USAGE_METRICS_ENDPOINT to post elsewhere)"
        )
    return str(oci.regions.endpoint_for("monitoring", region=region, service_endpoint_template=INGESTION_TEMPLATE))
