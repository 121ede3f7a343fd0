# Every statement and matching rule is rendered from policies/, so what a
# reviewer reads there is what gets applied. IAM writes go to the home region.

locals {
  # ../policies in the repository; ./policies inside the Resource Manager zip
  # (`make stack` copies it there), so templatefile() resolves in both.
  policies_dir = fileexists("${path.module}/policies/genai-function.policy") ? "${path.module}/policies" : "${path.module}/../policies"
  # Dynamic-group and policy names are unique in the tenancy: see local.stack_id.
  iam_prefix         = "${var.name}-${local.stack_id}"
  dynamic_group_name = "${local.iam_prefix}-functions"

  # A policy names a compartment as "compartment id <ocid>", but the root
  # compartment as "tenancy" ("Policy Syntax", Location:
  # https://docs.oracle.com/iaas/Content/Identity/policysyntax/policysyntax.htm).
  compartment_scope = startswith(var.compartment_ocid, "ocid1.tenancy.") ? "tenancy" : "compartment id ${var.compartment_ocid}"
  network_scope     = startswith(local.network_compartment, "ocid1.tenancy.") ? "tenancy" : "compartment id ${local.network_compartment}"

  policy_vars = {
    compartment_ocid         = var.compartment_ocid
    compartment_scope        = local.compartment_scope
    network_scope            = local.network_scope
    network_compartment_ocid = local.network_compartment
    dynamic_group_name       = local.dynamic_group_name
    developer_group_name     = coalesce(local.developer_group_name, "unused")
    function_ocid            = coalesce(local.function_id, "unused")
    genai_verb               = var.genai_function_verb
    # The usage-metrics function's group and its one namespace (terraform/usage_metrics.tf).
    usage_metrics_dynamic_group_name = local.usage_metrics_dynamic_group_name
    usage_metrics_function_ocid      = coalesce(local.usage_metrics_function_id, "unused")
    usage_metrics_namespace          = var.usage_metrics_namespace
  }

  # Non-blank, non-comment lines of a rendered policy file.
  rendered_policies = {
    for f in ["genai-function", "genai-responses", "genai-stores", "api-gateway", "developer-group", "functions-service", "usage-metrics-function", "limit-store"] :
    f => [
      for line in split("\n", templatefile("${local.policies_dir}/${f}.policy", local.policy_vars)) :
      trimspace(line) if trimspace(line) != "" && !startswith(trimspace(line), "#")
    ]
  }

  # Keyed by file name: function.rule.* (the main function), usage-metrics.rule.ocid.
  rendered_rules = {
    for r in ["function.rule.compartment", "function.rule.ocid", "usage-metrics.rule.ocid"] :
    r => one([
      for line in split("\n", templatefile("${local.policies_dir}/${r}", local.policy_vars)) :
      trimspace(line) if trimspace(line) != "" && !startswith(trimspace(line), "#")
    ])
  }

  # By compartment until the function exists, then by its OCID only.
  matching_rule = local.function_id == null ? local.rendered_rules["function.rule.compartment"] : local.rendered_rules["function.rule.ocid"]
}

resource "oci_identity_dynamic_group" "functions" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = local.dynamic_group_name
  description    = "Functions of ${var.name} allowed to call OCI Generative AI (rule from policies/function.rule.*)"
  matching_rule  = local.matching_rule
  freeform_tags  = local.tags
}

resource "oci_identity_policy" "genai_function" {
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-function-genai"
  description    = "The ${var.name} function may use Generative AI in its compartment (policies/genai-function.policy)"
  statements     = local.rendered_policies["genai-function"]
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.functions]
}

# Its own policy: the resource-type names in it are known from a field report,
# not from an Oracle permission page; a rejected name fails this policy alone
# (policies/genai-responses.policy).
resource "oci_identity_policy" "genai_responses" {
  count          = var.grant_genai_response_statements ? 1 : 0
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-function-responses"
  description    = "The ${var.name} function may store and read responses and conversations (policies/genai-responses.policy)"
  statements     = local.rendered_policies["genai-responses"]
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.functions]
}

resource "oci_identity_policy" "genai_stores" {
  count          = var.grant_genai_store_permissions ? 1 : 0
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-function-genai-stores"
  description    = "The ${var.name} function may create and delete Generative AI files, vector stores and containers (policies/genai-stores.policy)"
  statements     = local.rendered_policies["genai-stores"]
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.functions]
}

resource "oci_identity_policy" "api_gateway" {
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-apigateway-functions"
  description    = "API gateways may invoke the functions of this compartment (policies/api-gateway.policy)"
  statements     = local.rendered_policies["api-gateway"]
  freeform_tags  = local.tags
}

resource "oci_identity_policy" "developers" {
  count          = local.developer_group_name == null ? 0 : 1
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-developers-genai"
  description    = "Developers may call Generative AI with their own identity (policies/developer-group.policy)"
  statements     = local.rendered_policies["developer-group"]
  freeform_tags  = local.tags
}

resource "oci_identity_policy" "functions_service" {
  count    = var.grant_functions_service_access ? 1 : 0
  provider = oci.home
  # Service statements go in the root compartment (Oracle's Functions set-up
  # guide); they are still scoped to this stack's compartments.
  compartment_id = var.tenancy_ocid
  name           = "${local.iam_prefix}-functions-service"
  description    = "OCI Functions may pull this stack's images and use its subnets (policies/functions-service.policy)"
  statements     = local.rendered_policies["functions-service"]
  freeform_tags  = local.tags
}
