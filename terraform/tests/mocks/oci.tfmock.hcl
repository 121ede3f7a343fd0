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
# fn deploy has not run: no function. Phase-2 runs override this per function.
mock_data "oci_functions_functions" {
  defaults = { functions = [] }
}
