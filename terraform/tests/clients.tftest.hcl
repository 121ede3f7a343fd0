# Per-client policy, the client header, the gateway's own 401 and CORS
# (terraform/clients.tf). The expected GENAI_CLIENT_POLICIES is the string
# tests/unit/test_client_policies.py expects from dev/local/clients.py's
# render_policies for the same api_clients: one rendering, two twins.

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
  tenancy_ocid         = "ocid1.tenancy.oc1..aaaatenancy"
  region               = "us-chicago-1"
  compartment_ocid     = "ocid1.compartment.oc1..aaaacompartment"
  functions_deployed   = true
  genai_allowed_models = ["openai.gpt-oss-120b", "openai.gpt-oss-20b"]
  genai_model_aliases  = { "gpt-4o-mini" = "openai.gpt-oss-20b" }
  api_clients = {
    # alice's budget (an alarm, alarms.tf) is no policy: she is listed with none.
    # Two clients: each is isolated, here in a project and compartment the operator gives (tests/isolation.tftest.hcl: created).
    alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], tokens_per_hour = 100000, project_ocid = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaalice", compartment_ocid = "ocid1.compartment.oc1..aaaaaaaaalice" }
    bob   = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], models = ["gpt-4o-mini"], max_output_tokens = 1024, families = ["responses", "chat"], project_ocid = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaabob", compartment_ocid = "ocid1.compartment.oc1..aaaaaaaaabob" }
  }
}

run "policies_rendered_and_header_set" {
  command = apply
  assert {
    condition = oci_functions_application.this.config["GENAI_CLIENT_POLICIES"] == replace(
      "{\"SID.alice\":{\"compartment\":\"ocid1.compartment.oc1..aaaaaaaaalice\",\"project\":\"ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaalice\"},\"SID.bob\":{\"compartment\":\"ocid1.compartment.oc1..aaaaaaaaabob\",\"families\":[\"responses\",\"chat\"],\"max_output_tokens\":1024,\"models\":[\"gpt-4o-mini\"],\"project\":\"ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaabob\"}}",
    "SID", substr(sha256("ocid1.compartment.oc1..aaaacompartment/us-chicago-1/${var.name}"), 0, 6))
    error_message = "GENAI_CLIENT_POLICIES lists every client under the authorizer's name for it, with the fields it sets, its project and compartment."
  }
  assert {
    condition     = length(oci_generative_ai_project.client) == 0 && length(oci_identity_compartment.client) == 0
    error_message = "A project and a compartment the operator gives are used, not created."
  }
  assert {
    condition = alltrue([for r in oci_apigateway_deployment.api[0].specification[0].routes :
      [for i in r.request_policies[0].header_transformations[0].set_headers[0].items : [i.name, i.values[0], i.if_exists]] == [["X-GenAI-Client", "$${request.auth[client]}", "OVERWRITE"]]
    ])
    error_message = "Every authenticated route sets X-GenAI-Client from the authorizer's context.client, over any client value."
  }
  assert {
    condition = alltrue([for r in oci_apigateway_deployment.health[0].specification[0].routes :
      [for i in r.request_policies[0].header_transformations[0].filter_headers[0].items : i.name] == ["Authorization", "X-GenAI-Client"]
    ])
    error_message = "The anonymous health deployment drops any X-GenAI-Client a client sends."
  }
  assert {
    condition = (
      one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].validation_failure_policy).type == "MODIFY_RESPONSE" &&
      one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].validation_failure_policy).response_code == "401" &&
      one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].validation_failure_policy).response_message == "Invalid or missing API key: send Authorization: Bearer <key>" &&
      { for i in one(one(one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].authentication[0].validation_failure_policy).response_header_transformations).set_headers).items : i.name => i.values[0] } == { "Content-Type" = "text/plain; charset=utf-8", "WWW-Authenticate" = "Bearer realm=\"genai\"" }
    )
    error_message = "A failed key check answers 401 with a plain message, WWW-Authenticate and Content-Type (terraform/gateway.json)."
  }
  assert {
    condition     = length(oci_apigateway_deployment.api[0].specification[0].request_policies[0].cors) == 0
    error_message = "No CORS policy unless cors_allowed_origins lists origins."
  }
}

run "no_policy_no_setting" {
  command = plan
  variables {
    api_clients = {
      alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] }
    }
  }
  assert {
    condition     = !contains(keys(oci_functions_application.this.config), "GENAI_CLIENT_POLICIES")
    error_message = "Without any client policy the function gets no GENAI_CLIENT_POLICIES (every client: the global settings)."
  }
}

run "cors_on" {
  command = apply
  variables {
    cors_allowed_origins = ["https://app.example.com"]
  }
  assert {
    condition = (
      one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].cors).allowed_origins == tolist(["https://app.example.com"]) &&
      one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].cors).allowed_methods == tolist(["GET", "POST", "DELETE"]) &&
      one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].cors).exposed_headers == tolist(["X-Output-Tokens-Capped", "X-Upstream-Request-Id", "opc-request-id", "x-request-id"]) &&
      one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].cors).max_age_in_seconds == 600 &&
      !one(oci_apigateway_deployment.api[0].specification[0].request_policies[0].cors).is_allow_credentials_enabled
    )
    error_message = "cors_allowed_origins sets the deployment's CORS policy, without credentials."
  }
}

run "jwt_claim_names_the_client" {
  command = apply
  variables {
    auth_mode        = "jwt"
    jwt_jwks_uri     = "https://idcs-example.identity.oraclecloud.com/admin/v1/SigningCert/jwk"
    jwt_issuers      = ["https://identity.oraclecloud.com/"]
    jwt_audiences    = ["genai"]
    jwt_client_claim = "client_id"
    jwt_clients      = { "app-1" = { families = ["responses"] } }
  }
  assert {
    condition     = alltrue([for r in oci_apigateway_deployment.api[0].specification[0].routes : r.request_policies[0].header_transformations[0].set_headers[0].items[0].values == tolist(["$${request.auth[client_id]}"])])
    error_message = "jwt mode: X-GenAI-Client is the claim jwt_client_claim names."
  }
  assert {
    condition     = oci_functions_application.this.config["GENAI_CLIENT_POLICIES"] == "{\"app-1\":{\"families\":[\"responses\"]}}"
    error_message = "jwt mode: the policy table is jwt_clients, keyed by the claim's value."
  }
}

run "rejects_cap_above_global" {
  command = plan
  variables {
    api_clients = {
      bob = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], max_output_tokens = 40000 }
    }
  }
  expect_failures = [oci_functions_application.this]
}

run "rejects_unknown_model" {
  command = plan
  variables {
    api_clients = {
      bob = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], models = ["meta.llama-9"] }
    }
  }
  expect_failures = [oci_functions_application.this]
}

run "rejects_unknown_family" {
  command = plan
  variables {
    api_clients = {
      bob = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], families = ["images"] }
    }
  }
  expect_failures = [var.api_clients]
}

run "rejects_cors_origin_with_path" {
  command = plan
  variables {
    cors_allowed_origins = ["https://app.example.com/x"]
  }
  expect_failures = [var.cors_allowed_origins]
}

run "api_key_hashes_clients_listed_unrestricted" {
  command = apply
  variables {
    api_key_hashes = "carol:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
    api_clients = {
      bob = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], families = ["chat"] }
    }
  }
  assert {
    condition = jsonencode({ for k, v in jsondecode(oci_functions_application.this.config["GENAI_CLIENT_POLICIES"]) : k => { for f, x in v : f => x if !contains(["project", "compartment"], f) } }) == replace(
      "{\"SID.bob\":{\"families\":[\"chat\"]},\"SID.carol\":{}}",
    "SID", substr(sha256("ocid1.compartment.oc1..aaaacompartment/us-chicago-1/${var.name}"), 0, 6))
    error_message = "A client of api_key_hashes is in the table too, with the global settings: with policies, an unlisted name is refused."
  }
  assert {
    condition     = keys(oci_generative_ai_project.client) == ["bob", "carol"] && jsondecode(oci_functions_application.this.config["GENAI_CLIENT_POLICIES"])["${substr(sha256("ocid1.compartment.oc1..aaaacompartment/us-chicago-1/${var.name}"), 0, 6)}.carol"].project == oci_generative_ai_project.client["carol"].id
    error_message = "A client of api_key_hashes gets its own project too."
  }
}
