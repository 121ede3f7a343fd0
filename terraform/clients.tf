# Per-client policy, the client's name on every request, the gateway's own 401
# and browser access (CORS): what the API deployment (apigateway.tf) and the
# function's configuration (functions.tf) take from api_clients / jwt_clients.
#
# The gateway names the client to the function in one header, overwriting any
# value a client sent (set_headers, if_exists OVERWRITE), from the
# authentication context: ${request.auth[client]} is the authorizer's
# context.client, ${request.auth[<claim>]} a JWT claim. Syntax: "Adding
# Context Variables to Policies and HTTP Back End Definitions",
# https://docs.oracle.com/iaas/Content/APIGateway/Tasks/apigatewaycontextvariables.htm;
# header policy: https://docs.oracle.com/iaas/Content/APIGateway/Tasks/apigatewayheadertransformations.htm.
# The function applies GENAI_CLIENT_POLICIES only to calls through the gateway
# and refuses a name the table does not list (genai_fn/clients.py).

locals {
  client_header       = "X-GenAI-Client"
  client_header_value = var.auth_mode == "jwt" ? "$${request.auth[${var.jwt_client_claim}]}" : "$${request.auth[client]}"

  # Keyed by what the header carries: the authorizer's name ("<stack_id>.<client>") or the claim's value.
  # Clients of api_key_hashes have no policy fields (their entries are {}); they are kept apart
  # because their untyped nulls would not convert to api_clients' typed ones.
  # The policy fields only: tokens_per_hour is a budget for an alarm (alarms.tf), never sent to the function.
  # Token limits (tokens_per_minute, token_quota, token_quota_period) are policy fields too: the
  # function enforces them on the store of terraform/cache.tf.
  policy_clients = var.auth_mode == "jwt" ? {
    for name, c in local.jwt_clients_all : name => {
      models            = c.models, max_output_tokens = c.max_output_tokens, families = c.families
      tokens_per_minute = c.tokens_per_minute, token_quota = c.token_quota, token_quota_period = c.token_quota_period
    }
    } : {
    for name, c in local.api_clients_all : local.client_tokens[name] => {
      models            = c.models, max_output_tokens = c.max_output_tokens, families = c.families
      tokens_per_minute = c.tokens_per_minute, token_quota = c.token_quota, token_quota_period = c.token_quota_period
    }
  }
  hash_only_clients = var.auth_mode == "jwt" ? [] : [for name in keys(local.string_clients) : local.client_tokens[name] if !contains(keys(local.api_clients_all), name)]
  policy_set        = anytrue([for c in values(local.policy_clients) : c.models != null || c.max_output_tokens != null || c.families != null || c.tokens_per_minute != null || c.token_quota != null])
  # The fields each client sets, keyed as the header names it.
  policy_entries = merge(
    { for name in local.hash_only_clients : name => {} },
    {
      for name, c in local.policy_clients : name => merge(
        { for k, v in { families = c.families, models = c.models } : k => v if v != null },
        { for k, v in { max_output_tokens = c.max_output_tokens } : k => v if v != null },
        { for k, v in { tokens_per_minute = c.tokens_per_minute, token_quota = c.token_quota } : k => v if v != null },
        { for k, v in { token_quota_period = c.token_quota_period } : k => v if v != null },
      )
    },
  )
  # GENAI_CLIENT_POLICIES: sorted, compact JSON of the fields each client sets and, when clients are
  # isolated, its project and compartment (dev/local/clients.py render_policies is its twin, checked on
  # the same input by terraform/tests/clients.tftest.hcl and tests/unit/test_client_policies.py);
  # "" when there is one client (or none) and no client sets a field.
  client_policies = local.client_isolation ? jsonencode({
    for name, e in local.policy_entries : name => merge(e, local.client_scope[name])
  }) : local.policy_set ? jsonencode(local.policy_entries) : ""
  # The same with 128-character stand-ins for the OCIDs created at apply: its size is known at plan (functions.tf).
  client_policies_sized = local.client_isolation ? jsonencode({
    for name, e in local.policy_entries : name => merge(e, local.client_scope_sized[name])
  }) : local.client_policies

  # Isolation (docs/clients.md#isolation, genai_fn/tenancy.py): from two clients on, every client's calls
  # carry its own Generative AI project, so OCI keeps its responses, conversations, files and containers
  # from every other client ("artifacts in one project are not accessible from another project":
  # https://docs.oracle.com/en-us/iaas/Content/generative-ai/projects.htm), and vector stores are created
  # and listed in its own compartment (the control plane takes opc-compartment-id: Oracle's QuickStart,
  # https://docs.oracle.com/en-us/iaas/Content/generative-ai/get-started-agents.htm). The function refuses a
  # table of two clients or more without them (genai_fn/clients.py); one client keeps GENAI_PROJECT_OCID.
  client_names     = var.auth_mode == "jwt" ? keys(local.jwt_clients_all) : keys(local.api_clients)
  client_isolation = length(local.client_names) >= 2
  client_key       = { for n in local.client_names : n => var.auth_mode == "jwt" ? n : local.client_tokens[n] }
  # What an entry gives; clients of api_key_hashes give nothing (both are created for them).
  client_given = {
    for n in local.client_names : n => {
      project     = var.auth_mode == "jwt" ? local.jwt_clients_all[n].project_ocid : try(local.api_clients_all[n].project_ocid, null)
      compartment = var.auth_mode == "jwt" ? local.jwt_clients_all[n].compartment_ocid : try(local.api_clients_all[n].compartment_ocid, null)
    }
  }
  # A name a compartment or project may carry: the client's, made safe, and a hash (jwt names are free text).
  client_label = { for n in local.client_names : n => "${substr(replace(n, "/[^A-Za-z0-9_.-]/", "_"), 0, 40)}-${substr(sha256(n), 0, 6)}" }
  client_scope = {
    for n, g in local.client_given : local.client_key[n] => {
      compartment = g.compartment != null ? g.compartment : try(oci_identity_compartment.client[n].id, null)
      project     = g.project != null ? g.project : try(oci_generative_ai_project.client[n].id, null)
    }
  }
  client_scope_sized = {
    for n, g in local.client_given : local.client_key[n] => {
      compartment = coalesce(g.compartment, format("%0128d", 0))
      project     = coalesce(g.project, format("%0128d", 0))
    }
  }

  # Model names a client policy may list: the allow-list and the aliases (any, with "*").
  policy_model_names = concat(var.genai_allowed_models, keys(var.genai_model_aliases), [var.genai_default_model])

  # The gateway's own 401 and the CORS policy's fixed parts, shared with the local gateway.
  gateway_policies = jsondecode(file("${path.module}/gateway.json"))
  unauthorized     = local.gateway_policies.unauthorized
  cors             = local.gateway_policies.cors
}

# A compartment per isolated client, below the stack's: its vector stores (and, unless given, its
# project) live there. Below var.compartment_ocid, so the function's policies on that compartment
# cover it: "Policy inheritance", https://docs.oracle.com/en-us/iaas/Content/Identity/Concepts/policies.htm.
# Compartment writes are IAM writes: home region. enable_delete: `terraform destroy` deletes it
# (only once it is empty: its vector stores go first; provider docs of oci_identity_compartment).
resource "oci_identity_compartment" "client" {
  for_each       = local.client_isolation ? { for n, g in local.client_given : n => g if g.compartment == null } : {}
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${var.name}-${local.stack_id}-${local.client_label[each.key]}"
  description    = "Vector stores and Generative AI project of client ${local.client_label[each.key]} of ${var.name} (terraform/clients.tf)"
  enable_delete  = true
  freeform_tags  = local.tags
}

# A Generative AI project per isolated client, in that client's compartment, with the stack
# project's retention; the function sends it as OpenAI-Project on the client's calls.
resource "oci_generative_ai_project" "client" {
  for_each       = local.client_isolation ? { for n, g in local.client_given : n => g if g.project == null } : {}
  provider       = oci.genai
  compartment_id = each.value.compartment != null ? each.value.compartment : oci_identity_compartment.client[each.key].id
  display_name   = "${var.name}-client-${local.client_label[each.key]}"
  description    = "Generative AI project of client ${local.client_label[each.key]} of ${var.name} (terraform/clients.tf)"
  freeform_tags  = local.tags

  conversation_config {
    responses_retention_in_hours     = var.genai_responses_retention_hours
    conversations_retention_in_hours = var.genai_conversations_retention_hours
  }
}
