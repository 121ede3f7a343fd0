# The IAM statements as Terraform renders them from policies/ (what a
# reviewer reads there is what gets applied), per setting that changes them.

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
  tenancy_ocid     = "ocid1.tenancy.oc1..aaaatenancy"
  region           = "us-chicago-1"
  compartment_ocid = "ocid1.compartment.oc1..aaaacompartment"
  api_key_hashes   = "alice:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  # Phase 2: the phase-1 warning (check.deployment_phase) is phases.tftest.hcl's.
  functions_deployed = true
}

run "default_statements" {
  command = plan
  assert {
    condition = oci_identity_policy.genai_function.statements == tolist([
      "allow dynamic-group genai-${local.stack_id}-functions to use generative-ai-family in compartment id ocid1.compartment.oc1..aaaacompartment",
    ])
    error_message = "The function's default Generative AI statement."
  }
  assert {
    condition = oci_identity_policy.genai_responses[0].statements == tolist([
      "allow dynamic-group genai-${local.stack_id}-functions to manage generative-ai-response in compartment id ocid1.compartment.oc1..aaaacompartment",
      "allow dynamic-group genai-${local.stack_id}-functions to manage generative-ai-conversation in compartment id ocid1.compartment.oc1..aaaacompartment",
    ]) && oci_identity_policy.genai_responses[0].compartment_id == var.compartment_ocid
    error_message = "Responses and Conversations get their own statements, in a policy of their own, by default."
  }
  assert {
    condition     = jsonencode(output.deploy_settings.function_statements) == jsonencode(concat(oci_identity_policy.genai_function.statements, oci_identity_policy.genai_responses[0].statements))
    error_message = "make deploy is told every statement the function holds."
  }
  assert {
    condition = oci_identity_policy.api_gateway.statements == tolist([
      "allow any-user to use functions-family in compartment id ocid1.compartment.oc1..aaaacompartment where ALL {request.principal.type = 'ApiGateway', request.resource.compartment.id = 'ocid1.compartment.oc1..aaaacompartment'}",
    ])
    error_message = "API gateways may invoke the compartment's functions, nothing else."
  }
  assert {
    condition     = strcontains(one(oci_identity_policy.api_gateway.statements), "request.resource.compartment.id = '${oci_apigateway_gateway.this.compartment_id}'")
    error_message = "The condition names the API gateway's own compartment (Oracle's statement): gateways elsewhere may not invoke."
  }
  assert {
    condition = oci_identity_policy.functions_service[0].statements == tolist([
      "allow service faas to read repos in compartment id ocid1.compartment.oc1..aaaacompartment",
      "allow service faas to use virtual-network-family in compartment id ocid1.compartment.oc1..aaaacompartment",
    ]) && oci_identity_policy.functions_service[0].compartment_id == var.tenancy_ocid
    error_message = "The Functions service statements, in the root compartment, scoped to the stack's compartments."
  }
  assert {
    condition     = length(oci_identity_policy.genai_stores) == 0 && length(oci_identity_policy.developers) == 0
    error_message = "Store permissions and the developer group are off by default."
  }
  assert {
    condition     = alltrue([for p in [oci_identity_policy.genai_function, oci_identity_policy.api_gateway] : p.compartment_id == var.compartment_ocid])
    error_message = "Policies sit in the stack's compartment."
  }
  assert {
    condition     = alltrue([for s in flatten([for k, v in local.rendered_policies : v if k != "genai-responses"]) : length(regexall("\\bmanage\\b|all-resources", s)) == 0])
    error_message = "No statement grants manage or all-resources by default, but on the two response and conversation types."
  }
}

run "manage_verb" {
  command = plan
  variables {
    genai_function_verb             = "manage"
    grant_genai_response_statements = false
  }
  assert {
    condition     = length(oci_identity_policy.genai_responses) == 0
    error_message = "With manage on the family, the response and conversation statements can be turned off."
  }
  assert {
    condition     = oci_identity_policy.genai_function.statements[0] == "allow dynamic-group genai-${local.stack_id}-functions to manage generative-ai-family in compartment id ocid1.compartment.oc1..aaaacompartment"
    error_message = "genai_function_verb = manage widens the one statement."
  }
}

run "store_permissions_on" {
  command = plan
  variables {
    grant_genai_store_permissions = true
  }
  assert {
    condition     = length(oci_identity_policy.genai_stores) == 1 && anytrue([for s in oci_identity_policy.genai_stores[0].statements : strcontains(s, "GENERATIVE_AI_VECTORSTORE_FILE_BATCH_CREATE")]) && anytrue([for s in oci_identity_policy.genai_stores[0].statements : strcontains(s, "GENERATIVE_AI_MULTIPART_FILE_CREATE")]) && length(oci_identity_policy.genai_stores[0].statements) == length(local.rendered_policies["genai-stores"]) && alltrue([for s in oci_identity_policy.genai_stores[0].statements : startswith(s, "allow dynamic-group genai-${local.stack_id}-functions to {GENERATIVE_AI_") && endswith(s, "} in compartment id ocid1.compartment.oc1..aaaacompartment")])
    error_message = "Store permissions: one-to-one GENERATIVE_AI_* permissions in their own policy."
  }
}

run "developer_group" {
  command = plan
  variables {
    developer_group_name = "'Default'/'genai-devs'"
  }
  assert {
    condition     = oci_identity_policy.developers[0].statements == tolist(["allow group 'Default'/'genai-devs' to use generative-ai-family in compartment id ocid1.compartment.oc1..aaaacompartment"])
    error_message = "The developer group gets use on generative-ai-family, with an identity-domain name as given."
  }
}

run "developer_group_blank_from_resource_manager" {
  command = plan
  variables {
    developer_group_name = ""
  }
  assert {
    condition     = length(oci_identity_policy.developers) == 0
    error_message = "Resource Manager's \"\" for a blank field means no developer group, not `allow group  to ...`."
  }
}

run "tenancy_as_compartment" {
  command = plan
  variables {
    compartment_ocid = "ocid1.tenancy.oc1..aaaatenancy"
  }
  assert {
    condition     = oci_identity_policy.genai_function.statements[0] == "allow dynamic-group genai-${local.stack_id}-functions to use generative-ai-family in tenancy"
    error_message = "The root compartment is named `in tenancy`, not `in compartment id ocid1.tenancy...`."
  }
  assert {
    condition     = alltrue([for s in flatten(values(local.rendered_policies)) : !strcontains(s, "compartment id ocid1.tenancy")])
    error_message = "No statement says `compartment id <tenancy OCID>`."
  }
}

run "own_network_compartment" {
  command = plan
  variables {
    create_network                = false
    network_compartment_ocid      = "ocid1.compartment.oc1..aaaanetwork"
    existing_vcn_ocid             = "ocid1.vcn.oc1.us-chicago-1.aaaavcn"
    existing_function_subnet_ocid = "ocid1.subnet.oc1.us-chicago-1.aaaafn"
    existing_gateway_subnet_ocid  = "ocid1.subnet.oc1.us-chicago-1.aaaagw"
  }
  assert {
    condition     = oci_identity_policy.functions_service[0].statements[1] == "allow service faas to use virtual-network-family in compartment id ocid1.compartment.oc1..aaaanetwork"
    error_message = "The Functions service uses the network in the subnets' compartment."
  }
}

run "functions_service_off" {
  command = plan
  variables {
    grant_functions_service_access = false
  }
  assert {
    condition     = length(oci_identity_policy.functions_service) == 0
    error_message = "grant_functions_service_access = false drops the Functions service policy."
  }
}
