terraform {
  # 1.5: check blocks and the startswith() used to strip policy-file comments.
  required_version = ">= 1.5"

  required_providers {
    oci = {
      source = "oracle/oci"
      # 8.21.0 is the first release with oci_generative_ai_project.
      version = ">= 8.21.0"
    }
  }
}
