# The two applies `make deploy` runs (ops/deploy.py): phase 1 with the
# defaults of terraform.tfvars.example, phase 2 once fn deploy has created the
# functions. Every provider configuration is mocked (no credentials, no
# network); data sources answer what a tenancy would (mocks/oci.tfmock.hcl).

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
  api_clients = {
    alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] }
    bob   = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"], rate_limit_per_second = 5, quota = 20000, quota_unit = "MONTH" }
  }
}

run "phase1_defaults" {
  command = apply
  # Phase 1 warns that phase 2 is still to do.
  expect_failures = [check.deployment_phase]

  assert {
    condition     = local.home_region == "us-ashburn-1" && local.genai_region == "us-chicago-1"
    error_message = "The home region is looked up from the tenancy's home_region_key; Generative AI defaults to var.region."
  }
  assert {
    condition     = length(oci_apigateway_deployment.api) == 0 && length(oci_apigateway_deployment.health) == 0 && length(oci_apigateway_usage_plan.client) == 0 && length(oci_apigateway_subscriber.client) == 0
    error_message = "Phase 1 creates no API deployment, usage plan or subscriber (the functions do not exist yet)."
  }
  assert {
    condition     = oci_identity_dynamic_group.functions.matching_rule == "ALL {resource.type = 'fnfunc', resource.compartment.id = 'ocid1.compartment.oc1..aaaacompartment'}"
    error_message = "Phase 1 matches functions by compartment."
  }
  assert {
    condition     = oci_identity_dynamic_group.functions.compartment_id == var.tenancy_ocid
    error_message = "Dynamic groups live in the tenancy."
  }
  assert {
    condition     = oci_functions_application.this.config["GENAI_PROJECT_OCID"] == oci_generative_ai_project.this.id && oci_functions_application.this.config["GENAI_REGION"] == "us-chicago-1"
    error_message = "The function is told the project it calls and its region."
  }
  assert {
    condition     = oci_functions_application.this.config["API_KEY_HASHES"] == "${local.stack_id}.alice:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,${local.stack_id}.bob:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,${local.stack_id}.bob:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
    error_message = "API_KEY_HASHES is token:hash per key, the token being <stack_id>.<client> (authorizer/keys.py parses it)."
  }
  assert {
    condition     = toset(keys(oci_artifacts_container_repository.functions)) == toset(["genai-responses", "genai-authorizer", "genai-usage-metrics"]) && oci_artifacts_container_repository.functions["genai-responses"].display_name == "genai-${local.stack_id}/genai-responses" && !oci_artifacts_container_repository.functions["genai-responses"].is_public
    error_message = "One private OCIR repository per function, under the stack's prefix."
  }
  assert {
    condition     = output.deploy_settings.ocir_registry == "ord.ocir.io/axtestns/genai-${local.stack_id}" && output.deploy_settings.functions_deployed == false
    error_message = "The registry is <region key>.ocir.io/<namespace>/<prefix> in the commercial realm."
  }
  assert {
    condition     = startswith(output.next_step, "Phase 1 done.") && strcontains(output.next_step, "functions_deployed = true")
    error_message = "Phase 1 says what to do next."
  }
  assert {
    condition     = length(oci_logging_log.gateway) == 0 && oci_logging_log.function_invoke.configuration[0].source[0].resource == oci_functions_application.this.id
    error_message = "Phase 1 logs the application's invocations; gateway logs come with the deployments."
  }
  assert {
    condition     = length(regexall("^[0-9a-f]{6}$", local.stack_id)) == 1 && oci_identity_dynamic_group.functions.name == "genai-${local.stack_id}-functions"
    error_message = "Names unique in the tenancy carry the stack id."
  }
}

run "phase2_api_keys" {
  command = apply
  variables {
    functions_deployed = true
  }

  assert {
    condition     = oci_identity_dynamic_group.functions.matching_rule == "ALL {resource.type = 'fnfunc', resource.id = 'ocid1.fnfunc.oc1.us-chicago-1.main'}"
    error_message = "Phase 2 narrows the dynamic group to the function's OCID."
  }
  assert {
    condition     = length(oci_apigateway_deployment.api) == 1 && length(oci_apigateway_deployment.health) == 1
    error_message = "Phase 2 creates both deployments."
  }
  assert {
    condition = jsonencode([for r in oci_apigateway_deployment.api[0].specification[0].routes : { path = r.path, methods = r.methods }]) == jsonencode([
      for r in jsondecode(file("${path.module}/routes.json")).authenticated : { path = r.path, methods = r.methods }
    ])
    error_message = "The API deployment has exactly routes.json's authenticated routes, in order."
  }
  assert {
    condition     = contains([for r in oci_apigateway_deployment.api[0].specification[0].routes : r.path if contains(r.methods, "POST")], "/v1/responses")
    error_message = "POST /v1/responses is routed."
  }
  assert {
    condition     = alltrue([for r in oci_apigateway_deployment.api[0].specification[0].routes : r.backend[0].type == "ORACLE_FUNCTIONS_BACKEND" && r.backend[0].function_id == "ocid1.fnfunc.oc1.us-chicago-1.main"])
    error_message = "Every authenticated route goes to the main function."
  }
  assert {
    condition = alltrue([for r in oci_apigateway_deployment.api[0].specification[0].routes :
      r.request_policies[0].header_transformations[0].filter_headers[0].type == "BLOCK" &&
      [for i in r.request_policies[0].header_transformations[0].filter_headers[0].items : i.name] == ["Authorization"] &&
    r.request_policies[0].authorization[0].type == "AUTHENTICATION_ONLY"])
    error_message = "Every authenticated route requires authentication and drops the Authorization header."
  }
  assert {
    condition     = oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].type == "CUSTOM_AUTHENTICATION" && oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].function_id == "ocid1.fnfunc.oc1.us-chicago-1.authz" && !oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].is_anonymous_access_allowed
    error_message = "api_keys: the authorizer function authenticates every call."
  }
  assert {
    condition     = oci_apigateway_deployment.api[0].specification[0].request_policies[0].usage_plans[0].token_locations == tolist(["request.auth[client]"]) && oci_apigateway_deployment.api[0].specification[0].request_policies[0].rate_limiting[0].rate_key == "TOTAL" && oci_apigateway_deployment.api[0].specification[0].request_policies[0].rate_limiting[0].rate_in_requests_per_second == 20
    error_message = "Usage plans key on the authorizer's answer; a TOTAL ceiling of 20/s by default."
  }
  assert {
    condition     = toset(keys(oci_apigateway_usage_plan.client)) == toset(["alice", "bob"]) && oci_apigateway_usage_plan.client["bob"].entitlements[0].quota[0].unit == "MONTH" && oci_apigateway_usage_plan.client["bob"].entitlements[0].quota[0].value == 20000 && oci_apigateway_usage_plan.client["bob"].entitlements[0].rate_limit[0].value == 5 && oci_apigateway_usage_plan.client["alice"].entitlements[0].quota[0].value == 5000 && oci_apigateway_usage_plan.client["alice"].entitlements[0].targets[0].deployment_id == oci_apigateway_deployment.api[0].id
    error_message = "One usage plan per client with its own limits, on the API deployment."
  }
  assert {
    condition     = oci_apigateway_subscriber.client["alice"].clients[0].token == "${local.stack_id}.alice" && oci_apigateway_subscriber.client["bob"].usage_plans == tolist([oci_apigateway_usage_plan.client["bob"].id])
    error_message = "Subscriber tokens are what the authorizer answers, <stack_id>.<client>."
  }
  assert {
    condition     = toset(keys(oci_logging_log.gateway)) == toset(["api-access", "api-execution", "health-access", "health-execution"])
    error_message = "Phase 2 logs both deployments."
  }
  assert {
    condition = jsonencode([for r in oci_apigateway_deployment.health[0].specification[0].routes : { path = r.path, methods = r.methods }]) == jsonencode([
      for r in jsondecode(file("${path.module}/routes.json")).anonymous : { path = r.path, methods = r.methods }
    ]) && oci_apigateway_deployment.health[0].path_prefix == "/genai-health"
    error_message = "The health deployment has routes.json's anonymous routes, at <path_prefix>-health."
  }
  assert {
    condition     = oci_apigateway_deployment.health[0].specification[0].request_policies[0].rate_limiting[0].rate_key == "TOTAL" && oci_apigateway_deployment.health[0].specification[0].request_policies[0].rate_limiting[0].rate_in_requests_per_second == 1 && length(oci_apigateway_deployment.health[0].specification[0].request_policies[0].authentication) == 0
    error_message = "/health is anonymous with one TOTAL budget (1/s), so no number of callers can make it invoke the function more."
  }
  assert {
    condition     = alltrue([for r in oci_apigateway_deployment.health[0].specification[0].routes : r.backend[0].function_id == "ocid1.fnfunc.oc1.us-chicago-1.main" && [for i in r.request_policies[0].header_transformations[0].filter_headers[0].items : i.name] == ["Authorization", "X-GenAI-Client"]])
    error_message = "/health reaches the function, without the Authorization header or a client-sent X-GenAI-Client."
  }
  assert {
    condition     = startswith(output.next_step, "Phase 2 done.")
    error_message = "Phase 2 says it is done."
  }
}

run "phase2_jwt" {
  command = apply
  variables {
    functions_deployed = true
    auth_mode          = "jwt"
    api_clients        = {}
    jwt_issuers        = ["https://identity.oraclecloud.com/"]
    jwt_audiences      = ["genai"]
    jwt_jwks_uri       = "https://idcs-x.identity.oraclecloud.com/admin/v1/SigningCert/jwk"
  }

  assert {
    condition     = oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].type == "JWT_AUTHENTICATION" && oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].public_keys[0].uri == var.jwt_jwks_uri && oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].audiences == tolist(["genai"])
    error_message = "jwt: the gateway validates tokens against the JWKS."
  }
  assert {
    condition     = length(oci_apigateway_deployment.api[0].specification[0].request_policies[0].usage_plans) == 0 && length(oci_apigateway_usage_plan.client) == 0
    error_message = "jwt: no usage plans (nothing answers request.auth[client])."
  }
  assert {
    condition     = length(data.oci_functions_functions.authorizer) == 0 && keys(oci_artifacts_container_repository.functions) == ["genai-responses", "genai-usage-metrics"] && !contains(keys(oci_functions_application.this.config), "API_KEY_HASHES")
    error_message = "jwt: no authorizer function, repository or key hashes."
  }
}
