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

# Clients from Resource Manager's form come as JSON text (api_clients_json, jwt_clients_json:
# schema.yaml has no map type); they join the typed variables here, in the same shape and with
# the same defaults, and every other file reads local.api_clients_all / local.jwt_clients_all.
# Absent fields are typed nulls (tolist(null)...): a map needs one element type, and the
# variables' entries have it.
locals {
  api_clients_from_json = tomap({
    for name, c in jsondecode(trimspace(var.api_clients_json) == "" ? "{}" : var.api_clients_json) : name => {
      key_hashes            = tolist(c.key_hashes)
      rate_limit_per_second = try(c.rate_limit_per_second, 2)
      quota                 = try(c.quota, 5000)
      quota_unit            = try(c.quota_unit, "DAY")
      models                = can(c.models) ? tolist(c.models) : tolist(null)
      max_output_tokens     = can(c.max_output_tokens) ? tonumber(c.max_output_tokens) : tonumber(null)
      families              = can(c.families) ? tolist(c.families) : tolist(null)
      tokens_per_hour       = can(c.tokens_per_hour) ? tonumber(c.tokens_per_hour) : tonumber(null)
      tokens_per_minute     = can(c.tokens_per_minute) ? tonumber(c.tokens_per_minute) : tonumber(null)
      token_quota           = can(c.token_quota) ? tonumber(c.token_quota) : tonumber(null)
      token_quota_period    = can(c.token_quota_period) ? tostring(c.token_quota_period) : tostring(null)
      project_ocid          = can(c.project_ocid) ? tostring(c.project_ocid) : tostring(null)
      compartment_ocid      = can(c.compartment_ocid) ? tostring(c.compartment_ocid) : tostring(null)
    }
  })
  jwt_clients_from_json = tomap({
    for name, c in jsondecode(trimspace(var.jwt_clients_json) == "" ? "{}" : var.jwt_clients_json) : name => {
      models             = can(c.models) ? tolist(c.models) : tolist(null)
      max_output_tokens  = can(c.max_output_tokens) ? tonumber(c.max_output_tokens) : tonumber(null)
      families           = can(c.families) ? tolist(c.families) : tolist(null)
      tokens_per_hour    = can(c.tokens_per_hour) ? tonumber(c.tokens_per_hour) : tonumber(null)
      tokens_per_minute  = can(c.tokens_per_minute) ? tonumber(c.tokens_per_minute) : tonumber(null)
      token_quota        = can(c.token_quota) ? tonumber(c.token_quota) : tonumber(null)
      token_quota_period = can(c.token_quota_period) ? tostring(c.token_quota_period) : tostring(null)
      project_ocid       = can(c.project_ocid) ? tostring(c.project_ocid) : tostring(null)
      compartment_ocid   = can(c.compartment_ocid) ? tostring(c.compartment_ocid) : tostring(null)
    }
  })
  api_clients_all = merge(local.api_clients_from_json, var.api_clients)
  jwt_clients_all = merge(local.jwt_clients_from_json, var.jwt_clients)
}
