# The application is the unit fn deploys into; the functions themselves are
# created by `fn deploy` (which builds and pushes the images), not by Terraform.

locals {
  application_name = "${var.name}-app"

  # `fn deploy` names each function after the `name:` of its func.yaml, so
  # that file is the one place a name is set; these copy it
  # (tests/terraform/test_terraform_structure.py checks they agree).
  function_name               = "genai-responses"     # func.yaml
  authorizer_function_name    = "genai-authorizer"    # authorizer/func.yaml
  usage_metrics_function_name = "genai-usage-metrics" # usage_metrics/func.yaml

  # Names that must be unique in the whole tenancy (dynamic group, policies,
  # OCIR repositories, usage-plan subscriber tokens) carry a short id of where
  # this stack lives, so a second stack with the same var.name (staging in
  # another compartment, a colleague's in another region) does not collide.
  stack_id = substr(sha256("${var.compartment_ocid}/${var.region}/${var.name}"), 0, 6)

  # Non-secret settings of the main function (it reads them as environment
  # variables). OCI_AUTH is left unset: the function picks resource principal.
  # GENAI_PROJECT_OCID is added in app_config: it is unknown until the
  # project exists, and everything sized or filtered here must be known at plan.
  function_config = {
    GENAI_REGION                = local.genai_region
    GENAI_DEFAULT_MODEL         = var.genai_default_model
    GENAI_ALLOWED_MODELS        = join(",", var.genai_allowed_models)
    GENAI_MAX_OUTPUT_TOKENS     = tostring(var.genai_max_output_tokens)
    GENAI_DEFAULT_OUTPUT_TOKENS = tostring(var.genai_default_output_tokens)
    GENAI_MODEL_ALIASES         = join(",", [for k, v in var.genai_model_aliases : "${k}=${v}"])
    # Vector store management is served by the control plane, which takes the compartment (docs/api.md).
    GENAI_COMPARTMENT_OCID = var.compartment_ocid
    GENAI_MAX_BODY_BYTES   = tostring(var.genai_max_body_bytes)
    GENAI_MAX_RETRIES      = tostring(var.genai_max_retries)
    GENAI_LOG_LEVEL        = var.genai_log_level
    GENAI_LOG_PROMPTS      = tostring(var.genai_log_prompts)
    GENAI_EAGER_START      = tostring(var.genai_eager_start)
    # Regional failover (docs/failover.md); GENAI_FALLBACK_REGIONS is added in app_config (its project may be unknown).
    GENAI_FALLBACK_MODELS = local.genai_fallback_region != null && length(var.genai_fallback_models) > 0 ? "${local.genai_fallback_region}=${join("|", var.genai_fallback_models)}" : ""
    # Per-client policy, "" (dropped) when no client has one: terraform/clients.tf. With isolated
    # clients it names projects created at apply: added in app_config, sized with stand-ins.
    GENAI_CLIENT_POLICIES = local.client_isolation ? "" : local.client_policies
  }

  # Clients from api_key_hashes (string form) merged with api_clients (map form).
  hash_entries = [for e in split(",", var.api_key_hashes) : split(":", trimspace(e)) if trimspace(e) != ""]
  string_clients = {
    for name in distinct([for e in local.hash_entries : e[0]]) :
    name => {
      key_hashes            = [for e in local.hash_entries : e[1] if e[0] == name]
      rate_limit_per_second = 2
      quota                 = 5000
      quota_unit            = "DAY"
    }
  }
  # Keys and limits only (policies: terraform/clients.tf), so both kinds of entry have one type.
  api_clients = merge(local.string_clients, {
    for name, c in local.api_clients_all : name => {
      key_hashes = c.key_hashes, rate_limit_per_second = c.rate_limit_per_second, quota = c.quota, quota_unit = c.quota_unit
    }
  })

  # What the authorizer answers as request.auth[client], and so the usage-plan
  # subscriber's token. Subscriber tokens must be unique in the tenancy
  # (oci-go-sdk apigateway, CreateSubscriber), so the bare client name of a
  # second stack would collide: "<stack_id>.<client>" does not.
  client_tokens = { for name in keys(local.api_clients) : name => "${local.stack_id}.${name}" }

  # The authorizer's settings. Hashes of keys, not keys: readable config is fine.
  # Format parsed by authorizer/keys.py: client:sha256hex,client:sha256hex,...
  authorizer_config = var.auth_mode == "api_keys" ? {
    API_KEY_HASHES           = join(",", flatten([for name, c in local.api_clients : [for h in c.key_hashes : "${local.client_tokens[name]}:${h}"]]))
    AUTHORIZER_CACHE_SECONDS = tostring(var.authorizer_cache_seconds)
  } : {}
}

locals {
  # Drop empty values (no API clients yet) rather than set empty config keys.
  # local.limit_settings and local.limit_store_config: token limits and their store (cache.tf), {} when no limit is set.
  app_settings    = { for k, v in merge(local.function_config, local.limit_settings, local.authorizer_config) : k => v if v != "" }
  fallback_config = local.genai_fallback_region == null ? {} : { GENAI_FALLBACK_REGIONS = "${local.genai_fallback_region}=${local.genai_fallback_project}" }
  isolated_config = local.client_isolation ? { GENAI_CLIENT_POLICIES = local.client_policies } : {}
  app_config      = merge(local.app_settings, { GENAI_PROJECT_OCID = oci_generative_ai_project.this.id }, local.fallback_config, local.isolated_config, local.limit_store_config)
  # Size of app_config with 128-character stand-ins for the project OCIDs
  # (about 90 characters in practice), so the 4 KB check runs at plan time.
  app_config_bytes = length(jsonencode(merge(
    local.app_settings,
    { GENAI_PROJECT_OCID = format("%0128d", 0) },
    local.genai_fallback_region == null ? {} : { GENAI_FALLBACK_REGIONS = "${local.genai_fallback_region}=${format("%0128d", 0)}" },
    local.limit_store_config_standin,
    local.client_isolation ? { GENAI_CLIENT_POLICIES = local.client_policies_sized } : {},
  )))
}

resource "oci_functions_application" "this" {
  compartment_id = var.compartment_ocid
  display_name   = local.application_name
  subnet_ids     = [local.function_subnet_id]
  # The token-limit store's clients (cache.tf): TCP 6379 to the OCI Cache cluster only; none without limits.
  network_security_group_ids = oci_core_network_security_group.limit_store_clients[*].id
  shape                      = var.application_shape
  # Application config reaches every function of the app; both read only their own keys.
  config        = local.app_config
  freeform_tags = local.tags

  # Preconditions, not check blocks: a failed check is only a warning and the
  # apply goes on into a provider error (Terraform docs, "Checks" vs
  # "Custom conditions"); a precondition stops the plan with this message.
  lifecycle {
    # Each create_network = false stack must name its subnets (see also the gateway's).
    precondition {
      condition     = var.create_network || local.existing_function_subnet_ocid != null
      error_message = "create_network is false: set existing_function_subnet_ocid (the private subnet of the functions)."
    }
    # OCI Functions limits an application's configuration to 4 KB; each API
    # key hash costs about 80 bytes. Measured with room for the project OCID,
    # which is unknown until the first apply, so the plan of phase 1 already
    # says so instead of the apply (local.app_config_bytes).
    precondition {
      condition     = local.app_config_bytes < 4096
      error_message = "The application config would be ${local.app_config_bytes} bytes, over the Functions config limit (4 KB): fewer clients or API key hashes (each isolated client's project and compartment cost about 300 bytes), or use jwt mode."
    }
    # The function refuses a fallback that is its own region (genai_fn/settings.py): say it at plan time.
    precondition {
      condition     = local.genai_fallback_region != local.genai_region
      error_message = "genai_fallback_region must differ from the Generative AI region (${local.genai_region})."
    }
    precondition {
      condition     = local.genai_fallback_region != null || local.genai_fallback_project_input == null
      error_message = "genai_fallback_project_ocid is set but genai_fallback_region is not: set the region of that project."
    }
    # Per-client policy (terraform/clients.tf); the function checks the same at start-up.
    precondition {
      condition     = alltrue([for c in values(local.policy_clients) : c.max_output_tokens == null ? true : (c.max_output_tokens >= 1 && c.max_output_tokens <= var.genai_max_output_tokens && floor(c.max_output_tokens) == c.max_output_tokens)])
      error_message = "A client's max_output_tokens must be a whole number from 1 to genai_max_output_tokens (${var.genai_max_output_tokens})."
    }
    precondition {
      condition     = contains(var.genai_allowed_models, "*") || alltrue([for c in values(local.policy_clients) : alltrue([for m in(c.models == null ? [] : c.models) : contains(local.policy_model_names, m)])])
      error_message = "A client's models must be among genai_allowed_models or the names of genai_model_aliases."
    }
    precondition {
      condition     = var.genai_default_output_tokens <= var.genai_max_output_tokens
      error_message = "genai_default_output_tokens (${var.genai_default_output_tokens}) must not exceed genai_max_output_tokens (${var.genai_max_output_tokens})."
    }
    # Known from the first plan: say it there, not after fn deploy in phase 2.
    precondition {
      condition     = var.auth_mode != "api_keys" || length(local.api_clients) > 0
      error_message = "auth_mode is api_keys but no client is configured: create a key with `make api-key NAME=<client>` and add its hash line to api_clients (or api_key_hashes)."
    }
    precondition {
      condition     = var.auth_mode != "jwt" || (local.jwt_jwks_uri != null && length(var.jwt_issuers) > 0 && length(var.jwt_audiences) > 0)
      error_message = "auth_mode is jwt: set jwt_jwks_uri, jwt_issuers and jwt_audiences."
    }
    # authorizer/keys.py refuses such a config, which would lock every client out.
    precondition {
      condition     = alltrue([for c in values(local.api_clients) : length(c.key_hashes) >= 1 && length(c.key_hashes) <= 2])
      error_message = "Each API client needs one or two key hashes (two only while rotating)."
    }
    precondition {
      condition     = length(distinct(flatten([for c in values(local.api_clients) : c.key_hashes]))) == length(flatten([for c in values(local.api_clients) : c.key_hashes]))
      error_message = "The same key hash is configured twice."
    }
    # Token limits (cache.tf): the function refuses a quota without its period, and a period alone.
    precondition {
      condition     = (var.default_token_quota == null) == (local.default_token_quota_period == null)
      error_message = "default_token_quota and default_token_quota_period go together: set both (a quota per hour, day, week or month) or neither."
    }
  }
}

data "oci_objectstorage_namespace" "this" {
  compartment_id = var.tenancy_ocid
}

locals {
  ocir_namespace = data.oci_objectstorage_namespace.this.namespace
  # Repository names are unique per tenancy (its Object Storage namespace).
  ocir_prefix   = coalesce(local.ocir_repository_prefix, "${var.name}-${local.stack_id}")
  ocir_registry = "${local.ocir_host}/${local.ocir_namespace}/${local.ocir_prefix}"
  # What fn deploy creates in the application (phase 1 ends with all of them deployed).
  function_names = concat(
    [local.function_name],
    var.auth_mode == "api_keys" ? [local.authorizer_function_name] : [],
    var.usage_metrics_enabled ? [local.usage_metrics_function_name] : [],
  )
}

# Created here, in the stack's compartment, before the first push: otherwise
# `fn deploy` creates them implicitly in the tenancy's root compartment.
resource "oci_artifacts_container_repository" "functions" {
  for_each       = toset(local.function_names)
  compartment_id = var.compartment_ocid
  display_name   = "${local.ocir_prefix}/${each.key}"
  is_public      = false
  is_immutable   = false
  freeform_tags  = local.tags
}

# Phase 2: find what `fn deploy` created, by name.
data "oci_functions_functions" "main" {
  count          = var.functions_deployed ? 1 : 0
  application_id = oci_functions_application.this.id
  display_name   = local.function_name
  state          = "ACTIVE"
}

data "oci_functions_functions" "authorizer" {
  count          = var.functions_deployed && var.auth_mode == "api_keys" ? 1 : 0
  application_id = oci_functions_application.this.id
  display_name   = local.authorizer_function_name
  state          = "ACTIVE"
}

locals {
  function_id            = var.functions_deployed ? one(data.oci_functions_functions.main[0].functions[*].id) : null
  authorizer_function_id = length(data.oci_functions_functions.authorizer) > 0 ? one(data.oci_functions_functions.authorizer[0].functions[*].id) : null
}
