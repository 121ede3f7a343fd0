# Inputs as Resource Manager and other realms send them, and the network either
# created here or brought by the user.

mock_provider "oci" {
  source = "./tests/mocks"
}
mock_provider "oci" {
  alias  = "home"
  source = "./tests/mocks"
}
mock_provider "oci" {
  alias  = "genai"
  source = "./tests/mocks"
}
mock_provider "oci" {
  alias  = "fallback"
  source = "./tests/mocks"
}

variables {
  tenancy_ocid       = "ocid1.tenancy.oc1..aaaatenancy"
  region             = "us-chicago-1"
  compartment_ocid   = "ocid1.compartment.oc1..aaaacompartment"
  api_key_hashes     = "alice:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  functions_deployed = true
}

run "new_network" {
  command = apply
  assert {
    condition     = length(oci_core_vcn.this) == 1 && oci_functions_application.this.subnet_ids == tolist([oci_core_subnet.functions[0].id]) && oci_apigateway_gateway.this.subnet_id == oci_core_subnet.gateway[0].id
    error_message = "create_network: the functions in the new private subnet, the gateway in the new public one."
  }
  assert {
    condition     = oci_core_subnet.functions[0].prohibit_public_ip_on_vnic && length(oci_core_security_list.functions[0].ingress_security_rules) == 0 && length(oci_core_default_security_list.locked[0].ingress_security_rules) == 0 && length(oci_core_default_security_list.locked[0].egress_security_rules) == 0
    error_message = "The functions' subnet is private with no ingress; the VCN's default list is emptied."
  }
  assert {
    condition     = alltrue([for r in oci_core_security_list.gateway[0].ingress_security_rules : r.protocol == "6" && one(r.tcp_options).min == 443 && one(r.tcp_options).max == 443]) && toset([for r in oci_core_security_list.gateway[0].ingress_security_rules : r.source]) == toset(["0.0.0.0/0"])
    error_message = "The gateway subnet admits TCP 443 only, from gateway_ingress_cidrs."
  }
  assert {
    condition     = { for r in oci_core_route_table.functions[0].route_rules : r.destination => r.network_entity_id } == { "all-ord-services-in-oracle-services-network" = oci_core_service_gateway.this[0].id, "0.0.0.0/0" = oci_core_nat_gateway.this[0].id }
    error_message = "The functions route Oracle services through the service gateway and the rest through NAT."
  }
}

run "existing_network" {
  command = apply
  variables {
    create_network                = false
    existing_vcn_ocid             = "ocid1.vcn.oc1.us-chicago-1.aaaavcn"
    existing_function_subnet_ocid = "ocid1.subnet.oc1.us-chicago-1.aaaafn"
    existing_gateway_subnet_ocid  = "ocid1.subnet.oc1.us-chicago-1.aaaagw"
  }
  assert {
    condition     = length(oci_core_vcn.this) == 0 && length(oci_core_subnet.functions) == 0 && length(oci_core_nat_gateway.this) == 0
    error_message = "create_network = false creates no network."
  }
  assert {
    condition     = oci_functions_application.this.subnet_ids == tolist(["ocid1.subnet.oc1.us-chicago-1.aaaafn"]) && oci_apigateway_gateway.this.subnet_id == "ocid1.subnet.oc1.us-chicago-1.aaaagw"
    error_message = "The user's subnets are used as given."
  }
  assert {
    condition     = oci_identity_policy.functions_service[0].statements[1] == "allow service faas to use virtual-network-family in compartment id ocid1.compartment.oc1..aaaacompartment"
    error_message = "network_compartment_ocid unset: the subnets are in the stack's compartment."
  }
}

# Resource Manager sends "" for an optional field left blank.
run "blank_optional_fields_from_resource_manager" {
  command = plan
  variables {
    oci_config_profile       = ""
    network_compartment_ocid = ""
    existing_vcn_ocid        = ""
    developer_group_name     = ""
    ocir_repository_prefix   = ""
    genai_region             = ""
    jwt_jwks_uri             = ""
  }
  assert {
    condition     = local.genai_region == "us-chicago-1" && local.network_compartment == var.compartment_ocid && local.ocir_prefix == "genai-${local.stack_id}" && length(oci_identity_policy.developers) == 0 && local.fn_profile == ""
    error_message = "Blank fields mean unset: defaults apply, nothing is rendered from an empty string."
  }
}

run "blank_subnets_with_own_network_still_refused" {
  command = plan
  variables {
    create_network                = false
    existing_function_subnet_ocid = ""
    existing_gateway_subnet_ocid  = " "
  }
  expect_failures = [oci_apigateway_gateway.this, oci_functions_application.this]
}

run "genai_in_another_region" {
  command = apply
  variables {
    genai_region = "eu-frankfurt-1"
  }
  assert {
    condition     = local.genai_region == "eu-frankfurt-1" && oci_functions_application.this.config["GENAI_REGION"] == "eu-frankfurt-1" && output.deploy_settings.genai_region == "eu-frankfurt-1"
    error_message = "The function calls the Generative AI region given."
  }
  assert {
    condition     = oci_functions_application.this.config["GENAI_PROJECT_OCID"] == oci_generative_ai_project.this.id
    error_message = "The project the function names is the one created (by the oci.genai provider, in genai_region)."
  }
  assert {
    condition     = output.deploy_settings.functions_api_url == "https://functions.us-chicago-1.oci.oraclecloud.com" && startswith(output.deploy_settings.ocir_registry, "ord.ocir.io/")
    error_message = "Functions and the registry stay in var.region."
  }
}

run "government_realm_region" {
  command = plan
  variables {
    tenancy_ocid     = "ocid1.tenancy.oc2..aaaatenancy"
    compartment_ocid = "ocid1.compartment.oc2..aaaacompartment"
    region           = "us-langley-1"
    realm_domain     = "oraclegovcloud.com"
  }
  assert {
    condition     = local.ocir_host == "artifacts.us-langley-1.oci.oraclegovcloud.com" && local.functions_api == "https://functions.us-langley-1.oci.oraclegovcloud.com"
    error_message = "Outside oc1 the registry is artifacts.<region>.oci.<realm domain>."
  }
}

run "region_names_of_every_realm_accepted" {
  command = plan
  variables {
    genai_region = "us-gov-ashburn-1"
  }
  assert {
    condition     = local.genai_region == "us-gov-ashburn-1"
    error_message = "Region names with a realm part (us-gov-ashburn-1) pass validation."
  }
}

run "week_quota" {
  command = plan
  variables {
    api_clients = { carol = { key_hashes = ["dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"], quota = 100000, quota_unit = "WEEK" } }
  }
  assert {
    condition     = oci_apigateway_usage_plan.client["carol"].entitlements[0].quota[0].unit == "WEEK"
    error_message = "WEEK quotas (a unit of the API Gateway API) are accepted."
  }
}

run "oci_config_profile_for_fn" {
  command = plan
  variables {
    oci_config_profile = "chicago"
  }
  assert {
    condition     = strcontains(output.fn_setup_and_deploy, "fn update context oracle.profile chicago") && output.deploy_settings.oci_config_profile == "chicago"
    error_message = "A named ~/.oci/config profile reaches the fn context."
  }
}
