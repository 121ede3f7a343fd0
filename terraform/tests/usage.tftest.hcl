# The output `make usage` (ops/usage.py) reads to search the function's invoke
# log with Logging's search API. Providers mocked as in phases.tftest.hcl.

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
  oci_config_profile = "USAGE"
  api_clients = {
    alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] }
  }
}

run "usage_log_names_the_invoke_log" {
  command         = apply
  expect_failures = [check.deployment_phase]

  assert {
    condition     = output.usage_log.search_scope == "ocid1.compartment.oc1..aaaacompartment/${oci_logging_log_group.this.id}/${oci_logging_log.function_invoke.id}"
    error_message = "The search scope is <compartment>/<log group>/<invoke log>, as Logging's query language names one log."
  }
  assert {
    condition     = output.usage_log.region == "us-chicago-1" && output.usage_log.profile == "USAGE"
    error_message = "make usage searches in the stack's region with the profile Terraform used."
  }
}
