# The alarms a production owner expects, on the metrics OCI Functions (oci_faas,
# https://docs.oracle.com/iaas/Content/Functions/Reference/functionsmetrics.htm) and
# API Gateway (oci_apigateway,
# https://docs.oracle.com/iaas/Content/APIGateway/Reference/apigatewaymetrics.htm)
# emit by themselves: nothing is added to the function's calls. Queries are in
# the Monitoring Query Language
# (https://docs.oracle.com/iaas/Content/Monitoring/Reference/mql.htm). Each alarm
# is off when its threshold variable is null, all of them when alarms_enabled is
# false; the function's alarms exist once the function does (phase 2), the
# gateway's once the API deployment does. Which alarms exist is decided by
# values known at plan time (the phase, the thresholds), never by an OCID.

locals {
  alarm_topic       = one(oci_ons_notification_topic.alarms[*].id)
  api_deployment_id = one(oci_apigateway_deployment.api[*].id)
  # A call that runs to within 5% of the function's timeout is counted as one that timed out.
  function_timeout_s = coalesce(try(one(data.oci_functions_functions.main[0].functions[*].timeout_in_seconds), null), 120)

  alarms = {
    function_errors = {
      enabled   = var.functions_deployed && var.alarm_function_errors_per_5m != null
      namespace = "oci_faas"
      severity  = "CRITICAL"
      query     = "FunctionResponseCount[5m]{resourceId = \"${coalesce(local.function_id, "none")}\", responseType = \"Error\"}.sum() > ${coalesce(var.alarm_function_errors_per_5m, 0)}"
      body      = "The function answered more than ${coalesce(var.alarm_function_errors_per_5m, 0)} invocations with an error in 5 minutes. Its log (make usage, or Logging search on the invoke log) has one line per call with the status and error_code."
    }
    function_timeouts = {
      enabled   = var.functions_deployed && var.alarm_function_timeouts
      namespace = "oci_faas"
      severity  = "CRITICAL"
      query     = "FunctionExecutionDuration[1m]{resourceId = \"${coalesce(local.function_id, "none")}\"}.max() >= ${floor(local.function_timeout_s * 950)}"
      body      = "A call ran to within 5% of the function's ${local.function_timeout_s} s timeout: the platform cuts such calls off with a 504. Look for slow upstream answers (upstream_ms in the invoke log)."
    }
    p95_latency = {
      enabled   = var.functions_deployed && var.alarm_p95_latency_ms != null
      namespace = "oci_faas"
      severity  = "WARNING"
      query     = "FunctionExecutionDuration[5m]{resourceId = \"${coalesce(local.function_id, "none")}\"}.percentile(0.95) > ${coalesce(var.alarm_p95_latency_ms, 0)}"
      body      = "The function's p95 duration has been above ${coalesce(var.alarm_p95_latency_ms, 0)} ms for 5 minutes (streams included: a stream lasts as long as the model writes)."
    }
    gateway_5xx = {
      enabled   = length(oci_apigateway_deployment.api) > 0 && var.alarm_gateway_5xx_per_5m != null
      namespace = "oci_apigateway"
      severity  = "CRITICAL"
      query     = "HttpResponses[5m]{deploymentId = \"${coalesce(local.api_deployment_id, "none")}\", httpStatusCategory = \"5xx\"}.sum() > ${coalesce(var.alarm_gateway_5xx_per_5m, 0)}"
      body      = "The gateway answered more than ${coalesce(var.alarm_gateway_5xx_per_5m, 0)} requests with a 5xx in 5 minutes (the function's 502/503/504, or the gateway's own). The gateway's execution log names the cause."
    }
    gateway_429 = {
      enabled   = length(oci_apigateway_deployment.api) > 0 && var.alarm_gateway_429_per_5m != null
      namespace = "oci_apigateway"
      severity  = "WARNING"
      query     = "HttpResponses[5m]{deploymentId = \"${coalesce(local.api_deployment_id, "none")}\", httpStatusCode = \"429\"}.sum() > ${coalesce(var.alarm_gateway_429_per_5m, 0)}"
      body      = "More than ${coalesce(var.alarm_gateway_429_per_5m, 0)} requests were refused with 429 in 5 minutes: a client is over its rate limit or usage-plan quota (api_clients)."
    }
  }
}

resource "oci_monitoring_alarm" "this" {
  for_each              = var.alarms_enabled ? { for k, a in local.alarms : k => a if a.enabled } : {}
  compartment_id        = var.compartment_ocid
  metric_compartment_id = var.compartment_ocid
  display_name          = "${var.name}-${replace(each.key, "_", "-")}"
  namespace             = each.value.namespace
  query                 = each.value.query
  severity              = each.value.severity
  body                  = each.value.body
  destinations          = [local.alarm_topic]
  is_enabled            = true
  # The condition must hold this long before the alarm fires: one bad minute is not a page.
  pending_duration = "PT5M"
  message_format   = "ONS_OPTIMIZED"
  freeform_tags    = local.tags
}

# A client's tokens per hour above its budget (tokens_per_hour in api_clients
# or jwt_clients), on the custom metrics the usage-metrics function posts
# (usage_metrics.tf): TotalTokens summed over every model of the client, over
# the last hour. The client dimension is what the X-GenAI-Client header
# carries (clients.tf): "<stack_id>.<name>" in api_keys mode, the claim's value
# (the jwt_clients key) in jwt mode. A budget is watched, not enforced: the
# client keeps being served (its usage plan's quota is the hard limit).
locals {
  budget_clients = var.auth_mode == "jwt" ? {
    for name, c in local.jwt_clients_all : name => { client = name, tokens_per_hour = c.tokens_per_hour } if c.tokens_per_hour != null
    } : {
    for name, c in local.api_clients_all : name => { client = local.client_tokens[name], tokens_per_hour = c.tokens_per_hour } if c.tokens_per_hour != null
  }
}

resource "oci_monitoring_alarm" "client_budget" {
  for_each       = var.alarms_enabled && local.usage_metrics_wired ? local.budget_clients : {}
  compartment_id = var.compartment_ocid
  # Where USAGE_METRICS_COMPARTMENT_OCID sends the metrics (usage_metrics.tf).
  metric_compartment_id = local.usage_metrics_config["USAGE_METRICS_COMPARTMENT_OCID"]
  display_name          = substr("${var.name}-tokens-per-hour-${each.key}", 0, 255)
  namespace             = var.usage_metrics_namespace
  query                 = "TotalTokens[1h]{client = \"${each.value.client}\"}.grouping().sum() > ${each.value.tokens_per_hour}"
  severity              = "WARNING"
  body                  = "Client ${each.key} used more than its budget of ${each.value.tokens_per_hour} tokens in the last hour (all models). make usage shows its calls and tokens by model; raise tokens_per_hour, lower the client's quota or max_output_tokens, or revoke its key."
  destinations          = [local.alarm_topic]
  is_enabled            = true
  # One minute, the least Oracle allows: a sum over the last hour does not
  # flap (a late batch of log entries only adds to it), so the first
  # evaluation above the budget is already the news; waiting longer only lets
  # the client spend more before anyone hears of it.
  pending_duration = "PT1M"
  message_format   = "ONS_OPTIMIZED"
  freeform_tags    = local.tags
}
