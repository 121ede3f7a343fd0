# Regional failover (docs/failover.md): off by default; with a fallback region
# the function gets GENAI_FALLBACK_REGIONS naming that region's own project
# (created through oci.fallback, or given), and bad input is refused at plan.

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

run "failover_off_by_default" {
  command = apply
  assert {
    condition     = length(oci_generative_ai_project.fallback) == 0 && !contains(keys(oci_functions_application.this.config), "GENAI_FALLBACK_REGIONS") && !contains(keys(oci_functions_application.this.config), "GENAI_FALLBACK_MODELS")
    error_message = "Without genai_fallback_region there is no second project and no failover setting."
  }
}

run "failover_off_when_blank" {
  command = apply
  variables {
    genai_fallback_region       = " "
    genai_fallback_project_ocid = ""
  }
  assert {
    condition     = length(oci_generative_ai_project.fallback) == 0 && !contains(keys(oci_functions_application.this.config), "GENAI_FALLBACK_REGIONS")
    error_message = "Blank fields (Resource Manager) mean failover off."
  }
}

run "failover_creates_the_fallback_project" {
  command = apply
  variables {
    genai_fallback_region = "us-ashburn-1"
    genai_fallback_models = ["openai.gpt-oss-120b", "xai.grok-4"]
  }
  assert {
    condition     = length(oci_generative_ai_project.fallback) == 1 && oci_generative_ai_project.fallback[0].compartment_id == var.compartment_ocid
    error_message = "A project is created in the fallback region (oci.fallback provider)."
  }
  assert {
    condition     = oci_functions_application.this.config["GENAI_FALLBACK_REGIONS"] == "us-ashburn-1=${oci_generative_ai_project.fallback[0].id}"
    error_message = "The function is told the fallback region and its project."
  }
  assert {
    condition     = oci_functions_application.this.config["GENAI_FALLBACK_MODELS"] == "us-ashburn-1=openai.gpt-oss-120b|xai.grok-4"
    error_message = "The fallback's models reach the function as region=model|model."
  }
  assert {
    condition     = oci_functions_application.this.config["GENAI_PROJECT_OCID"] == oci_generative_ai_project.this.id
    error_message = "The home project is unchanged."
  }
}

run "failover_with_an_existing_project" {
  command = apply
  variables {
    genai_fallback_region       = "us-ashburn-1"
    genai_fallback_project_ocid = "ocid1.generativeaiproject.oc1.iad.aaaaexisting"
  }
  assert {
    condition     = length(oci_generative_ai_project.fallback) == 0 && oci_functions_application.this.config["GENAI_FALLBACK_REGIONS"] == "us-ashburn-1=ocid1.generativeaiproject.oc1.iad.aaaaexisting"
    error_message = "A given project is used, none created; models default to the home region's (no GENAI_FALLBACK_MODELS)."
  }
  assert {
    condition     = !contains(keys(oci_functions_application.this.config), "GENAI_FALLBACK_MODELS")
    error_message = "No model list: the fallback serves what the home region serves."
  }
}

run "rejects_fallback_region" {
  command = plan
  variables {
    genai_fallback_region = "Ashburn"
  }
  expect_failures = [var.genai_fallback_region]
}

run "rejects_fallback_project_ocid" {
  command = plan
  variables {
    genai_fallback_region       = "us-ashburn-1"
    genai_fallback_project_ocid = "ocid1.compartment.oc1..aaaa"
  }
  expect_failures = [var.genai_fallback_project_ocid]
}

run "rejects_fallback_models" {
  command = plan
  variables {
    genai_fallback_region = "us-ashburn-1"
    genai_fallback_models = ["not a model"]
  }
  expect_failures = [var.genai_fallback_models]
}

run "rejects_the_home_region_as_fallback" {
  command = plan
  variables {
    genai_fallback_region = "us-chicago-1"
  }
  expect_failures = [oci_functions_application.this]
}

run "rejects_a_project_without_its_region" {
  command = plan
  variables {
    genai_fallback_project_ocid = "ocid1.generativeaiproject.oc1.iad.aaaaexisting"
  }
  expect_failures = [oci_functions_application.this]
}
