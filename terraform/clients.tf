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
    for name, c in var.jwt_clients : name => {
      models            = c.models, max_output_tokens = c.max_output_tokens, families = c.families
      tokens_per_minute = c.tokens_per_minute, token_quota = c.token_quota, token_quota_period = c.token_quota_period
    }
    } : {
    for name, c in var.api_clients : local.client_tokens[name] => {
      models            = c.models, max_output_tokens = c.max_output_tokens, families = c.families
      tokens_per_minute = c.tokens_per_minute, token_quota = c.token_quota, token_quota_period = c.token_quota_period
    }
  }
  hash_only_clients = var.auth_mode == "jwt" ? [] : [for name in keys(local.string_clients) : local.client_tokens[name] if !contains(keys(var.api_clients), name)]
  policy_set        = anytrue([for c in values(local.policy_clients) : c.models != null || c.max_output_tokens != null || c.families != null || c.tokens_per_minute != null || c.token_quota != null])
  # GENAI_CLIENT_POLICIES: sorted, compact JSON of the fields each client sets (dev/local/clients.py
  # render_policies is its twin, checked on the same input by terraform/tests/clients.tftest.hcl and
  # tests/unit/test_client_policies.py); "" when no client sets one.
  client_policies = local.policy_set ? jsonencode(merge(
    { for name in local.hash_only_clients : name => {} },
    {
      for name, c in local.policy_clients : name => merge(
        { for k, v in { families = c.families, models = c.models } : k => v if v != null },
        { for k, v in { max_output_tokens = c.max_output_tokens } : k => v if v != null },
        { for k, v in { tokens_per_minute = c.tokens_per_minute, token_quota = c.token_quota } : k => v if v != null },
        { for k, v in { token_quota_period = c.token_quota_period } : k => v if v != null },
      )
    },
  )) : ""

  # Model names a client policy may list: the allow-list and the aliases (any, with "*").
  policy_model_names = concat(var.genai_allowed_models, keys(var.genai_model_aliases), [var.genai_default_model])

  # The gateway's own 401 and the CORS policy's fixed parts, shared with the local gateway.
  gateway_policies = jsondecode(file("${path.module}/gateway.json"))
  unauthorized     = local.gateway_policies.unauthorized
  cors             = local.gateway_policies.cors
}
