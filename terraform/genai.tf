# The project scopes stored responses and conversations; the function sends its
# OCID as OpenAI-Project on every call (GENAI_PROJECT_OCID).
resource "oci_generative_ai_project" "this" {
  # Same region as GENAI_REGION (functions.tf): see local.genai_region.
  provider       = oci.genai
  compartment_id = var.compartment_ocid
  display_name   = "${var.name}-project"
  description    = "Responses API project of ${var.name}"
  freeform_tags  = local.tags

  conversation_config {
    responses_retention_in_hours     = var.genai_responses_retention_hours
    conversations_retention_in_hours = var.genai_conversations_retention_hours
  }
}

# Regional failover (docs/failover.md): the fallback region's own project,
# unless one is given. Calls that fail over store nothing, so the retention
# settings only matter for what a user stores there directly.
resource "oci_generative_ai_project" "fallback" {
  count          = local.genai_fallback_region != null && local.genai_fallback_project_input == null ? 1 : 0
  provider       = oci.fallback
  compartment_id = var.compartment_ocid
  display_name   = "${var.name}-project-${local.genai_fallback_region}"
  description    = "Failover project of ${var.name} (calls that store nothing)"
  freeform_tags  = local.tags

  conversation_config {
    responses_retention_in_hours     = var.genai_responses_retention_hours
    conversations_retention_in_hours = var.genai_conversations_retention_hours
  }
}

locals {
  # null when failover is off; unknown until apply when the project is created here.
  genai_fallback_project = local.genai_fallback_region == null ? null : coalesce(local.genai_fallback_project_input, one(oci_generative_ai_project.fallback[*].id))
}
