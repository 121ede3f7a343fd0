# Token usage per client and model as OCI Monitoring custom metrics, added to
# no call: a Connector Hub connector reads the application's invoke log
# (logging.tf), where the main function writes one JSON line per call, and
# hands batches of entries to the genai-usage-metrics function (usage_metrics/,
# deployed by `fn deploy` like authorizer/), which posts Calls, ErrorCalls and
# the token counts by client and model with PostMetricData, signed by its own
# resource principal (docs/usage-and-alarms.md, "Token metrics").
#
# The function lives in an application of its own. Every invocation of a
# function writes lines to its application's invoke log ("Details for
# Functions", https://docs.oracle.com/iaas/Content/Logging/Reference/details_for_functions.htm:
# default invocation logs "are created whenever functions in the application
# are invoked"): in the main application, each batch the connector delivers
# would make the next one, forever. Its own application also keeps its
# settings (USAGE_METRICS_*) out of the main one's 4 KB.
#
# The application, its function and the connector live in a compartment of
# their own, a child of the stack's: Oracle documents no policy variable that
# names one function ("Details for Functions",
# https://docs.oracle.com/iaas/Content/Identity/Reference/functionspolicyreference.htm:
# only the general variables), so a compartment holding that one function is
# how the connector's policy names it (policies/usage-metrics-connector.policy).
#
# Phases: the compartment, the application, its log and the OCIR repository
# exist from phase 1 (fn deploy needs them); the connector, the function's
# dynamic group and the two policies need the function's OCID, so they come
# with phase 2, like the API deployment. Which of them exist is decided by
# variables alone (usage_metrics_enabled, functions_deployed), never by an OCID.

locals {
  usage_metrics_wired              = var.usage_metrics_enabled && var.functions_deployed
  usage_metrics_application_name   = "${var.name}-metrics-app"
  usage_metrics_dynamic_group_name = "${local.iam_prefix}-usage-metrics"
  # Unique among the parent's children, as a compartment name must be; the
  # stack id keeps two stacks in one parent apart (iam.tf, local.iam_prefix).
  usage_metrics_compartment_name = "${local.iam_prefix}-metrics"
  usage_metrics_compartment_id   = one(oci_identity_compartment.usage_metrics[*].id)

  # Read by usage_metrics/ at start-up, validated there (the contract's keys).
  # The metrics go to the stack's compartment: the alarms (alarms.tf) read them there.
  usage_metrics_config = {
    USAGE_METRICS_COMPARTMENT_OCID = var.compartment_ocid
    USAGE_METRICS_NAMESPACE        = var.usage_metrics_namespace
  }
}

# Created in the home region like every IAM write (providers.tf). enable_delete:
# terraform destroy deletes it, once empty (terraform-provider-oci v8.28.0,
# website/docs/r/identity_compartment.html.markdown; without it the provider
# neither deletes a compartment nor refuses to adopt one of the same name).
# Oracle: a compartment must be empty to be deleted, the deletion is
# asynchronous, and a deleted compartment's name gets a random suffix so the
# name can be used again ("Deleting a Compartment",
# https://docs.oracle.com/iaas/Content/Identity/compartments/To_delete_a_compartment.htm).
# Policies of the stack's compartment reach it by inheritance (the deployer's
# rights, the Functions service's; "How Policies Work",
# https://docs.oracle.com/iaas/Content/Identity/Concepts/policies.htm); none is
# attached to it, so nothing stands in the way of its deletion.
resource "oci_identity_compartment" "usage_metrics" {
  count          = var.usage_metrics_enabled ? 1 : 0
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = local.usage_metrics_compartment_name
  description    = "The ${var.name} usage-metrics application, its function and the connector feeding it; nothing else (terraform/usage_metrics.tf)"
  enable_delete  = true
  freeform_tags  = local.tags
}

resource "oci_functions_application" "usage_metrics" {
  count          = var.usage_metrics_enabled ? 1 : 0
  compartment_id = local.usage_metrics_compartment_id
  display_name   = local.usage_metrics_application_name
  # The functions' private subnet: its NAT and service gateways reach the
  # telemetry-ingestion endpoint PostMetricData is served from (network.tf).
  # A subnet of another compartment, as Oracle's Functions set-up allows
  # ("network resources and function-related resources" in "two separate
  # compartments",
  # https://docs.oracle.com/iaas/Content/Functions/Tasks/functionscreatingcompartment.htm);
  # the Functions service's network grant names the subnet's compartment
  # (policies/functions-service.policy), not the application's.
  subnet_ids    = [local.function_subnet_id]
  shape         = var.application_shape
  config        = local.usage_metrics_config
  freeform_tags = local.tags
}

# The function's own stdout/stderr (its errors), beside the others; no connector reads it.
resource "oci_logging_log" "usage_metrics_invoke" {
  count              = var.usage_metrics_enabled ? 1 : 0
  display_name       = "${var.name}-metrics-app-invoke"
  log_group_id       = oci_logging_log_group.this.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    # The application's compartment; the log itself stays in the stack's log group.
    compartment_id = local.usage_metrics_compartment_id
    source {
      category    = "invoke"
      resource    = oci_functions_application.usage_metrics[0].id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }
}

# Phase 2: the function fn deploy created (usage_metrics/func.yaml names it).
data "oci_functions_functions" "usage_metrics" {
  count          = local.usage_metrics_wired ? 1 : 0
  application_id = oci_functions_application.usage_metrics[0].id
  display_name   = local.usage_metrics_function_name
  state          = "ACTIVE"
}

locals {
  usage_metrics_function_id = local.usage_metrics_wired ? one(data.oci_functions_functions.usage_metrics[0].functions[*].id) : null
}

# Its own group, by OCID (policies/usage-metrics.rule.ocid): the main
# function's group holds Generative AI rights this function must not have.
resource "oci_identity_dynamic_group" "usage_metrics" {
  count          = local.usage_metrics_wired ? 1 : 0
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = local.usage_metrics_dynamic_group_name
  description    = "The ${var.name} usage-metrics function, allowed to post its token metrics (rule from policies/usage-metrics.rule.ocid)"
  matching_rule  = local.rendered_rules["usage-metrics.rule.ocid"]
  freeform_tags  = local.tags
}

resource "oci_identity_policy" "usage_metrics_function" {
  count          = local.usage_metrics_wired ? 1 : 0
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-usage-metrics-post"
  description    = "The ${var.name} usage-metrics function may post metrics in namespace ${var.usage_metrics_namespace} (policies/usage-metrics-function.policy)"
  statements     = local.rendered_policies["usage-metrics-function"]
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.usage_metrics]
}

# Rendered as iam.tf renders the others, with the values only the connectors'
# files know: the statements name the connector itself (request.principal.id:
# this file's, and cache.tf's limit-store connector), the usage-metrics
# compartment and the stack's log group.
locals {
  connector_policy_vars = merge(local.policy_vars, {
    usage_metrics_compartment_ocid = coalesce(local.usage_metrics_compartment_id, "unused")
    usage_metrics_connector_ocid   = coalesce(one(oci_sch_service_connector.usage_metrics[*].id), "unused")
    log_group_ocid                 = oci_logging_log_group.this.id
    # The limit-store connector's own OCID, for its policy (cache.tf).
    limit_connector_ocid = coalesce(one(oci_sch_service_connector.limit_fail_open[*].id), "unused")
  })
  rendered_connector_policies = {
    for f in ["usage-metrics-connector", "limit-alarm-connector"] :
    f => [
      for line in split("\n", templatefile("${local.policies_dir}/${f}.policy", local.connector_policy_vars)) :
      trimspace(line) if trimspace(line) != "" && !startswith(trimspace(line), "#")
    ]
  }
}

# Attached to the stack's compartment, which may grant in its own and in a
# child compartment alike. It names the connector, so it follows it: the
# connector exists a moment before it may read or invoke (the policy file).
resource "oci_identity_policy" "usage_metrics_connector" {
  count          = local.usage_metrics_wired ? 1 : 0
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-connector-functions"
  description    = "The ${var.name} usage-metrics connector alone may read the stack's log group and invoke the function of its compartment (policies/usage-metrics-connector.policy)"
  statements     = local.rendered_connector_policies["usage-metrics-connector"]
  freeform_tags  = local.tags
}

# Source kind "logging" and target kind "functions": the resource's arguments
# (terraform-provider-oci v8.28.0, website/docs/r/sch_service_connector.html.markdown
# and internal/service/sch/sch_service_connector_resource.go). Oracle,
# "Creating a Connector with a Logging Source"
# (https://docs.oracle.com/iaas/Content/connector-hub/create-service-connector-logging-source.htm):
# the function gets the entries "as a JSON list in batches. Maximum batch, or
# payload, size is 6 MB", may run "up to five minutes", and what it returns is
# not read; a new connector moves log data "from the connector's creation
# time" (no backfill), and after a failure from up to 24 hours back.
resource "oci_sch_service_connector" "usage_metrics" {
  count = local.usage_metrics_wired ? 1 : 0
  # Beside its function: the policy's request.principal.compartment.id.
  compartment_id = local.usage_metrics_compartment_id
  display_name   = "${var.name}-usage-metrics"
  description    = "Feeds the invoke log of ${local.application_name} to ${local.usage_metrics_function_name}, which posts token metrics (terraform/usage_metrics.tf)"
  freeform_tags  = local.tags

  source {
    kind = "logging"
    log_sources {
      compartment_id = var.compartment_ocid
      log_group_id   = oci_logging_log_group.this.id
      log_id         = oci_logging_log.function_invoke.id
    }
  }

  target {
    kind        = "functions"
    function_id = local.usage_metrics_function_id
    # A batch goes out when either limit is reached (FunctionTaskDetails,
    # https://docs.oracle.com/en-us/iaas/tools/dotnet/latest/api/Oci.SchService.Models.FunctionTaskDetailsResponse.html);
    # size in KB or in messages, not both (the provider's doc). Oracle
    # documents no default or range; the provider's own examples and tests use
    # 60 s and 5000 KB. Time: metrics at most a minute behind, and at most one
    # invocation a minute while there are calls. Size: 1 MB (some 2,000 log
    # lines), a sixth of the 6 MB cap, so a batch is read well within memory 128.
    batch_time_in_sec = 60
    batch_size_in_kbs = 1024
  }

  lifecycle {
    precondition {
      condition     = local.usage_metrics_function_id != null
      error_message = "usage_metrics_enabled is true but ${local.usage_metrics_application_name} has no ACTIVE function ${local.usage_metrics_function_name}: deploy it first (make deploy does; by hand: cd usage_metrics && fn deploy --app ${local.usage_metrics_application_name} --no-bump), or set usage_metrics_enabled = false."
    }
  }
}
