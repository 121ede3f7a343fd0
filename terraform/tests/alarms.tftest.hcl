# The alarms and their topic (terraform/alarms.tf, terraform/notifications.tf):
# which exist in each phase, what each one queries, and that each turns off.
# Providers mocked as in phases.tftest.hcl.

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
  tenancy_ocid     = "ocid1.tenancy.oc1..aaaatenancy"
  region           = "us-chicago-1"
  compartment_ocid = "ocid1.compartment.oc1..aaaacompartment"
  api_clients = {
    alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] }
  }
}

run "phase1_topic_only" {
  command         = apply
  expect_failures = [check.deployment_phase]

  assert {
    condition     = length(oci_ons_notification_topic.alarms) == 1 && oci_ons_notification_topic.alarms[0].name == "genai-${local.stack_id}-alarms"
    error_message = "The topic exists from phase 1, named uniquely in the tenancy."
  }
  assert {
    condition     = length(oci_monitoring_alarm.this) == 0 && length(oci_ons_subscription.alarm_email) == 0
    error_message = "Phase 1 has no function and no deployment to watch, and no e-mail was given."
  }
}

run "phase2_every_alarm" {
  command = apply
  variables {
    functions_deployed = true
    alarm_email        = "ops@example.com"
  }
  override_data {
    target = data.oci_functions_functions.main[0]
    values = { functions = [{ id = "ocid1.fnfunc.oc1.us-chicago-1.main", timeout_in_seconds = 120 }] }
  }
  override_data {
    target = data.oci_functions_functions.authorizer[0]
    values = { functions = [{ id = "ocid1.fnfunc.oc1.us-chicago-1.authz", timeout_in_seconds = 30 }] }
  }

  assert {
    condition     = toset(keys(oci_monitoring_alarm.this)) == toset(["function_errors", "function_timeouts", "p95_latency", "gateway_5xx", "gateway_429"])
    error_message = "Phase 2 has all five alarms."
  }
  assert {
    condition     = oci_monitoring_alarm.this["function_errors"].namespace == "oci_faas" && oci_monitoring_alarm.this["function_errors"].query == "FunctionResponseCount[5m]{resourceId = \"ocid1.fnfunc.oc1.us-chicago-1.main\", responseType = \"Error\"}.sum() > 5" && oci_monitoring_alarm.this["function_errors"].severity == "CRITICAL"
    error_message = "Function errors: error responses of the main function over 5 minutes, above 5."
  }
  assert {
    condition     = oci_monitoring_alarm.this["function_timeouts"].query == "FunctionExecutionDuration[1m]{resourceId = \"ocid1.fnfunc.oc1.us-chicago-1.main\"}.max() >= 114000"
    error_message = "Timeouts: a call within 5% of the function's own 120 s timeout."
  }
  assert {
    condition     = oci_monitoring_alarm.this["p95_latency"].query == "FunctionExecutionDuration[5m]{resourceId = \"ocid1.fnfunc.oc1.us-chicago-1.main\"}.percentile(0.95) > 60000" && oci_monitoring_alarm.this["p95_latency"].severity == "WARNING"
    error_message = "p95 latency: the function's duration percentile over 5 minutes, above 60 s."
  }
  assert {
    condition     = oci_monitoring_alarm.this["gateway_5xx"].namespace == "oci_apigateway" && oci_monitoring_alarm.this["gateway_5xx"].query == "HttpResponses[5m]{deploymentId = \"${oci_apigateway_deployment.api[0].id}\", httpStatusCategory = \"5xx\"}.sum() > 10"
    error_message = "Gateway 5xx: the API deployment's 5xx responses over 5 minutes, above 10."
  }
  assert {
    condition     = oci_monitoring_alarm.this["gateway_429"].query == "HttpResponses[5m]{deploymentId = \"${oci_apigateway_deployment.api[0].id}\", httpStatusCode = \"429\"}.sum() > 50"
    error_message = "Gateway 429: the API deployment's 429 responses over 5 minutes, above 50."
  }
  assert {
    condition     = alltrue([for a in oci_monitoring_alarm.this : length(a.destinations) == 1 && a.destinations[0] == oci_ons_notification_topic.alarms[0].id && a.pending_duration == "PT5M" && a.is_enabled && a.metric_compartment_id == var.compartment_ocid])
    error_message = "Every alarm notifies the topic, after 5 minutes, on the stack's compartment."
  }
  assert {
    condition     = oci_ons_subscription.alarm_email[0].protocol == "EMAIL" && oci_ons_subscription.alarm_email[0].endpoint == "ops@example.com" && oci_ons_subscription.alarm_email[0].topic_id == oci_ons_notification_topic.alarms[0].id
    error_message = "alarm_email subscribes that address to the topic."
  }
}

run "each_alarm_turns_off" {
  command = plan
  variables {
    functions_deployed           = true
    alarm_function_errors_per_5m = null
    alarm_function_timeouts      = false
    alarm_p95_latency_ms         = null
    alarm_gateway_429_per_5m     = null
  }

  assert {
    condition     = toset(keys(oci_monitoring_alarm.this)) == toset(["gateway_5xx"])
    error_message = "A null threshold (or false) leaves its alarm out, the others stay."
  }
}

run "alarms_off" {
  command = plan
  variables {
    functions_deployed = true
    alarms_enabled     = false
    alarm_email        = "ops@example.com"
  }

  assert {
    condition     = length(oci_monitoring_alarm.this) == 0 && length(oci_ons_notification_topic.alarms) == 0 && length(oci_ons_subscription.alarm_email) == 0
    error_message = "alarms_enabled = false creates no alarm, topic or subscription."
  }
}

run "a_bad_email_is_refused" {
  command = plan
  variables {
    alarm_email = "not an address"
  }
  expect_failures = [var.alarm_email, check.deployment_phase]
}

run "a_bad_threshold_is_refused" {
  command = plan
  variables {
    alarm_p95_latency_ms     = 10
    alarm_gateway_5xx_per_5m = 2.5
  }
  expect_failures = [var.alarm_p95_latency_ms, var.alarm_gateway_5xx_per_5m, check.deployment_phase]
}
