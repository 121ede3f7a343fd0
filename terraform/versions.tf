terraform {
  # 1.5: check blocks and the startswith() used to strip policy-file comments.
  required_version = ">= 1.5"

  required_providers {
    oci = {
      source = "oracle/oci"
      # 8.21.0 is the first release with oci_generative_ai_project; the
      # attributes used here were checked against v8.28.0's source
      # (tests/terraform/data/oci-provider-schema.json). A major release may
      # rename them, so it has to be adopted on purpose.
      version = ">= 8.21.0, < 9.0.0"
    }
  }
}
