# Clients kept apart (terraform/clients.tf, docs/clients.md#isolation): from two
# clients on, each gets its own Generative AI project, in its own compartment
# below the stack's (covered by the stack's policies through inheritance), and
# the function gets both in GENAI_CLIENT_POLICIES; one client keeps the shared
# project. Both auth modes.

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
  functions_deployed = true
  api_clients = {
    alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] }
    bob   = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], families = ["responses"] }
    carol = { key_hashes = ["cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"], project_ocid = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaacarol" }
  }
}

run "api_keys_a_project_and_compartment_per_client" {
  command = apply
  assert {
    condition     = keys(oci_generative_ai_project.client) == ["alice", "bob"] && keys(oci_identity_compartment.client) == ["alice", "bob", "carol"]
    error_message = "Each client without a given project gets one; each without a given compartment gets one (carol's project is hers)."
  }
  assert {
    condition     = alltrue([for n, c in oci_identity_compartment.client : c.compartment_id == var.compartment_ocid && c.enable_delete])
    error_message = "Client compartments sit below the stack's compartment (its policies cover them by inheritance) and are deleted on destroy."
  }
  assert {
    condition     = alltrue([for n, p in oci_generative_ai_project.client : p.compartment_id == oci_identity_compartment.client[n].id])
    error_message = "A created project lives in its client's compartment."
  }
  assert {
    condition = jsondecode(oci_functions_application.this.config["GENAI_CLIENT_POLICIES"]) == {
      for n in ["alice", "bob", "carol"] : "${substr(sha256("ocid1.compartment.oc1..aaaacompartment/us-chicago-1/${var.name}"), 0, 6)}.${n}" => merge(
        n == "bob" ? { families = ["responses"] } : {},
        {
          project     = n == "carol" ? "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaacarol" : oci_generative_ai_project.client[n].id
          compartment = oci_identity_compartment.client[n].id
        },
      )
    }
    error_message = "GENAI_CLIENT_POLICIES names each client's own project and compartment, beside its policy fields."
  }
  assert {
    condition     = oci_functions_application.this.config["GENAI_PROJECT_OCID"] == oci_generative_ai_project.this.id
    error_message = "The shared project stays: direct invocations (fn invoke) use it."
  }
}

run "one_client_keeps_the_shared_project" {
  command = plan
  variables {
    api_clients = {
      alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] }
    }
  }
  assert {
    condition     = length(oci_generative_ai_project.client) == 0 && length(oci_identity_compartment.client) == 0 && !contains(keys(oci_functions_application.this.config), "GENAI_CLIENT_POLICIES")
    error_message = "A single client is not isolated: no project or compartment of its own, no policy table."
  }
}

run "jwt_clients_each_isolated" {
  command = apply
  variables {
    auth_mode        = "jwt"
    jwt_jwks_uri     = "https://idcs-example.identity.oraclecloud.com/admin/v1/SigningCert/jwk"
    jwt_issuers      = ["https://identity.oraclecloud.com/"]
    jwt_audiences    = ["genai"]
    jwt_client_claim = "sub"
    jwt_clients = {
      "ann@example.com" = {}
      "app-2"           = { compartment_ocid = "ocid1.compartment.oc1..aaaaaaaaapp2" }
    }
  }
  assert {
    condition     = keys(oci_generative_ai_project.client) == ["ann@example.com", "app-2"] && keys(oci_identity_compartment.client) == ["ann@example.com"]
    error_message = "jwt mode: a project per client; a compartment for each that names none."
  }
  assert {
    condition     = oci_generative_ai_project.client["app-2"].compartment_id == "ocid1.compartment.oc1..aaaaaaaaapp2" && can(regex("^[A-Za-z0-9_.-]+$", oci_identity_compartment.client["ann@example.com"].name))
    error_message = "A given compartment holds the created project; a claim value is made safe for a compartment name."
  }
  assert {
    condition = jsondecode(oci_functions_application.this.config["GENAI_CLIENT_POLICIES"]) == {
      "ann@example.com" = { project = oci_generative_ai_project.client["ann@example.com"].id, compartment = oci_identity_compartment.client["ann@example.com"].id }
      "app-2"           = { project = oci_generative_ai_project.client["app-2"].id, compartment = "ocid1.compartment.oc1..aaaaaaaaapp2" }
    }
    error_message = "jwt mode: the table is keyed by the claim's value, each with its project and compartment."
  }
}

run "too_many_isolated_clients_for_the_config_limit" {
  command = plan
  variables {
    api_clients = { for i in range(12) : "client${i}" => { key_hashes = [format("%064d", i)] } }
  }
  expect_failures = [oci_functions_application.this]
}

run "six_isolated_clients_fit_the_config_limit" {
  command = plan
  variables {
    api_clients = { for i in range(6) : "client${i}" => { key_hashes = [format("%064d", i)] } }
  }
  assert {
    condition     = length(oci_generative_ai_project.client) == 6
    error_message = "Six api_keys clients, each isolated, fit in the application's 4 KB of configuration."
  }
}

run "clients_from_resource_managers_json_text" {
  command = apply
  variables {
    api_clients    = {}
    api_key_hashes = ""
    api_clients_json = jsonencode({
      dora = { key_hashes = ["dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"], families = ["responses", "files"] }
      erin = { key_hashes = ["eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"], rate_limit_per_second = 5 }
    })
  }
  assert {
    condition     = keys(oci_generative_ai_project.client) == ["dora", "erin"] && keys(oci_identity_compartment.client) == ["dora", "erin"]
    error_message = "Clients given as api_clients_json (the Resource Manager form) are isolated as api_clients are."
  }
  assert {
    condition     = jsondecode(oci_functions_application.this.config["GENAI_CLIENT_POLICIES"])["${substr(sha256("ocid1.compartment.oc1..aaaacompartment/us-chicago-1/${var.name}"), 0, 6)}.dora"].families == ["responses", "files"]
    error_message = "A client's policy fields from api_clients_json reach the function."
  }
}

run "rejects_bad_clients_json" {
  command = plan
  variables {
    api_clients_json = "{\"dora\": {\"key_hashes\": [\"nothex\"]}}"
  }
  expect_failures = [var.api_clients_json]
}
