terraform {
  # 1.5: check blocks and the startswith() used to strip policy-file comments.
  required_version = ">= 1.5"

  required_providers {
    oci = {
      source = "oracle/oci"
      # 8.21.0 is the first release with oci_generative_ai_project; `make
      # test` runs init, validate and terraform test with v8.28.0 (built from
      # Oracle's source; dev/terraform_checks.py). A major release may rename
      # attributes, so it has to be adopted on purpose.
      version = ">= 8.21.0, < 9.0.0"
    }
  }
}
