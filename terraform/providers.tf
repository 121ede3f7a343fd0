# Credentials come from the usual places (~/.oci/config profile, OCI_* env,
# or Resource Manager's instance principal); none are variables here.
provider "oci" {
  region              = var.region
  config_file_profile = local.oci_config_profile
}

# IAM writes (dynamic groups, policies) are only accepted in the tenancy's home
# region. Resolve it from the tenancy instead of asking the user for it.
data "oci_identity_tenancy" "this" {
  tenancy_id = var.tenancy_ocid
}

data "oci_identity_regions" "all" {}

locals {
  home_region = one([
    for r in data.oci_identity_regions.all.regions : r.name
    if r.key == data.oci_identity_tenancy.this.home_region_key
  ])
  region_key = lower(one([for r in data.oci_identity_regions.all.regions : r.key if r.name == var.region]))
  # "<key>.ocir.io" exists in the commercial realm (OC1) only; every realm has
  # "artifacts.<region>.oci.<realm domain>" (Oracle, "Preparing for Container
  # Registry", https://docs.oracle.com/iaas/Content/Registry/Concepts/registryprerequisites.htm).
  ocir_host = var.realm_domain == "oraclecloud.com" ? "${local.region_key}.ocir.io" : "artifacts.${var.region}.oci.${var.realm_domain}"

  # The Generative AI project and the endpoint the function calls must be in
  # the same region: a project OCID sent to another region's endpoint is not
  # found there (404 NotAuthorizedOrNotFound).
  genai_region = coalesce(local.genai_region_input, var.region)
}

provider "oci" {
  alias               = "home"
  region              = local.home_region
  config_file_profile = local.oci_config_profile
}

# Regional failover's one fallback region (docs/failover.md). Terraform cannot
# create providers in a loop (for_each on providers is not supported), so one
# alias serves one region; more can be added to GENAI_FALLBACK_REGIONS by hand.
# Without a fallback region it points at the Generative AI region and creates nothing.
provider "oci" {
  alias               = "fallback"
  region              = coalesce(local.genai_fallback_region, local.genai_region)
  config_file_profile = local.oci_config_profile
}

# The Generative AI project is created where the function will call it, which
# may be another region than the function's (var.genai_region).
provider "oci" {
  alias               = "genai"
  region              = local.genai_region
  config_file_profile = local.oci_config_profile
}
