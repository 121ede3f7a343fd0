# ---------------------------------------------------------------------------
# Tenancy, region, compartment
# ---------------------------------------------------------------------------

variable "tenancy_ocid" {
  description = "OCID of the tenancy. Dynamic groups live here, and the home region is looked up from it."
  type        = string
  validation {
    condition     = can(regex("^ocid1\\.tenancy\\.oc[0-9]+\\.\\.[a-z0-9]+$", var.tenancy_ocid))
    error_message = "tenancy_ocid must look like ocid1.tenancy.oc1..<id>."
  }
}

variable "region" {
  description = "Region for the function, gateway, network and Generative AI project, e.g. us-chicago-1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2,}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be a region identifier such as us-chicago-1."
  }
}

variable "compartment_ocid" {
  description = "OCID of the compartment that receives every resource of this stack (and that the IAM statements are scoped to)."
  type        = string
  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.\\.[a-z0-9]+$", var.compartment_ocid))
    error_message = "compartment_ocid must be a compartment OCID (ocid1.compartment.oc1..<id>)."
  }
}

variable "oci_config_profile" {
  description = "Profile of ~/.oci/config to use when running Terraform locally; null uses DEFAULT (ignored by Resource Manager)."
  type        = string
  default     = null
}

variable "realm_domain" {
  description = "Domain of the OCI realm, used to print Functions and Generative AI endpoints (oraclecloud.com for the commercial realm oc1)."
  type        = string
  default     = "oraclecloud.com"
  validation {
    condition     = can(regex("^[a-z0-9.-]+\\.[a-z]+$", var.realm_domain))
    error_message = "realm_domain must be a DNS domain such as oraclecloud.com."
  }
}

variable "name" {
  description = "Prefix for every resource name (dynamic group names must be unique in the tenancy)."
  type        = string
  default     = "genai"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name))
    error_message = "name must be 2-24 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "freeform_tags" {
  description = "Free-form tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------

variable "create_network" {
  description = "Create a VCN with a private subnet for the functions and a public subnet for the gateway. Set false to bring your own subnets."
  type        = bool
  default     = true
}

variable "vcn_cidr" {
  description = "CIDR of the VCN created when create_network is true."
  type        = string
  default     = "10.20.0.0/16"
  validation {
    condition     = can(cidrnetmask(var.vcn_cidr))
    error_message = "vcn_cidr must be an IPv4 CIDR block."
  }
}

variable "function_subnet_cidr" {
  description = "CIDR of the private subnet for the functions (inside vcn_cidr)."
  type        = string
  default     = "10.20.1.0/24"
  validation {
    condition     = can(cidrnetmask(var.function_subnet_cidr))
    error_message = "function_subnet_cidr must be an IPv4 CIDR block."
  }
}

variable "gateway_subnet_cidr" {
  description = "CIDR of the public subnet for the API gateway (inside vcn_cidr)."
  type        = string
  default     = "10.20.2.0/24"
  validation {
    condition     = can(cidrnetmask(var.gateway_subnet_cidr))
    error_message = "gateway_subnet_cidr must be an IPv4 CIDR block."
  }
}

variable "gateway_ingress_cidrs" {
  description = "Client CIDRs allowed to reach the gateway on TCP 443. The API is authenticated, so the internet is the default; narrow it if your callers have fixed addresses."
  type        = list(string)
  default     = ["0.0.0.0/0"]
  validation {
    condition     = length(var.gateway_ingress_cidrs) > 0 && alltrue([for c in var.gateway_ingress_cidrs : can(cidrnetmask(c))])
    error_message = "gateway_ingress_cidrs must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "existing_vcn_ocid" {
  description = "When create_network is false: the VCN of the subnets below (used by the Resource Manager subnet pickers and echoed in outputs)."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.existing_vcn_ocid), "") == "" || can(regex("^ocid1\\.vcn\\.oc[0-9]+\\.", var.existing_vcn_ocid))
    error_message = "existing_vcn_ocid must be a VCN OCID."
  }
}

variable "existing_function_subnet_ocid" {
  description = "When create_network is false: private subnet for the functions; it needs a route to Oracle services (service gateway) and to the internet (NAT) for the Generative AI endpoint."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.existing_function_subnet_ocid), "") == "" || can(regex("^ocid1\\.subnet\\.oc[0-9]+\\.", var.existing_function_subnet_ocid))
    error_message = "existing_function_subnet_ocid must be a subnet OCID."
  }
}

variable "existing_gateway_subnet_ocid" {
  description = "When create_network is false: public subnet for the API gateway (ingress TCP 443 from your callers)."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.existing_gateway_subnet_ocid), "") == "" || can(regex("^ocid1\\.subnet\\.oc[0-9]+\\.", var.existing_gateway_subnet_ocid))
    error_message = "existing_gateway_subnet_ocid must be a subnet OCID."
  }
}

variable "network_compartment_ocid" {
  description = "Compartment of your own subnets when create_network is false; null means compartment_ocid. Only used by the optional Functions-service policy."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.network_compartment_ocid), "") == "" || can(regex("^ocid1\\.(compartment|tenancy)\\.oc[0-9]+\\.\\.[a-z0-9]+$", var.network_compartment_ocid))
    error_message = "network_compartment_ocid must be a compartment OCID."
  }
}

# ---------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------

variable "developer_group_name" {
  description = "Optional existing IAM group whose members may call Generative AI in the compartment (to run the function locally with session auth). Plain name, or 'Domain'/'Group' for an identity domain. null: no statement."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.developer_group_name), "") == "" || can(regex("^('[A-Za-z0-9 _.-]+'/'[A-Za-z0-9 _.-]+'|[A-Za-z0-9_.-]+)$", var.developer_group_name))
    error_message = "developer_group_name must be a group name (letters, digits, '_', '.', '-') or 'Domain'/'Group'."
  }
}

variable "grant_functions_service_access" {
  description = "Create the policy letting the OCI Functions service read this compartment's OCIR repositories and use the functions' network (policies/functions-service.policy), as Oracle's Functions set-up lists. Turn off only if your tenancy already has equivalent statements."
  type        = bool
  default     = true
}

variable "genai_function_verb" {
  description = "Verb of the function's statement on generative-ai-family: use (documented for Chat and for API-key callers of the OpenAI-compatible API) or manage (what Oracle's Responses QuickStart grants). See policies/README.md; `make smoke` says when use is not enough."
  type        = string
  default     = "use"
  validation {
    condition     = contains(["use", "manage"], var.genai_function_verb)
    error_message = "genai_function_verb must be use or manage."
  }
}

variable "grant_genai_response_statements" {
  description = "Grant the function manage on generative-ai-response and generative-ai-conversation (policies/genai-responses.policy), in a policy of its own. On by default: without them a resource principal holding use generative-ai-family was refused on /responses and /conversations. Turn off with genai_function_verb = manage, which covers them."
  type        = bool
  default     = true
}

variable "grant_genai_store_permissions" {
  description = "Also grant the function the one-to-one permissions Oracle documents for Files, Vector Stores and Containers (policies/genai-stores.policy), for when genai_function_verb = use does not cover creating and deleting them."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# Generative AI project
# ---------------------------------------------------------------------------

variable "genai_responses_retention_hours" {
  description = "How long the Generative AI project keeps stored responses (GET /v1/responses/{id}), in hours from creation."
  type        = number
  default     = 24
  validation {
    condition     = var.genai_responses_retention_hours >= 1 && var.genai_responses_retention_hours <= 8760 && floor(var.genai_responses_retention_hours) == var.genai_responses_retention_hours
    error_message = "genai_responses_retention_hours must be a whole number of hours between 1 and 8760."
  }
}

variable "genai_conversations_retention_hours" {
  description = "How long the Generative AI project keeps conversations, in hours from their last update."
  type        = number
  default     = 168
  validation {
    condition     = var.genai_conversations_retention_hours >= 1 && var.genai_conversations_retention_hours <= 8760 && floor(var.genai_conversations_retention_hours) == var.genai_conversations_retention_hours
    error_message = "genai_conversations_retention_hours must be a whole number of hours between 1 and 8760."
  }
}

# ---------------------------------------------------------------------------
# Function application and its configuration (the function's GENAI_* settings)
# Their bounds, defaults, model-name pattern and families are genai_fn/bounds.py's and
# genai_fn/families.py's, repeated here as literals (a validation cannot read Python):
# tests/terraform/test_limit_bounds.py compares every value and error message with them.
# ---------------------------------------------------------------------------

variable "application_shape" {
  description = "Processor shape of the Functions application; must match the architecture of the images fn builds."
  type        = string
  default     = "GENERIC_X86"
  validation {
    condition     = contains(["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"], var.application_shape)
    error_message = "application_shape must be GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM."
  }
}

variable "ocir_repository_prefix" {
  description = "Prefix of the OCIR repositories fn pushes to: <ocir host>/<namespace>/<prefix>/<function>. null: <name>-<stack id>, unique per stack (repository names are unique in the tenancy)."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.ocir_repository_prefix), "") == "" || can(regex("^[a-z0-9][a-z0-9._-]{0,63}$", var.ocir_repository_prefix))
    error_message = "ocir_repository_prefix must be lower-case letters, digits, '.', '_' or '-'."
  }
}

variable "genai_region" {
  description = "Region of the Generative AI inference endpoint the function calls (GENAI_REGION); null means var.region."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.genai_region), "") == "" || can(regex("^[a-z]{2,}(-[a-z]+)+-[0-9]+$", var.genai_region))
    error_message = "genai_region must be a region identifier such as us-chicago-1."
  }
}

variable "genai_fallback_region" {
  description = "Regional failover (docs/failover.md): a second region that calls storing nothing are sent to when the Generative AI region throttles or fails (GENAI_FALLBACK_REGIONS). null: failover off."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.genai_fallback_region), "") == "" || can(regex("^[a-z]{2,}(-[a-z]+)+-[0-9]+$", var.genai_fallback_region))
    error_message = "genai_fallback_region must be a region identifier such as us-ashburn-1."
  }
}

variable "genai_fallback_project_ocid" {
  description = "An existing Generative AI project in genai_fallback_region; null: one is created there (through the oci.fallback provider)."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.genai_fallback_project_ocid), "") == "" || can(regex("^ocid1\\.generativeaiproject\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.genai_fallback_project_ocid))
    error_message = "genai_fallback_project_ocid must be a Generative AI project OCID (ocid1.generativeaiproject...)."
  }
}

variable "genai_fallback_models" {
  description = "Models the fallback region serves (GENAI_FALLBACK_MODELS); a call for another model is not failed over. []: the same as the Generative AI region. See https://docs.oracle.com/iaas/Content/generative-ai/model-endpoint-regions.htm."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for m in var.genai_fallback_models : can(regex("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$", m))])
    error_message = "genai_fallback_models must be model names such as openai.gpt-oss-120b (letters, digits, . _ : / -; at most 200 characters)."
  }
}

variable "genai_default_model" {
  description = "Model used when a request names none (GENAI_DEFAULT_MODEL)."
  type        = string
  default     = "openai.gpt-oss-120b"
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$", var.genai_default_model))
    error_message = "genai_default_model must be a model name such as openai.gpt-oss-120b (letters, digits, . _ : / -; at most 200 characters)."
  }
}

variable "genai_allowed_models" {
  description = "Models callers may ask for (GENAI_ALLOWED_MODELS); [\"*\"] allows any. The default model is always allowed by the function."
  type        = list(string)
  default     = ["openai.gpt-oss-120b"]
  validation {
    condition     = length(var.genai_allowed_models) > 0 && alltrue([for m in var.genai_allowed_models : can(regex("^(\\*|[A-Za-z0-9][A-Za-z0-9._:/-]{0,199})$", m))])
    error_message = "genai_allowed_models must be a non-empty list of model names (letters, digits, . _ : / -; at most 200 characters), or [\"*\"]."
  }
}

variable "genai_max_output_tokens" {
  description = "Cap on the output tokens a request asks for (max_output_tokens, max_tokens, max_completion_tokens); never injected (GENAI_MAX_OUTPUT_TOKENS)."
  type        = number
  default     = 32768
  validation {
    condition     = var.genai_max_output_tokens >= 1 && var.genai_max_output_tokens <= 131072 && floor(var.genai_max_output_tokens) == var.genai_max_output_tokens
    error_message = "genai_max_output_tokens must be a whole number between 1 and 131072."
  }
}

variable "genai_default_output_tokens" {
  description = "Output-token limit added to requests that name none; 0 adds nothing (GENAI_DEFAULT_OUTPUT_TOKENS)."
  type        = number
  default     = 0
  validation {
    # At most genai_max_output_tokens: a precondition in functions.tf (a
    # validation may name another variable only from Terraform 1.9 on).
    condition     = var.genai_default_output_tokens >= 0 && var.genai_default_output_tokens <= 131072 && floor(var.genai_default_output_tokens) == var.genai_default_output_tokens
    error_message = "genai_default_output_tokens must be a whole number from 0 to 131072 (and at most genai_max_output_tokens)."
  }
}

variable "genai_model_aliases" {
  description = "Client model names mapped to served ones, e.g. { \"gpt-4o-mini\" = \"openai.gpt-oss-20b\" }, so clients' built-in defaults work (GENAI_MODEL_ALIASES). Targets must be allowed models."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.genai_model_aliases : can(regex("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$", k)) && can(regex("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$", v))])
    error_message = "genai_model_aliases keys and values must be model names (letters, digits, . _ : / -; at most 200 characters)."
  }
}

variable "genai_max_body_bytes" {
  description = "Largest request body the function accepts, in bytes (GENAI_MAX_BODY_BYTES); the default is the Functions payload limit, which the function holds within memory: 128 (tests/reliability/test_memory.py)."
  type        = number
  default     = 6291456
  validation {
    condition     = var.genai_max_body_bytes >= 1024 && var.genai_max_body_bytes <= 6291456 && floor(var.genai_max_body_bytes) == var.genai_max_body_bytes
    error_message = "genai_max_body_bytes must be a whole number between 1024 and 6291456 (the Functions payload limit)."
  }
}

variable "genai_max_retries" {
  description = "Retries of a failed upstream call inside the function's deadline (GENAI_MAX_RETRIES)."
  type        = number
  default     = 2
  validation {
    condition     = var.genai_max_retries >= 0 && var.genai_max_retries <= 5 && floor(var.genai_max_retries) == var.genai_max_retries
    error_message = "genai_max_retries must be a whole number between 0 and 5."
  }
}

variable "genai_log_level" {
  description = "Log level of the function (GENAI_LOG_LEVEL)."
  type        = string
  default     = "INFO"
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.genai_log_level)
    error_message = "genai_log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "genai_log_prompts" {
  description = "Whether the function logs prompt and output text (GENAI_LOG_PROMPTS). Keep false unless you must: logs are retained for log_retention_days."
  type        = bool
  default     = false
}

variable "genai_eager_start" {
  description = "GENAI_EAGER_START: each container imports and builds its client before it accepts calls, so its first call costs what a warm call does. Worth it with provisioned concurrency (containers started ahead of traffic); neutral otherwise."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# Two-phase deploy
# ---------------------------------------------------------------------------

variable "functions_deployed" {
  description = "Phase gate. false (first apply): no API deployment yet, because the functions do not exist. After `fn deploy` of both functions, set true and apply again: Terraform finds them by name, narrows the dynamic group to the function's OCID and creates the gateway deployment."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# API Gateway
# ---------------------------------------------------------------------------

variable "path_prefix" {
  description = "Path prefix of the API deployment; the OpenAI base_url is https://<host><path_prefix>/v1."
  type        = string
  default     = "/genai"
  validation {
    condition     = can(regex("^/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", var.path_prefix))
    error_message = "path_prefix must start with '/', not end with '/', and use letters, digits, '.', '_' or '-'."
  }
}

variable "auth_mode" {
  description = "How callers authenticate: api_keys (authorizer function checking Bearer keys against hashes) or jwt (tokens from an OCI IAM identity domain, validated by the gateway against its JWKS)."
  type        = string
  default     = "api_keys"
  validation {
    condition     = contains(["api_keys", "jwt"], var.auth_mode)
    error_message = "auth_mode must be api_keys or jwt."
  }
}

variable "api_clients" {
  description = "api_keys mode: one entry per client. key_hashes are SHA-256 hex digests of the client's keys (1, or 2 while rotating) printed by `make api-key NAME=<client>`; never the keys. Each client gets its own usage plan: rate_limit_per_second and a quota per quota_unit (MINUTE, HOUR, DAY, WEEK or MONTH: oci-go-sdk apigateway QuotaUnitEnum). Optional policy (docs/clients.md): models (a subset of genai_allowed_models and alias names), max_output_tokens (at most genai_max_output_tokens) and families (API families, e.g. [\"responses\", \"chat\"]); unset means the global settings. Optional tokens_per_hour: the client's hourly token budget, watched by an alarm (docs/usage-and-alarms.md), not enforced. With two clients or more each has its own Generative AI project and compartment (docs/clients.md#isolation): project_ocid and compartment_ocid give existing ones (in compartment_ocid or below it), else Terraform creates them. Optional token limits, enforced by the function on a shared store (terraform/cache.tf, docs/usage-and-alarms.md): tokens_per_minute, and token_quota per token_quota_period (hour, day, week or month). make run reads the same entries from terraform/clients.auto.tfvars.json."
  type = map(object({
    key_hashes            = list(string)
    rate_limit_per_second = optional(number, 2)
    quota                 = optional(number, 5000)
    quota_unit            = optional(string, "DAY")
    # Per-client policy (GENAI_CLIENT_POLICIES, genai_fn/clients.py); null: the global setting.
    models            = optional(list(string))
    max_output_tokens = optional(number)
    families          = optional(list(string))
    # Budget (an alarm, never enforced by the function): terraform/alarms.tf; null: no budget alarm.
    tokens_per_hour = optional(number)
    # --- Token limits (enforced by the function on OCI Cache, terraform/cache.tf); null: the default_* below.
    tokens_per_minute  = optional(number)
    token_quota        = optional(number)
    token_quota_period = optional(string)
    # --- end token limits
    # Isolation, from two clients on (terraform/clients.tf): the client's own project and compartment; null: created.
    project_ocid     = optional(string)
    compartment_ocid = optional(string)
  }))
  default = {}
  # --- Token limits: the bounds of genai_fn/bounds.py (tests/terraform/test_limit_bounds.py compares the values).
  validation {
    condition     = alltrue([for c in values(var.api_clients) : (c.tokens_per_minute == null ? true : (c.tokens_per_minute >= 1 && c.tokens_per_minute <= 10000000 && floor(c.tokens_per_minute) == c.tokens_per_minute)) && (c.token_quota == null ? c.token_quota_period == null : (c.token_quota >= 1 && c.token_quota <= 1000000000000 && floor(c.token_quota) == c.token_quota && contains(["hour", "day", "week", "month"], coalesce(c.token_quota_period, "none"))))])
    error_message = "api_clients: tokens_per_minute a whole number from 1 to 10000000; token_quota a whole number from 1 to 1000000000000, with token_quota_period hour, day, week or month (and no token_quota_period without token_quota)."
  }
  # --- end token limits
  validation {
    condition     = alltrue([for c in values(var.api_clients) : (c.project_ocid == null || can(regex("^ocid1\\.generativeaiproject\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]+$", c.project_ocid))) && (c.compartment_ocid == null || can(regex("^ocid1\\.compartment\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]+$", c.compartment_ocid)))])
    error_message = "api_clients: project_ocid, when set, is a Generative AI project OCID (ocid1.generativeaiproject...); compartment_ocid a compartment OCID (ocid1.compartment...)."
  }
  validation {
    condition     = alltrue([for c in values(var.api_clients) : c.tokens_per_hour == null ? true : (c.tokens_per_hour >= 1 && floor(c.tokens_per_hour) == c.tokens_per_hour)])
    error_message = "api_clients: tokens_per_hour, when set, must be a whole number of at least 1 (the client's hourly token budget)."
  }
  validation {
    condition     = alltrue([for name, c in var.api_clients : can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,55}$", name))])
    error_message = "api_clients names must be letters, digits, '.', '_' or '-', at most 56 (keys.py's 63 less the 7-character stack id prefix of the usage token)."
  }
  validation {
    condition     = alltrue([for c in values(var.api_clients) : length(c.key_hashes) >= 1 && length(c.key_hashes) <= 2 && alltrue([for h in c.key_hashes : can(regex("^[0-9a-f]{64}$", h))])])
    error_message = "Each client needs 1 or 2 key_hashes, each 64 lower-case hex characters (SHA-256)."
  }
  validation {
    condition     = alltrue([for c in values(var.api_clients) : c.rate_limit_per_second >= 1 && c.rate_limit_per_second <= 1000 && c.quota >= 1 && contains(["MINUTE", "HOUR", "DAY", "WEEK", "MONTH"], c.quota_unit)])
    error_message = "rate_limit_per_second must be 1-1000, quota at least 1, quota_unit MINUTE, HOUR, DAY, WEEK or MONTH."
  }
  validation {
    condition     = alltrue([for c in values(var.api_clients) : alltrue([for f in(c.families == null ? [] : c.families) : contains(["simple", "health", "models", "responses", "chat", "conversations", "files", "vector_stores", "containers", "embeddings", "completions", "uploads", "custom"], f)]) && (c.families == null ? true : length(c.families) > 0) && (c.models == null ? true : length(c.models) > 0)])
    error_message = "api_clients: families among responses, chat, conversations, files, vector_stores, containers, models, simple, embeddings, completions, uploads, health, custom; families and models, when set, not empty."
  }
}

variable "api_clients_json" {
  description = "api_clients as JSON text, for Resource Manager, whose form has no map type (schema.yaml): {\"alice\": {\"key_hashes\": [\"<sha256 hex>\"], \"models\": [...], \"families\": [...], ...}}, the same fields and defaults as api_clients; merged into it (api_clients wins for a name in both). \"\" for none."
  type        = string
  default     = ""
  validation {
    condition = trimspace(var.api_clients_json) == "" || can(alltrue([
      for name, c in jsondecode(var.api_clients_json) : (
        can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,55}$", name)) &&
        length(setsubtract(keys(c), ["key_hashes", "rate_limit_per_second", "quota", "quota_unit", "models", "max_output_tokens", "families", "tokens_per_hour", "tokens_per_minute", "token_quota", "token_quota_period", "project_ocid", "compartment_ocid"])) == 0 &&
        (try(c.tokens_per_minute, null) == null ? true : (c.tokens_per_minute >= 1 && c.tokens_per_minute <= 10000000 && floor(c.tokens_per_minute) == c.tokens_per_minute)) &&
        (try(c.token_quota, null) == null ? try(c.token_quota_period, null) == null : (c.token_quota >= 1 && c.token_quota <= 1000000000000 && floor(c.token_quota) == c.token_quota && contains(["hour", "day", "week", "month"], try(c.token_quota_period, "none")))) &&
        length(c.key_hashes) >= 1 && length(c.key_hashes) <= 2 && alltrue([for h in c.key_hashes : can(regex("^[0-9a-f]{64}$", h))]) &&
        try(c.rate_limit_per_second, 2) >= 1 && try(c.rate_limit_per_second, 2) <= 1000 && try(c.quota, 5000) >= 1 &&
        contains(["MINUTE", "HOUR", "DAY", "WEEK", "MONTH"], try(c.quota_unit, "DAY")) &&
        alltrue([for f in try(c.families, []) : contains(["simple", "health", "models", "responses", "chat", "conversations", "files", "vector_stores", "containers", "embeddings", "completions", "uploads", "custom"], f)])
      ) ? true : tobool("invalid")
    ]))
    error_message = "api_clients_json must be a JSON object of client name (letters, digits, '.', '_', '-'; at most 56) to an object with key_hashes (1 or 2 SHA-256 hex) and only api_clients' fields, within its bounds (rate_limit_per_second 1-1000, quota >= 1, quota_unit MINUTE to MONTH; families among those api_clients takes; token limits as in api_clients)."
  }
}

variable "jwt_clients_json" {
  description = "jwt_clients as JSON text, for Resource Manager (schema.yaml): {\"<claim value>\": {\"families\": [...], ...}}, the same fields as jwt_clients; merged into it (jwt_clients wins for a name in both). \"\" for none."
  type        = string
  default     = ""
  validation {
    condition = trimspace(var.jwt_clients_json) == "" || can(alltrue([
      for name, c in jsondecode(var.jwt_clients_json) : (
        length(name) >= 1 && length(name) <= 256 &&
        length(setsubtract(keys(c), ["models", "max_output_tokens", "families", "tokens_per_hour", "tokens_per_minute", "token_quota", "token_quota_period", "project_ocid", "compartment_ocid"])) == 0 &&
        (try(c.tokens_per_minute, null) == null ? true : (c.tokens_per_minute >= 1 && c.tokens_per_minute <= 10000000 && floor(c.tokens_per_minute) == c.tokens_per_minute)) &&
        (try(c.token_quota, null) == null ? try(c.token_quota_period, null) == null : (c.token_quota >= 1 && c.token_quota <= 1000000000000 && floor(c.token_quota) == c.token_quota && contains(["hour", "day", "week", "month"], try(c.token_quota_period, "none")))) &&
        alltrue([for f in try(c.families, []) : contains(["simple", "health", "models", "responses", "chat", "conversations", "files", "vector_stores", "containers", "embeddings", "completions", "uploads", "custom"], f)])
      ) ? true : tobool("invalid")
    ]))
    error_message = "jwt_clients_json must be a JSON object of claim value to an object with only jwt_clients' fields; families among those jwt_clients takes; token limits as in jwt_clients."
  }
}

variable "jwt_client_claim" {
  description = "jwt mode: the token claim that names the client (request.auth[<claim>]); the gateway sends its value to the function as X-GenAI-Client, for the log line and jwt_clients."
  type        = string
  default     = "sub"
  validation {
    condition     = can(regex("^[A-Za-z0-9_.:-]{1,64}$", var.jwt_client_claim))
    error_message = "jwt_client_claim must be a claim name: letters, digits, '_', '.', ':' or '-', at most 64."
  }
}

variable "jwt_clients" {
  description = "jwt mode: per-client policy keyed by the value of jwt_client_claim (models, max_output_tokens, families, tokens_per_hour, tokens_per_minute, token_quota, token_quota_period, project_ocid, compartment_ocid; as in api_clients). Once any entry sets a field, only the listed clients may call (a token naming another is refused with 403)."
  type = map(object({
    models            = optional(list(string))
    max_output_tokens = optional(number)
    families          = optional(list(string))
    tokens_per_hour   = optional(number)
    # --- Token limits (terraform/cache.tf), as in api_clients.
    tokens_per_minute  = optional(number)
    token_quota        = optional(number)
    token_quota_period = optional(string)
    # --- end token limits
    # Isolation, from two clients on (terraform/clients.tf): the client's own project and compartment; null: created.
    project_ocid     = optional(string)
    compartment_ocid = optional(string)
  }))
  default = {}
  # --- Token limits: the bounds of genai_fn/bounds.py (tests/terraform/test_limit_bounds.py compares the values).
  validation {
    condition     = alltrue([for c in values(var.jwt_clients) : (c.tokens_per_minute == null ? true : (c.tokens_per_minute >= 1 && c.tokens_per_minute <= 10000000 && floor(c.tokens_per_minute) == c.tokens_per_minute)) && (c.token_quota == null ? c.token_quota_period == null : (c.token_quota >= 1 && c.token_quota <= 1000000000000 && floor(c.token_quota) == c.token_quota && contains(["hour", "day", "week", "month"], coalesce(c.token_quota_period, "none"))))])
    error_message = "jwt_clients: tokens_per_minute a whole number from 1 to 10000000; token_quota a whole number from 1 to 1000000000000, with token_quota_period hour, day, week or month (and no token_quota_period without token_quota)."
  }
  # --- end token limits
  validation {
    condition     = alltrue([for c in values(var.jwt_clients) : (c.project_ocid == null || can(regex("^ocid1\\.generativeaiproject\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]+$", c.project_ocid))) && (c.compartment_ocid == null || can(regex("^ocid1\\.compartment\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]+$", c.compartment_ocid)))])
    error_message = "jwt_clients: project_ocid, when set, is a Generative AI project OCID (ocid1.generativeaiproject...); compartment_ocid a compartment OCID (ocid1.compartment...)."
  }
  validation {
    # The name goes into the budget alarm's query as a quoted dimension value.
    condition     = alltrue([for name, c in var.jwt_clients : c.tokens_per_hour == null ? true : (c.tokens_per_hour >= 1 && floor(c.tokens_per_hour) == c.tokens_per_hour && !can(regex("[\"\\\\]", name)))])
    error_message = "jwt_clients: tokens_per_hour, when set, must be a whole number of at least 1, and that client's name may not contain a double quote or a backslash."
  }
  validation {
    condition     = alltrue([for name, c in var.jwt_clients : length(name) >= 1 && length(name) <= 256 && alltrue([for f in(c.families == null ? [] : c.families) : contains(["simple", "health", "models", "responses", "chat", "conversations", "files", "vector_stores", "containers", "embeddings", "completions", "uploads", "custom"], f)])])
    error_message = "jwt_clients: names of 1-256 characters; families among responses, chat, conversations, files, vector_stores, containers, models, simple, embeddings, completions, uploads, health, custom."
  }
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to call the API (the deployment's CORS policy), e.g. [\"https://app.example.com\"]; [] (the default) sets no CORS policy. Browsers must authenticate users with jwt mode, never carry a static API key (docs/clients.md)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for o in var.cors_allowed_origins : o == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", o))])
    error_message = "cors_allowed_origins entries are origins like https://app.example.com (scheme, host, optional port; no path), or \"*\"."
  }
}

variable "api_key_hashes" {
  description = "api_keys mode, alternative to api_clients for Resource Manager and scripts: the API_KEY_HASHES string (client:sha256hex,...) exactly as `make api-key` prints it. Clients listed here get the default limits; api_clients wins for a name in both."
  type        = string
  default     = ""
  validation {
    condition     = can(regex("^\\s*([A-Za-z0-9][A-Za-z0-9_.-]{0,55}:[0-9a-f]{64}\\s*(,\\s*[A-Za-z0-9][A-Za-z0-9_.-]{0,55}:[0-9a-f]{64}\\s*)*)?$", var.api_key_hashes))
    error_message = "api_key_hashes must be client:sha256hex entries separated by commas (client names at most 56 characters, lower-case hex of 64)."
  }
}

variable "usage_plans_enabled" {
  description = "api_keys mode: meter each client with its own usage plan keyed on the authorizer's answer (request.auth[client])."
  type        = bool
  default     = true
}

variable "health_rate_limit_per_second" {
  description = "Rate limit of the anonymous /health deployment, for all callers together (TOTAL): it invokes the function, so this caps what anonymous callers can make it run. Probes need little, and it must not share the clients' budget."
  type        = number
  default     = 1
  validation {
    condition     = var.health_rate_limit_per_second >= 1 && var.health_rate_limit_per_second <= 100 && floor(var.health_rate_limit_per_second) == var.health_rate_limit_per_second
    error_message = "health_rate_limit_per_second must be a whole number between 1 and 100."
  }
}

variable "authorizer_cache_seconds" {
  description = "api_keys mode: how long API Gateway may cache a successful key check (60-3600). This is also how long a removed key keeps working."
  type        = number
  default     = 300
  validation {
    condition     = var.authorizer_cache_seconds >= 60 && var.authorizer_cache_seconds <= 3600
    error_message = "authorizer_cache_seconds must be between 60 and 3600 (what API Gateway honours)."
  }
}

variable "jwt_issuers" {
  description = "jwt mode: accepted token issuers, e.g. [\"https://identity.oraclecloud.com/\"]."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for i in var.jwt_issuers : can(regex("^https://", i))])
    error_message = "jwt_issuers must be https URLs."
  }
}

variable "jwt_audiences" {
  description = "jwt mode: accepted audiences (aud claim), e.g. the primary audience of your identity-domain resource app."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for a in var.jwt_audiences : length(a) > 0])
    error_message = "jwt_audiences must not contain empty strings."
  }
}

variable "jwt_jwks_uri" {
  description = "jwt mode: JWKS URL of the identity domain, e.g. https://idcs-<id>.identity.oraclecloud.com/admin/v1/SigningCert/jwk (must be readable without authentication)."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.jwt_jwks_uri), "") == "" || can(regex("^https://", var.jwt_jwks_uri))
    error_message = "jwt_jwks_uri must be an https URL."
  }
}

variable "rate_limit_per_second" {
  description = "Gateway-wide rate limit in requests per second (rate_limit_key decides whether per client IP or in total)."
  type        = number
  default     = 20
  validation {
    condition     = var.rate_limit_per_second >= 1 && var.rate_limit_per_second <= 10000 && floor(var.rate_limit_per_second) == var.rate_limit_per_second
    error_message = "rate_limit_per_second must be a whole number between 1 and 10000."
  }
}

variable "rate_limit_key" {
  description = "TOTAL: one budget for the whole deployment (protects the Generative AI bill); CLIENT_IP: one budget per caller address."
  type        = string
  default     = "TOTAL"
  validation {
    condition     = contains(["TOTAL", "CLIENT_IP"], var.rate_limit_key)
    error_message = "rate_limit_key must be TOTAL or CLIENT_IP."
  }
}

# ---------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of the function invoke log and the gateway access and execution logs, in days."
  type        = number
  default     = 30
  validation {
    condition     = contains([30, 60, 90, 120, 150, 180], var.log_retention_days)
    error_message = "log_retention_days must be one of 30, 60, 90, 120, 150, 180."
  }
}

variable "execution_log_level" {
  description = "Level of the gateway execution log."
  type        = string
  default     = "WARN"
  validation {
    condition     = contains(["INFO", "WARN", "ERROR"], var.execution_log_level)
    error_message = "execution_log_level must be INFO, WARN or ERROR."
  }
}

# ---------------------------------------------------------------------------
# Alarms (alarms.tf, notifications.tf; docs/usage-and-alarms.md)
# ---------------------------------------------------------------------------

variable "alarms_enabled" {
  description = "Create the notification topic and the alarms on the function's and the gateway's service metrics (each also needs its threshold below)."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarms' topic (OCI mails a confirmation link first); empty: no subscription, add your own to the topic."
  type        = string
  default     = ""
  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address, or empty for no subscription."
  }
}

variable "alarm_function_errors_per_5m" {
  description = "Alarm (CRITICAL) when the function answers more than this many invocations with an error in 5 minutes (oci_faas FunctionResponseCount); null: no alarm."
  type        = number
  default     = 5
  validation {
    condition     = var.alarm_function_errors_per_5m == null || try(var.alarm_function_errors_per_5m >= 0 && floor(var.alarm_function_errors_per_5m) == var.alarm_function_errors_per_5m, false)
    error_message = "alarm_function_errors_per_5m must be a whole number >= 0, or null for no alarm."
  }
}

variable "alarm_function_timeouts" {
  description = "Alarm (CRITICAL) when a call runs to within 5% of the function's timeout, where the platform cuts it off (oci_faas FunctionExecutionDuration max)."
  type        = bool
  default     = true
}

variable "alarm_p95_latency_ms" {
  description = "Alarm (WARNING) when the function's p95 duration over 5 minutes is above this many milliseconds (oci_faas FunctionExecutionDuration); null: no alarm."
  type        = number
  default     = 60000
  validation {
    condition     = var.alarm_p95_latency_ms == null || try(var.alarm_p95_latency_ms >= 100 && var.alarm_p95_latency_ms <= 300000, false)
    error_message = "alarm_p95_latency_ms must be between 100 and 300000 (the longest function timeout), or null for no alarm."
  }
}

variable "alarm_gateway_5xx_per_5m" {
  description = "Alarm (CRITICAL) when the gateway answers more than this many requests with a 5xx in 5 minutes (oci_apigateway HttpResponses); null: no alarm."
  type        = number
  default     = 10
  validation {
    condition     = var.alarm_gateway_5xx_per_5m == null || try(var.alarm_gateway_5xx_per_5m >= 0 && floor(var.alarm_gateway_5xx_per_5m) == var.alarm_gateway_5xx_per_5m, false)
    error_message = "alarm_gateway_5xx_per_5m must be a whole number >= 0, or null for no alarm."
  }
}

variable "alarm_gateway_429_per_5m" {
  description = "Alarm (WARNING) when the gateway refuses more than this many requests with 429 (rate limit or quota) in 5 minutes (oci_apigateway HttpResponses); null: no alarm."
  type        = number
  default     = 50
  validation {
    condition     = var.alarm_gateway_429_per_5m == null || try(var.alarm_gateway_429_per_5m >= 0 && floor(var.alarm_gateway_429_per_5m) == var.alarm_gateway_429_per_5m, false)
    error_message = "alarm_gateway_429_per_5m must be a whole number >= 0, or null for no alarm."
  }
}

# ---------------------------------------------------------------------------
# Token metrics (usage_metrics.tf; docs/usage-and-alarms.md, "Token metrics")
# ---------------------------------------------------------------------------

variable "usage_metrics_enabled" {
  description = "Post token usage per client and model as OCI Monitoring custom metrics: a Connector Hub connector feeds the invoke log to the genai-usage-metrics function (usage_metrics/, deployed by make deploy), which posts them. Also enables each client's tokens_per_hour alarm. Nothing is added to the calls themselves."
  type        = bool
  default     = true
}

variable "usage_metrics_namespace" {
  description = "Monitoring namespace of the token metrics (USAGE_METRICS_NAMESPACE): lower-case letters, digits and '_', starting with a letter; the prefixes oci_ and oracle_ are Oracle's."
  type        = string
  default     = "genai_gateway"
  validation {
    # PostMetricData: a namespace starts with a letter, holds letters, digits and '_', and oci_ is reserved
    # (MetricDataDetails, https://docs.oracle.com/iaas/api/#/en/monitoring/20180401/datatypes/MetricDataDetails).
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.usage_metrics_namespace)) && !startswith(var.usage_metrics_namespace, "oci_") && !startswith(var.usage_metrics_namespace, "oracle_")
    error_message = "usage_metrics_namespace must be lower-case letters, digits or '_', starting with a letter, at most 255 characters, and not start with oci_ or oracle_."
  }
}

# ---------------------------------------------------------------------------
# Token limits and their store (cache.tf; docs/usage-and-alarms.md, "Token limits")
# The bounds are genai_fn/bounds.py's (tests/terraform/test_limit_bounds.py compares the values).
# ---------------------------------------------------------------------------

variable "default_tokens_per_minute" {
  description = "Tokens per minute each client may use when its entry names none (GENAI_TOKENS_PER_MINUTE); null: no such limit. Any limit set here or on a client creates the OCI Cache cluster the function counts on (terraform/cache.tf)."
  type        = number
  default     = null
  validation {
    condition     = var.default_tokens_per_minute == null || try(var.default_tokens_per_minute >= 1 && var.default_tokens_per_minute <= 10000000 && floor(var.default_tokens_per_minute) == var.default_tokens_per_minute, false)
    error_message = "default_tokens_per_minute must be a whole number from 1 to 10000000, or null for none."
  }
}

variable "default_token_quota" {
  description = "Tokens each client may use per default_token_quota_period when its entry names no token_quota (GENAI_TOKEN_QUOTA); null: no quota."
  type        = number
  default     = null
  validation {
    condition     = var.default_token_quota == null || try(var.default_token_quota >= 1 && var.default_token_quota <= 1000000000000 && floor(var.default_token_quota) == var.default_token_quota, false)
    error_message = "default_token_quota must be a whole number from 1 to 1000000000000, or null for none."
  }
}

variable "default_token_quota_period" {
  description = "Period of default_token_quota (GENAI_TOKEN_QUOTA_PERIOD): hour, day, week or month; set exactly when default_token_quota is."
  type        = string
  default     = null
  validation {
    condition     = try(trimspace(var.default_token_quota_period), "") == "" || contains(["hour", "day", "week", "month"], try(trimspace(var.default_token_quota_period), ""))
    error_message = "default_token_quota_period must be hour, day, week or month, or null for none."
  }
}

variable "limit_failure_mode" {
  description = "What the function does with a limited call when the store cannot answer (GENAI_LIMIT_FAILURE_MODE): open serves it uncounted (and the limit-store alarm fires), closed refuses it with 502 limit_store_unavailable."
  type        = string
  default     = "open"
  validation {
    condition     = contains(["open", "closed"], var.limit_failure_mode)
    error_message = "limit_failure_mode must be open or closed."
  }
}

variable "limit_store_timeout_ms" {
  description = "How long the function waits for the store on a call, in milliseconds (GENAI_LIMIT_STORE_TIMEOUT_MS), before limit_failure_mode applies."
  type        = number
  default     = 250
  validation {
    condition     = var.limit_store_timeout_ms >= 10 && var.limit_store_timeout_ms <= 5000 && floor(var.limit_store_timeout_ms) == var.limit_store_timeout_ms
    error_message = "limit_store_timeout_ms must be a whole number from 10 to 5000."
  }
}

variable "limit_store_node_count" {
  description = "Nodes of the OCI Cache cluster (1 primary, the rest replicas; 1-5 for a non-sharded cluster). 1 is the cheapest; Oracle recommends 3 for reliability (https://docs.oracle.com/en-us/iaas/Content/ocicache/resizeclusternodes.htm)."
  type        = number
  default     = 1
  validation {
    condition     = var.limit_store_node_count >= 1 && var.limit_store_node_count <= 5 && floor(var.limit_store_node_count) == var.limit_store_node_count
    error_message = "limit_store_node_count must be a whole number from 1 to 5 (a non-sharded OCI Cache cluster)."
  }
}

variable "limit_store_node_memory_gbs" {
  description = "Memory of each OCI Cache node in GB, 2 (the least) to 500 (https://docs.oracle.com/en-us/iaas/Content/ocicache/resizeclustermemory.htm). The counters are two small keys per limited client (its minute and its quota window)."
  type        = number
  default     = 2
  validation {
    condition     = var.limit_store_node_memory_gbs >= 2 && var.limit_store_node_memory_gbs <= 500
    error_message = "limit_store_node_memory_gbs must be between 2 and 500."
  }
}

variable "limit_store_software_version" {
  description = "Engine of the OCI Cache cluster: VALKEY_7_2 or REDIS_7_0 (https://docs.oracle.com/en-us/iaas/Content/ocicache/overview.htm, \"OCI Cache Engine Version\")."
  type        = string
  default     = "VALKEY_7_2"
  validation {
    condition     = contains(["VALKEY_7_2", "REDIS_7_0"], var.limit_store_software_version)
    error_message = "limit_store_software_version must be VALKEY_7_2 or REDIS_7_0."
  }
}
