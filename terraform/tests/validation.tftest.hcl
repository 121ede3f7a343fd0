# Every variable validation and precondition refuses bad input at plan time,
# each on the object that carries its message (expect_failures). A run fails
# if the plan succeeds, or fails on another object.

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

run "rejects_tenancy_ocid" {
  command = plan
  variables {
    tenancy_ocid = "ocid1.compartment.oc1..aaaa"
  }
  expect_failures = [var.tenancy_ocid]
}

run "rejects_region" {
  command = plan
  variables {
    region = "Chicago"
  }
  expect_failures = [var.region]
}

run "rejects_compartment_ocid" {
  command = plan
  variables {
    compartment_ocid = "ocid1.vcn.oc1..aaaa"
  }
  expect_failures = [var.compartment_ocid]
}

run "rejects_realm_domain" {
  command = plan
  variables {
    realm_domain = "localhost"
  }
  expect_failures = [var.realm_domain]
}

run "rejects_name" {
  command = plan
  variables {
    name = "Genai_Prod"
  }
  expect_failures = [var.name]
}

run "rejects_vcn_cidr" {
  command = plan
  variables {
    vcn_cidr = "10.20.0.0"
  }
  expect_failures = [var.vcn_cidr]
}

run "rejects_function_subnet_cidr" {
  command = plan
  variables {
    function_subnet_cidr = "10.20.1/24"
  }
  expect_failures = [var.function_subnet_cidr]
}

run "rejects_gateway_subnet_cidr" {
  command = plan
  variables {
    gateway_subnet_cidr = "not-a-cidr"
  }
  expect_failures = [var.gateway_subnet_cidr]
}

run "rejects_gateway_ingress_cidrs" {
  command = plan
  variables {
    gateway_ingress_cidrs = []
  }
  expect_failures = [var.gateway_ingress_cidrs]
}

run "rejects_existing_vcn_ocid" {
  command = plan
  variables {
    existing_vcn_ocid = "ocid1.subnet.oc1.iad.aaaa"
  }
  expect_failures = [var.existing_vcn_ocid]
}

run "rejects_existing_function_subnet_ocid" {
  command = plan
  variables {
    existing_function_subnet_ocid = "ocid1.vcn.oc1.iad.aaaa"
  }
  expect_failures = [var.existing_function_subnet_ocid]
}

run "rejects_existing_gateway_subnet_ocid" {
  command = plan
  variables {
    existing_gateway_subnet_ocid = "subnet-1"
  }
  expect_failures = [var.existing_gateway_subnet_ocid]
}

run "rejects_network_compartment_ocid" {
  command = plan
  variables {
    network_compartment_ocid = "ocid1.vcn.oc1..aaaa"
  }
  expect_failures = [var.network_compartment_ocid]
}

run "rejects_developer_group_name" {
  command = plan
  variables {
    developer_group_name = "devs; allow group x"
  }
  expect_failures = [var.developer_group_name]
}

run "rejects_genai_function_verb" {
  command = plan
  variables {
    genai_function_verb = "inspect"
  }
  expect_failures = [var.genai_function_verb]
}

run "rejects_genai_responses_retention_hours" {
  command = plan
  variables {
    genai_responses_retention_hours = 0
  }
  expect_failures = [var.genai_responses_retention_hours]
}

run "rejects_genai_conversations_retention_hours" {
  command = plan
  variables {
    genai_conversations_retention_hours = 1.5
  }
  expect_failures = [var.genai_conversations_retention_hours]
}

run "rejects_application_shape" {
  command = plan
  variables {
    application_shape = "ARM"
  }
  expect_failures = [var.application_shape]
}

run "rejects_ocir_repository_prefix" {
  command = plan
  variables {
    ocir_repository_prefix = "Upper/Case"
  }
  expect_failures = [var.ocir_repository_prefix]
}

run "rejects_genai_region" {
  command = plan
  variables {
    genai_region = "chicago"
  }
  expect_failures = [var.genai_region]
}

run "rejects_genai_default_model" {
  command = plan
  variables {
    genai_default_model = "bad model"
  }
  expect_failures = [var.genai_default_model]
}

run "rejects_genai_allowed_models" {
  command = plan
  variables {
    genai_allowed_models = []
  }
  expect_failures = [var.genai_allowed_models]
}

run "rejects_genai_max_output_tokens" {
  command = plan
  variables {
    genai_max_output_tokens = 0
  }
  expect_failures = [var.genai_max_output_tokens]
}

run "rejects_genai_default_output_tokens" {
  command = plan
  variables {
    genai_default_output_tokens = -1
  }
  expect_failures = [var.genai_default_output_tokens]
}

run "rejects_genai_model_aliases" {
  command = plan
  variables {
    genai_model_aliases = { "gpt 4" = "openai.gpt-oss-20b" }
  }
  expect_failures = [var.genai_model_aliases]
}

run "rejects_genai_max_body_bytes" {
  command = plan
  variables {
    genai_max_body_bytes = 7000000
  }
  expect_failures = [var.genai_max_body_bytes]
}

run "rejects_genai_max_retries" {
  command = plan
  variables {
    genai_max_retries = 6
  }
  expect_failures = [var.genai_max_retries]
}

# The function's own limits (genai_fn/bounds.py): the largest values pass, one beyond is refused.
run "accepts_the_functions_largest_values" {
  command = plan
  variables {
    genai_default_model         = "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
    genai_allowed_models        = ["mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"]
    genai_max_output_tokens     = 131072
    genai_default_output_tokens = 131072
    genai_max_retries           = 5
  }
  assert {
    condition     = oci_functions_application.this.config["GENAI_MAX_OUTPUT_TOKENS"] == "131072" && oci_functions_application.this.config["GENAI_MAX_RETRIES"] == "5"
    error_message = "the largest output cap and retries the function takes must reach its configuration"
  }
}

run "rejects_genai_max_output_tokens_above_the_functions" {
  command = plan
  variables {
    genai_max_output_tokens = 131073
  }
  expect_failures = [var.genai_max_output_tokens]
}

run "rejects_model_names_longer_than_the_functions" {
  command = plan
  variables {
    genai_fallback_models = ["mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"]
  }
  expect_failures = [var.genai_fallback_models]
}

run "rejects_genai_log_level" {
  command = plan
  variables {
    genai_log_level = "TRACE"
  }
  expect_failures = [var.genai_log_level]
}

run "rejects_path_prefix" {
  command = plan
  variables {
    path_prefix = "genai/"
  }
  expect_failures = [var.path_prefix]
}

run "rejects_auth_mode" {
  command = plan
  variables {
    auth_mode = "basic"
  }
  expect_failures = [var.auth_mode]
}

run "rejects_api_key_hashes" {
  command = plan
  variables {
    api_key_hashes = "alice:notahash"
  }
  expect_failures = [var.api_key_hashes]
}

run "rejects_health_rate_limit_per_second" {
  command = plan
  variables {
    health_rate_limit_per_second = 0
  }
  expect_failures = [var.health_rate_limit_per_second]
}

run "rejects_authorizer_cache_seconds" {
  command = plan
  variables {
    authorizer_cache_seconds = 30
  }
  expect_failures = [var.authorizer_cache_seconds]
}

run "rejects_jwt_issuers" {
  command = plan
  variables {
    jwt_issuers = ["http://idcs.example"]
  }
  expect_failures = [var.jwt_issuers]
}

run "rejects_jwt_audiences" {
  command = plan
  variables {
    jwt_audiences = [""]
  }
  expect_failures = [var.jwt_audiences]
}

run "rejects_jwt_jwks_uri" {
  command = plan
  variables {
    jwt_jwks_uri = "http://idcs.example/jwk"
  }
  expect_failures = [var.jwt_jwks_uri]
}

run "rejects_rate_limit_per_second" {
  command = plan
  variables {
    rate_limit_per_second = 0
  }
  expect_failures = [var.rate_limit_per_second]
}

run "rejects_rate_limit_key" {
  command = plan
  variables {
    rate_limit_key = "PER_USER"
  }
  expect_failures = [var.rate_limit_key]
}

run "rejects_log_retention_days" {
  command = plan
  variables {
    log_retention_days = 7
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_execution_log_level" {
  command = plan
  variables {
    execution_log_level = "DEBUG"
  }
  expect_failures = [var.execution_log_level]
}

run "rejects_api_clients_name" {
  command = plan
  variables {
    api_clients = { "bad name!" = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] } }
  }
  expect_failures = [var.api_clients]
}

run "rejects_api_clients_hashes" {
  command = plan
  variables {
    api_clients = { alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"] } }
  }
  expect_failures = [var.api_clients]
}

run "rejects_api_clients_limits" {
  command = plan
  variables {
    api_clients = { alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], quota_unit = "YEAR" } }
  }
  expect_failures = [var.api_clients]
}

run "precondition_own_network_without_subnets" {
  command = plan
  variables {
    create_network = false
  }
  expect_failures = [oci_apigateway_gateway.this, oci_functions_application.this]
}

run "precondition_own_network_without_gateway_subnet" {
  command = plan
  variables {
    create_network                = false
    existing_function_subnet_ocid = "ocid1.subnet.oc1.us-chicago-1.aaaafn"
  }
  expect_failures = [oci_apigateway_gateway.this]
}

run "precondition_app_config_over_4kb_in_phase_1" {
  command = plan
  variables {
    functions_deployed = false
    api_key_hashes     = "client0:0000000000000000000000000000000000000000000000000000000000000000,client1:0000000000000000000000000000000000000000000000000000000000000001,client2:0000000000000000000000000000000000000000000000000000000000000002,client3:0000000000000000000000000000000000000000000000000000000000000003,client4:0000000000000000000000000000000000000000000000000000000000000004,client5:0000000000000000000000000000000000000000000000000000000000000005,client6:0000000000000000000000000000000000000000000000000000000000000006,client7:0000000000000000000000000000000000000000000000000000000000000007,client8:0000000000000000000000000000000000000000000000000000000000000008,client9:0000000000000000000000000000000000000000000000000000000000000009,client10:000000000000000000000000000000000000000000000000000000000000000a,client11:000000000000000000000000000000000000000000000000000000000000000b,client12:000000000000000000000000000000000000000000000000000000000000000c,client13:000000000000000000000000000000000000000000000000000000000000000d,client14:000000000000000000000000000000000000000000000000000000000000000e,client15:000000000000000000000000000000000000000000000000000000000000000f,client16:0000000000000000000000000000000000000000000000000000000000000010,client17:0000000000000000000000000000000000000000000000000000000000000011,client18:0000000000000000000000000000000000000000000000000000000000000012,client19:0000000000000000000000000000000000000000000000000000000000000013,client20:0000000000000000000000000000000000000000000000000000000000000014,client21:0000000000000000000000000000000000000000000000000000000000000015,client22:0000000000000000000000000000000000000000000000000000000000000016,client23:0000000000000000000000000000000000000000000000000000000000000017,client24:0000000000000000000000000000000000000000000000000000000000000018,client25:0000000000000000000000000000000000000000000000000000000000000019,client26:000000000000000000000000000000000000000000000000000000000000001a,client27:000000000000000000000000000000000000000000000000000000000000001b,client28:000000000000000000000000000000000000000000000000000000000000001c,client29:000000000000000000000000000000000000000000000000000000000000001d,client30:000000000000000000000000000000000000000000000000000000000000001e,client31:000000000000000000000000000000000000000000000000000000000000001f,client32:0000000000000000000000000000000000000000000000000000000000000020,client33:0000000000000000000000000000000000000000000000000000000000000021,client34:0000000000000000000000000000000000000000000000000000000000000022,client35:0000000000000000000000000000000000000000000000000000000000000023,client36:0000000000000000000000000000000000000000000000000000000000000024,client37:0000000000000000000000000000000000000000000000000000000000000025,client38:0000000000000000000000000000000000000000000000000000000000000026,client39:0000000000000000000000000000000000000000000000000000000000000027,client40:0000000000000000000000000000000000000000000000000000000000000028,client41:0000000000000000000000000000000000000000000000000000000000000029,client42:000000000000000000000000000000000000000000000000000000000000002a,client43:000000000000000000000000000000000000000000000000000000000000002b,client44:000000000000000000000000000000000000000000000000000000000000002c,client45:000000000000000000000000000000000000000000000000000000000000002d,client46:000000000000000000000000000000000000000000000000000000000000002e,client47:000000000000000000000000000000000000000000000000000000000000002f,client48:0000000000000000000000000000000000000000000000000000000000000030,client49:0000000000000000000000000000000000000000000000000000000000000031,client50:0000000000000000000000000000000000000000000000000000000000000032,client51:0000000000000000000000000000000000000000000000000000000000000033,client52:0000000000000000000000000000000000000000000000000000000000000034,client53:0000000000000000000000000000000000000000000000000000000000000035,client54:0000000000000000000000000000000000000000000000000000000000000036,client55:0000000000000000000000000000000000000000000000000000000000000037,client56:0000000000000000000000000000000000000000000000000000000000000038,client57:0000000000000000000000000000000000000000000000000000000000000039,client58:000000000000000000000000000000000000000000000000000000000000003a,client59:000000000000000000000000000000000000000000000000000000000000003b"
  }
  expect_failures = [check.deployment_phase, oci_functions_application.this]
}

run "precondition_api_keys_without_clients_in_phase_1" {
  command = plan
  variables {
    functions_deployed = false
    api_key_hashes     = ""
  }
  expect_failures = [check.deployment_phase, oci_functions_application.this]
}

run "precondition_jwt_without_settings_in_phase_1" {
  command = plan
  variables {
    functions_deployed = false
    auth_mode          = "jwt"
  }
  expect_failures = [check.deployment_phase, oci_functions_application.this]
}

run "precondition_client_with_three_hashes_via_merge" {
  command = plan
  variables {
    api_key_hashes = "alice:1111111111111111111111111111111111111111111111111111111111111111,alice:2222222222222222222222222222222222222222222222222222222222222222,alice:3333333333333333333333333333333333333333333333333333333333333333"
  }
  expect_failures = [oci_functions_application.this]
}

run "precondition_same_hash_twice" {
  command = plan
  variables {
    api_key_hashes = "alice:1111111111111111111111111111111111111111111111111111111111111111,bob:1111111111111111111111111111111111111111111111111111111111111111"
  }
  expect_failures = [oci_functions_application.this]
}

run "precondition_default_tokens_over_max" {
  command = plan
  variables {
    genai_max_output_tokens     = 1000
    genai_default_output_tokens = 2000
  }
  expect_failures = [oci_functions_application.this]
}

# Phase 2 before fn deploy: the deployments name the missing function. Apply
# runs: in a fresh state the application, and so the function lookup, is only
# known at apply (a real phase 2 has it in the state from phase 1).
run "precondition_phase_2_without_functions" {
  command = apply
  override_data {
    target = data.oci_functions_functions.main[0]
    values = { functions = [] }
  }
  override_data {
    target = data.oci_functions_functions.authorizer[0]
    values = { functions = [] }
  }
  expect_failures = [oci_apigateway_deployment.api, oci_apigateway_deployment.health]
}

# The state now holds the application (the run above applied it), as in a
# real phase 2: the lookup is known and the plan itself stops.
run "precondition_phase_2_without_authorizer" {
  command = plan
  override_data {
    target = data.oci_functions_functions.authorizer[0]
    values = { functions = [] }
  }
  expect_failures = [oci_apigateway_deployment.api]
}
