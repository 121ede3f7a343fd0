# Optional strings as the rest of the configuration reads them. Resource
# Manager sends "" for an optional field left blank, where terraform.tfvars
# leaves it null: both mean "not set", so "" and blanks become null here, once,
# and every other file reads local.<name>, never var.<name>, for these.
locals {
  oci_config_profile            = try(trimspace(var.oci_config_profile), "") == "" ? null : trimspace(var.oci_config_profile)
  existing_vcn_ocid             = try(trimspace(var.existing_vcn_ocid), "") == "" ? null : trimspace(var.existing_vcn_ocid)
  existing_function_subnet_ocid = try(trimspace(var.existing_function_subnet_ocid), "") == "" ? null : trimspace(var.existing_function_subnet_ocid)
  existing_gateway_subnet_ocid  = try(trimspace(var.existing_gateway_subnet_ocid), "") == "" ? null : trimspace(var.existing_gateway_subnet_ocid)
  network_compartment_ocid      = try(trimspace(var.network_compartment_ocid), "") == "" ? null : trimspace(var.network_compartment_ocid)
  developer_group_name          = try(trimspace(var.developer_group_name), "") == "" ? null : trimspace(var.developer_group_name)
  ocir_repository_prefix        = try(trimspace(var.ocir_repository_prefix), "") == "" ? null : trimspace(var.ocir_repository_prefix)
  genai_region_input            = try(trimspace(var.genai_region), "") == "" ? null : trimspace(var.genai_region)
  jwt_jwks_uri                  = try(trimspace(var.jwt_jwks_uri), "") == "" ? null : trimspace(var.jwt_jwks_uri)
  genai_fallback_region         = try(trimspace(var.genai_fallback_region), "") == "" ? null : trimspace(var.genai_fallback_region)
  genai_fallback_project_input  = try(trimspace(var.genai_fallback_project_ocid), "") == "" ? null : trimspace(var.genai_fallback_project_ocid)
  default_token_quota_period    = try(trimspace(var.default_token_quota_period), "") == "" ? null : trimspace(var.default_token_quota_period)
}
