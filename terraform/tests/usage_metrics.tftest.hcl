# Token metrics (terraform/usage_metrics.tf) and each client's budget alarm
# (terraform/alarms.tf): what exists in each phase, what the connector, the
# usage-metrics function's identity and the alarms say exactly, that it all
# turns off, and the inputs refused. Providers mocked as in phases.tftest.hcl;
# in phase 2 each function lookup finds the function mocks/oci.tfmock.hcl names
# (ocid1.fnfunc.oc1.us-chicago-1.usage for this one).

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

# Fixed OCIDs, so that the connector's statements below are asserted as exact text.
override_resource {
  target = oci_identity_compartment.usage_metrics
  values = { id = "ocid1.compartment.oc1..aaaametrics" }
}
override_resource {
  target = oci_sch_service_connector.usage_metrics
  values = { id = "ocid1.serviceconnector.oc1.us-chicago-1.usage" }
}
override_resource {
  target = oci_logging_log_group.this
  values = { id = "ocid1.loggroup.oc1.us-chicago-1.logs" }
}

variables {
  tenancy_ocid     = "ocid1.tenancy.oc1..aaaatenancy"
  region           = "us-chicago-1"
  compartment_ocid = "ocid1.compartment.oc1..aaaacompartment"
  api_key_hashes   = "carol:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
  api_clients = {
    alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], tokens_per_hour = 50000 }
    bob   = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"] }
  }
}

run "phase1_application_and_repository_no_connector" {
  command         = apply
  expect_failures = [check.deployment_phase]

  assert {
    condition     = oci_functions_application.usage_metrics[0].display_name == "genai-metrics-app" && oci_functions_application.usage_metrics[0].subnet_ids == oci_functions_application.this.subnet_ids
    error_message = "The usage-metrics function gets an application of its own, on the functions' subnet."
  }
  assert {
    condition     = oci_functions_application.usage_metrics[0].config == tomap({ USAGE_METRICS_COMPARTMENT_OCID = "ocid1.compartment.oc1..aaaacompartment", USAGE_METRICS_NAMESPACE = "genai_gateway" })
    error_message = "Its config is the contract's two keys: where the metrics go, and their namespace."
  }
  assert {
    condition     = length([for k in keys(oci_functions_application.this.config) : k if startswith(k, "USAGE_METRICS_")]) == 0
    error_message = "The main application's config (4 KB at most) carries none of them."
  }
  assert {
    condition     = oci_artifacts_container_repository.functions["genai-usage-metrics"].display_name == "genai-${local.stack_id}/genai-usage-metrics" && jsonencode(output.deploy_settings.function_apps) == jsonencode({ "genai-authorizer" = "genai-app", "genai-responses" = "genai-app", "genai-usage-metrics" = "genai-metrics-app" })
    error_message = "Its OCIR repository exists before fn deploy, and make deploy is told which application it goes in."
  }
  assert {
    condition = (
      oci_identity_compartment.usage_metrics[0].compartment_id == var.compartment_ocid &&
      oci_identity_compartment.usage_metrics[0].name == "genai-${local.stack_id}-metrics" &&
      oci_identity_compartment.usage_metrics[0].enable_delete == true &&
      oci_functions_application.usage_metrics[0].compartment_id == "ocid1.compartment.oc1..aaaametrics" &&
      oci_logging_log.usage_metrics_invoke[0].configuration[0].compartment_id == "ocid1.compartment.oc1..aaaametrics" &&
      oci_logging_log.usage_metrics_invoke[0].log_group_id == oci_logging_log_group.this.id
    )
    error_message = "The application lives in a compartment of its own, a child of the stack's that terraform destroy deletes; its log stays in the stack's log group."
  }
  assert {
    condition     = strcontains(output.fn_setup_and_deploy, "fn update context oracle.compartment-id ocid1.compartment.oc1..aaaametrics\n(cd usage_metrics && fn deploy --app genai-metrics-app --no-bump)\nfn update context oracle.compartment-id ocid1.compartment.oc1..aaaacompartment\n")
    error_message = "The printed deploy commands deploy it too, with the fn context in its compartment (fn finds --app there only), then back."
  }
  assert {
    condition     = jsonencode(output.deploy_settings.function_compartments) == jsonencode({ "genai-authorizer" = "ocid1.compartment.oc1..aaaacompartment", "genai-responses" = "ocid1.compartment.oc1..aaaacompartment", "genai-usage-metrics" = "ocid1.compartment.oc1..aaaametrics" })
    error_message = "make deploy is told which compartment each application is in."
  }
  assert {
    condition     = oci_logging_log.usage_metrics_invoke[0].configuration[0].source[0].resource == oci_functions_application.usage_metrics[0].id && oci_logging_log.usage_metrics_invoke[0].configuration[0].source[0].category == "invoke"
    error_message = "Its own invoke log, apart from the one the connector reads."
  }
  assert {
    condition     = length(oci_sch_service_connector.usage_metrics) == 0 && length(oci_identity_dynamic_group.usage_metrics) == 0 && length(oci_identity_policy.usage_metrics_function) == 0 && length(oci_identity_policy.usage_metrics_connector) == 0 && length(oci_monitoring_alarm.client_budget) == 0
    error_message = "Phase 1: the function does not exist yet, so no connector, identity, policy or budget alarm."
  }
}

run "phase2_connector_identity_and_budget" {
  command = apply
  variables {
    functions_deployed = true
  }

  assert {
    condition = (
      oci_sch_service_connector.usage_metrics[0].source[0].kind == "logging" &&
      oci_sch_service_connector.usage_metrics[0].source[0].log_sources[0].compartment_id == var.compartment_ocid &&
      oci_sch_service_connector.usage_metrics[0].source[0].log_sources[0].log_group_id == oci_logging_log_group.this.id &&
      oci_sch_service_connector.usage_metrics[0].source[0].log_sources[0].log_id == oci_logging_log.function_invoke.id
    )
    error_message = "The connector reads the main application's invoke log, where the function's call lines are."
  }
  assert {
    condition = (
      oci_sch_service_connector.usage_metrics[0].target[0].kind == "functions" &&
      oci_sch_service_connector.usage_metrics[0].target[0].function_id == "ocid1.fnfunc.oc1.us-chicago-1.usage" &&
      oci_sch_service_connector.usage_metrics[0].target[0].batch_time_in_sec == 60 &&
      oci_sch_service_connector.usage_metrics[0].target[0].batch_size_in_kbs == 1024 &&
      oci_sch_service_connector.usage_metrics[0].compartment_id == "ocid1.compartment.oc1..aaaametrics"
    )
    error_message = "It feeds the usage-metrics function, found by name, in batches of a minute or 1 MB, from the usage-metrics compartment."
  }
  assert {
    condition     = oci_identity_dynamic_group.usage_metrics[0].matching_rule == "ALL {resource.type = 'fnfunc', resource.id = 'ocid1.fnfunc.oc1.us-chicago-1.usage'}" && oci_identity_dynamic_group.usage_metrics[0].name == "genai-${local.stack_id}-usage-metrics" && oci_identity_dynamic_group.usage_metrics[0].compartment_id == var.tenancy_ocid
    error_message = "The usage-metrics function has a dynamic group of its own, by its OCID only."
  }
  assert {
    condition     = oci_identity_dynamic_group.functions.matching_rule == "ALL {resource.type = 'fnfunc', resource.id = 'ocid1.fnfunc.oc1.us-chicago-1.main'}"
    error_message = "The main function's group (Generative AI rights) does not take it in."
  }
  assert {
    condition = oci_identity_policy.usage_metrics_function[0].statements == tolist([
      "allow dynamic-group genai-${local.stack_id}-usage-metrics to use metrics in compartment id ocid1.compartment.oc1..aaaacompartment where target.metrics.namespace = 'genai_gateway'",
    ])
    error_message = "Its one permission: post metrics in its namespace, in the stack's compartment."
  }
  assert {
    condition = oci_identity_policy.usage_metrics_connector[0].statements == tolist([
      "allow any-user to read log-content in compartment id ocid1.compartment.oc1..aaaacompartment where ALL {request.principal.type = 'serviceconnector', request.principal.id = 'ocid1.serviceconnector.oc1.us-chicago-1.usage', request.principal.compartment.id = 'ocid1.compartment.oc1..aaaametrics', target.loggroup.id = 'ocid1.loggroup.oc1.us-chicago-1.logs'}",
      "allow any-user to use fn-function in compartment id ocid1.compartment.oc1..aaaametrics where ALL {request.principal.type = 'serviceconnector', request.principal.id = 'ocid1.serviceconnector.oc1.us-chicago-1.usage', request.principal.compartment.id = 'ocid1.compartment.oc1..aaaametrics'}",
      "allow any-user to use fn-invocation in compartment id ocid1.compartment.oc1..aaaametrics where ALL {request.principal.type = 'serviceconnector', request.principal.id = 'ocid1.serviceconnector.oc1.us-chicago-1.usage', request.principal.compartment.id = 'ocid1.compartment.oc1..aaaametrics'}",
    ])
    error_message = "The one connector (by OCID) may read the stack's log group and invoke the functions of its own compartment, where the one function is."
  }
  assert {
    condition     = oci_identity_policy.usage_metrics_connector[0].compartment_id == var.compartment_ocid
    error_message = "The policy is attached to the stack's compartment."
  }
  assert {
    condition     = length([for s in flatten(values(local.rendered_policies)) : s if strcontains(s, "compartment id ocid1.compartment.oc1..aaaametrics")]) == 0
    error_message = "No other statement names the usage-metrics compartment: nothing else is granted there."
  }
  assert {
    condition     = output.usage_metrics.fn_compartment == "ocid1.compartment.oc1..aaaametrics"
    error_message = "The output names the compartment the connector and the function are in."
  }
  assert {
    condition     = toset(keys(oci_monitoring_alarm.client_budget)) == toset(["alice"])
    error_message = "One budget alarm per client with tokens_per_hour (bob has none; carol, of api_key_hashes, cannot)."
  }
  assert {
    condition     = oci_monitoring_alarm.client_budget["alice"].query == "TotalTokens[1h]{client = \"${substr(sha256("ocid1.compartment.oc1..aaaacompartment/us-chicago-1/genai"), 0, 6)}.alice\"}.grouping().sum() > 50000"
    error_message = "api_keys: the hour's TotalTokens of the client's header value (<stack_id>.<name>), all models, above its budget."
  }
  assert {
    condition = (
      oci_monitoring_alarm.client_budget["alice"].namespace == "genai_gateway" &&
      oci_monitoring_alarm.client_budget["alice"].metric_compartment_id == oci_functions_application.usage_metrics[0].config["USAGE_METRICS_COMPARTMENT_OCID"] &&
      oci_monitoring_alarm.client_budget["alice"].severity == "WARNING" &&
      oci_monitoring_alarm.client_budget["alice"].pending_duration == "PT1M" &&
      oci_monitoring_alarm.client_budget["alice"].destinations == tolist([oci_ons_notification_topic.alarms[0].id]) &&
      strcontains(oci_monitoring_alarm.client_budget["alice"].body, "make usage")
    )
    error_message = "A WARNING on the namespace and compartment the function posts to, at the first minute over, to the topic, saying what to do."
  }
  assert {
    condition     = alltrue([for e in values(jsondecode(oci_functions_application.this.config["GENAI_CLIENT_POLICIES"])) : toset(keys(e)) == toset(["project", "compartment"])])
    error_message = "tokens_per_hour is not a policy: with no other field set, each client's entry has only its own project and compartment (two clients: isolated, tests/isolation.tftest.hcl)."
  }
  assert {
    condition     = output.usage_metrics.connector_id == oci_sch_service_connector.usage_metrics[0].id && output.usage_metrics.budget_alarms["alice"] == oci_monitoring_alarm.client_budget["alice"].id
    error_message = "The output names the connector and the budget alarms."
  }
}

run "the_connector_waits_for_the_function" {
  # fn deploy has not created genai-usage-metrics. A plan: the application
  # exists (state of the runs above), so the lookup runs and the plan stops.
  command = plan
  variables {
    functions_deployed = true
  }
  override_data {
    target = data.oci_functions_functions.usage_metrics[0]
    values = { functions = [] }
  }

  expect_failures = [oci_sch_service_connector.usage_metrics]
}

run "jwt_budget_by_claim_value" {
  command = apply
  variables {
    functions_deployed = true
    auth_mode          = "jwt"
    jwt_jwks_uri       = "https://idcs-example.identity.oraclecloud.com/admin/v1/SigningCert/jwk"
    jwt_issuers        = ["https://identity.oraclecloud.com/"]
    jwt_audiences      = ["genai"]
    jwt_clients = {
      "app-1"            = { tokens_per_hour = 1000 }
      "user@example.com" = { families = ["responses"] }
    }
  }

  assert {
    condition     = toset(keys(oci_monitoring_alarm.client_budget)) == toset(["app-1"]) && oci_monitoring_alarm.client_budget["app-1"].query == "TotalTokens[1h]{client = \"app-1\"}.grouping().sum() > 1000"
    error_message = "jwt: the client dimension is the claim's value, the jwt_clients key."
  }
  assert {
    condition     = jsonencode({ for k, v in jsondecode(oci_functions_application.this.config["GENAI_CLIENT_POLICIES"]) : k => { for f, x in v : f => x if !contains(["project", "compartment"], f) } }) == "{\"app-1\":{},\"user@example.com\":{\"families\":[\"responses\"]}}"
    error_message = "jwt: tokens_per_hour is left out of the policy table (app-1 is listed, with the global settings)."
  }
  assert {
    condition     = jsonencode(output.deploy_settings.function_names) == jsonencode(["genai-responses", "genai-usage-metrics"])
    error_message = "jwt mode deploys the main and the usage-metrics functions."
  }
}

run "alarms_off_keeps_the_metrics" {
  command = plan
  variables {
    functions_deployed = true
    alarms_enabled     = false
  }

  assert {
    condition     = length(oci_monitoring_alarm.client_budget) == 0 && length(oci_sch_service_connector.usage_metrics) == 1
    error_message = "alarms_enabled = false drops the budget alarms; the metrics still flow."
  }
}

run "usage_metrics_off" {
  command = plan
  variables {
    functions_deployed    = true
    usage_metrics_enabled = false
  }

  assert {
    condition = (
      length(oci_identity_compartment.usage_metrics) == 0 &&
      length(oci_functions_application.usage_metrics) == 0 && length(oci_logging_log.usage_metrics_invoke) == 0 &&
      length(oci_sch_service_connector.usage_metrics) == 0 && length(oci_identity_dynamic_group.usage_metrics) == 0 &&
      length(oci_identity_policy.usage_metrics_function) == 0 && length(oci_identity_policy.usage_metrics_connector) == 0 &&
      length(oci_monitoring_alarm.client_budget) == 0 && length(data.oci_functions_functions.usage_metrics) == 0
    )
    error_message = "usage_metrics_enabled = false creates none of it, budget alarms included."
  }
  assert {
    condition     = !contains(keys(oci_artifacts_container_repository.functions), "genai-usage-metrics") && !strcontains(output.fn_setup_and_deploy, "usage_metrics") && output.usage_metrics == null
    error_message = "Nor its repository, nor its deploy command."
  }
}

run "rejects_a_reserved_namespace" {
  command = plan
  variables {
    usage_metrics_namespace = "oci_genai"
  }
  expect_failures = [var.usage_metrics_namespace, check.deployment_phase]
}

run "rejects_a_namespace_with_capitals_or_dashes" {
  command = plan
  variables {
    usage_metrics_namespace = "GenAI-Gateway"
  }
  expect_failures = [var.usage_metrics_namespace, check.deployment_phase]
}

run "rejects_a_fractional_budget" {
  command = plan
  variables {
    api_clients = {
      alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], tokens_per_hour = 0.5 }
    }
  }
  expect_failures = [var.api_clients, check.deployment_phase]
}

run "rejects_a_zero_budget_in_jwt_clients" {
  command = plan
  variables {
    auth_mode     = "jwt"
    jwt_jwks_uri  = "https://idcs-example.identity.oraclecloud.com/admin/v1/SigningCert/jwk"
    jwt_issuers   = ["https://identity.oraclecloud.com/"]
    jwt_audiences = ["genai"]
    jwt_clients   = { "app-1" = { tokens_per_hour = 0 } }
  }
  expect_failures = [var.jwt_clients, check.deployment_phase]
}

run "rejects_a_quote_in_a_budgeted_jwt_client" {
  # The name would end the alarm query's quoted dimension value.
  command = plan
  variables {
    auth_mode     = "jwt"
    jwt_jwks_uri  = "https://idcs-example.identity.oraclecloud.com/admin/v1/SigningCert/jwk"
    jwt_issuers   = ["https://identity.oraclecloud.com/"]
    jwt_audiences = ["genai"]
    jwt_clients   = { "say \"hi\"" = { tokens_per_hour = 10 } }
  }
  expect_failures = [var.jwt_clients, check.deployment_phase]
}

# An older phase-2 stack gaining token metrics, as make deploy upgrades it
# (ops/deploy.py BEFORE_PUSH): a targeted apply creates the repository and the
# application fn deploy needs, although the full plan would stop at the
# connector until the function exists.
run "upgrade_an_older_phase2_stack" {
  state_key = "upgrade"
  command   = apply
  variables {
    functions_deployed    = true
    usage_metrics_enabled = false
  }
}

run "upgrade_repositories_and_applications_first" {
  state_key = "upgrade"
  command   = apply
  variables {
    functions_deployed = true
  }
  override_data {
    target = data.oci_functions_functions.usage_metrics[0]
    values = { functions = [] }
  }
  plan_options {
    target = [oci_artifacts_container_repository.functions, oci_functions_application.this, oci_functions_application.usage_metrics]
  }

  assert {
    # (Only targeted resources: Terraform 1.11 panics evaluating one outside the target.)
    condition     = contains(keys(oci_artifacts_container_repository.functions), "genai-usage-metrics") && length(oci_functions_application.usage_metrics) == 1
    error_message = "The targeted apply makes the new function's repository and application, although the connector's precondition would stop a full plan."
  }
}

run "upgrade_then_everything" {
  state_key = "upgrade"
  command   = apply
  variables {
    functions_deployed = true
  }

  assert {
    condition     = oci_sch_service_connector.usage_metrics[0].target[0].function_id == "ocid1.fnfunc.oc1.us-chicago-1.usage"
    error_message = "Once fn deploy has pushed it, the full apply wires the connector."
  }
}
