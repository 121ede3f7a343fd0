# What a tenancy answers to the data sources this configuration reads:
# home region IAD, the function in ORD, Object Storage namespace, the service
# gateway's "All <region> Services" entry. Every test file mocks each
# provider configuration (oci, oci.home, oci.genai, oci.fallback) with these.
mock_data "oci_identity_tenancy" {
  defaults = { home_region_key = "IAD" }
}
mock_data "oci_identity_regions" {
  defaults = {
    regions = [
      { key = "IAD", name = "us-ashburn-1" },
      { key = "ORD", name = "us-chicago-1" },
      { key = "FRA", name = "eu-frankfurt-1" },
      { key = "LFI", name = "us-langley-1" },
    ]
  }
}
mock_data "oci_objectstorage_namespace" {
  defaults = { namespace = "axtestns" }
}
mock_data "oci_core_services" {
  defaults = {
    services = [{ id = "ocid1.service.oc1.us-chicago-1.aaaa", name = "All ORD Services In Oracle Services Network", cidr_block = "all-ord-services-in-oracle-services-network" }]
  }
}
# Phase 2 (functions_deployed = true): what fn deploy created, one function
# per lookup, for every test file. override_data in a mock provider's file is
# taken by Terraform 1.11.4 (checked: usage_metrics.tftest.hcl's
# the_connector_waits_for_the_function fails without its own override); mocks:
# https://developer.hashicorp.com/terraform/language/tests/mocking. A run
# that needs a missing function overrides its lookup with functions = [], which
# wins over these. In phase 1 the lookups do not exist (count 0).
mock_data "oci_functions_functions" {
  defaults = { functions = [] }
}
override_data {
  target = data.oci_functions_functions.main[0]
  values = { functions = [{ id = "ocid1.fnfunc.oc1.us-chicago-1.main" }] }
}
override_data {
  target = data.oci_functions_functions.authorizer[0]
  values = { functions = [{ id = "ocid1.fnfunc.oc1.us-chicago-1.authz" }] }
}
override_data {
  target = data.oci_functions_functions.usage_metrics[0]
  values = { functions = [{ id = "ocid1.fnfunc.oc1.us-chicago-1.usage" }] }
}
