# Credentials come from the usual places (~/.oci/config profile, OCI_* env,
# or Resource Manager's instance principal); none are variables here.
provider "oci" {
  region              = var.region
  config_file_profile = var.oci_config_profile
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
  # OCIR host uses the short region key (e.g. ord.ocir.io).
  region_key = lower(one([for r in data.oci_identity_regions.all.regions : r.key if r.name == var.region]))
}

provider "oci" {
  alias               = "home"
  region              = local.home_region
  config_file_profile = var.oci_config_profile
}
