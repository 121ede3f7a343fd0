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
