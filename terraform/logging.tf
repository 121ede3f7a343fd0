# Service logs: the application's invoke log (function stdout/stderr) and each
# gateway deployment's access and execution logs, in one log group.

resource "oci_logging_log_group" "this" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name}-logs"
  description    = "Function invoke logs and API Gateway access/execution logs of ${var.name}"
  freeform_tags  = local.tags
}

resource "oci_logging_log" "function_invoke" {
  display_name       = "${var.name}-app-invoke"
  log_group_id       = oci_logging_log_group.this.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    compartment_id = var.compartment_ocid
    source {
      category    = "invoke"
      resource    = oci_functions_application.this.id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }
}

locals {
  # deployment key -> OCID, for every deployment that exists in this phase.
  deployments = merge(
    { for d in oci_apigateway_deployment.api : "api" => d.id },
    { for d in oci_apigateway_deployment.health : "health" => d.id },
  )
  gateway_logs = {
    for pair in setproduct(keys(local.deployments), ["access", "execution"]) :
    "${pair[0]}-${pair[1]}" => { deployment = pair[0], category = pair[1] }
  }
}

resource "oci_logging_log" "gateway" {
  for_each           = local.gateway_logs
  display_name       = "${var.name}-${each.key}"
  log_group_id       = oci_logging_log_group.this.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    compartment_id = var.compartment_ocid
    source {
      category    = each.value.category
      resource    = local.deployments[each.value.deployment]
      service     = "apigateway"
      source_type = "OCISERVICE"
    }
  }
}
