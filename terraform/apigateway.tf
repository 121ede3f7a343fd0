# One public gateway; its deployment exists only once the functions do
# (functions_deployed = true), because every route needs a function OCID.
#
# Routes (relative to path_prefix), all ORACLE_FUNCTIONS_BACKEND to the main function:
#   POST /v1/responses, GET|DELETE /v1/responses/{id}, POST /   -> authenticated
#   GET /health                                                 -> anonymous
# An ORACLE_FUNCTIONS_BACKEND takes only a function OCID (no gateway-side
# timeouts): the function's own timeout from func.yaml bounds each call.

locals {
  deploy_api      = var.functions_deployed
  use_usage_plans = var.auth_mode == "api_keys" && var.usage_plans_enabled
  # A deployment in a usage plan only forwards requests that carry a subscribed
  # client token, which an anonymous /health probe cannot: it then gets its own
  # small deployment instead.
  health_in_main = !local.use_usage_plans
  health_prefix  = local.health_in_main ? var.path_prefix : "${var.path_prefix}-health"
}

resource "oci_apigateway_gateway" "this" {
  compartment_id = var.compartment_ocid
  endpoint_type  = "PUBLIC"
  subnet_id      = local.gateway_subnet_id
  display_name   = "${var.name}-gateway"
  freeform_tags  = local.tags
}

resource "oci_apigateway_deployment" "api" {
  count          = local.deploy_api ? 1 : 0
  compartment_id = var.compartment_ocid
  gateway_id     = oci_apigateway_gateway.this.id
  path_prefix    = var.path_prefix
  display_name   = "${var.name}-api"
  freeform_tags  = local.tags

  lifecycle {
    precondition {
      condition     = local.function_id != null
      error_message = "No ACTIVE function '${var.function_name}' in application ${local.application_name}: run `fn deploy --app ${local.application_name}` at the repository root first, or set functions_deployed = false."
    }
    precondition {
      condition     = var.auth_mode != "api_keys" || local.authorizer_function_id != null
      error_message = "No ACTIVE function '${var.authorizer_function_name}' in application ${local.application_name}: run `fn deploy --app ${local.application_name}` in authorizer/ first."
    }
    precondition {
      condition     = var.auth_mode != "api_keys" || length(local.api_clients) > 0
      error_message = "auth_mode is api_keys but no client is configured: create a key with `make api-key NAME=<client>` and add its hash line to api_clients (or api_key_hashes)."
    }
    precondition {
      condition     = var.auth_mode != "jwt" || (var.jwt_jwks_uri != null && length(var.jwt_issuers) > 0 && length(var.jwt_audiences) > 0)
      error_message = "auth_mode is jwt: set jwt_jwks_uri, jwt_issuers and jwt_audiences."
    }
  }

  specification {
    logging_policies {
      access_log {
        is_enabled = true
      }
      execution_log {
        is_enabled = true
        log_level  = var.execution_log_level
      }
    }

    request_policies {
      # api_keys: the authorizer function checks "Authorization: Bearer <key>"
      # (multi-argument form) and returns the client name in request.auth[client].
      dynamic "authentication" {
        for_each = var.auth_mode == "api_keys" ? [1] : []
        content {
          type        = "CUSTOM_AUTHENTICATION"
          function_id = local.authorizer_function_id
          # Only /health may opt out, and only when it lives in this deployment.
          is_anonymous_access_allowed = local.health_in_main
          parameters = {
            authorization = "request.headers[Authorization]"
          }
          # The gateway caches the authorizer's answer per distinct header value.
          cache_key = ["authorization"]
        }
      }

      # jwt: the gateway itself validates tokens of an OCI IAM identity domain.
      dynamic "authentication" {
        for_each = var.auth_mode == "jwt" ? [1] : []
        content {
          type                        = "JWT_AUTHENTICATION"
          token_header                = "Authorization"
          token_auth_scheme           = "Bearer"
          issuers                     = var.jwt_issuers
          audiences                   = var.jwt_audiences
          max_clock_skew_in_seconds   = 60
          is_anonymous_access_allowed = local.health_in_main
          public_keys {
            type                        = "REMOTE_JWKS"
            uri                         = var.jwt_jwks_uri
            max_cache_duration_in_hours = 1
          }
        }
      }

      # A ceiling for the whole deployment on top of the per-client plans.
      rate_limiting {
        rate_in_requests_per_second = var.rate_limit_per_second
        rate_key                    = var.rate_limit_key
      }

      dynamic "usage_plans" {
        for_each = local.use_usage_plans ? [1] : []
        content {
          token_locations = ["request.auth[client]"]
        }
      }
    }

    routes {
      path    = "/v1/responses"
      methods = ["POST"]
      backend {
        type        = "ORACLE_FUNCTIONS_BACKEND"
        function_id = local.function_id
      }
      request_policies {
        authorization {
          type = "AUTHENTICATION_ONLY"
        }
      }
    }

    routes {
      path    = "/v1/responses/{id}"
      methods = ["GET", "DELETE"]
      backend {
        type        = "ORACLE_FUNCTIONS_BACKEND"
        function_id = local.function_id
      }
      request_policies {
        authorization {
          type = "AUTHENTICATION_ONLY"
        }
      }
    }

    routes {
      path    = "/"
      methods = ["POST"]
      backend {
        type        = "ORACLE_FUNCTIONS_BACKEND"
        function_id = local.function_id
      }
      request_policies {
        authorization {
          type = "AUTHENTICATION_ONLY"
        }
      }
    }

    dynamic "routes" {
      for_each = local.health_in_main ? [1] : []
      content {
        path    = "/health"
        methods = ["GET"]
        backend {
          type        = "ORACLE_FUNCTIONS_BACKEND"
          function_id = local.function_id
        }
        request_policies {
          authorization {
            type = "ANONYMOUS"
          }
        }
      }
    }
  }
}

# Anonymous liveness probe, separate from the metered API (see health_in_main).
resource "oci_apigateway_deployment" "health" {
  count          = local.deploy_api && !local.health_in_main ? 1 : 0
  compartment_id = var.compartment_ocid
  gateway_id     = oci_apigateway_gateway.this.id
  path_prefix    = local.health_prefix
  display_name   = "${var.name}-health"
  freeform_tags  = local.tags

  lifecycle {
    precondition {
      condition     = local.function_id != null
      error_message = "No ACTIVE function '${var.function_name}' in application ${local.application_name}: run fn deploy first."
    }
  }

  specification {
    logging_policies {
      access_log {
        is_enabled = true
      }
      execution_log {
        is_enabled = true
        log_level  = var.execution_log_level
      }
    }

    request_policies {
      # Probes need little: one budget per caller address.
      rate_limiting {
        rate_in_requests_per_second = 2
        rate_key                    = "CLIENT_IP"
      }
    }

    routes {
      path    = "/health"
      methods = ["GET"]
      backend {
        type        = "ORACLE_FUNCTIONS_BACKEND"
        function_id = local.function_id
      }
    }
  }
}

# One usage plan per client, keyed on the authorizer's answer
# (request.auth[client]), so one leaked or greedy key exhausts only its own budget.
resource "oci_apigateway_usage_plan" "client" {
  for_each       = local.deploy_api && local.use_usage_plans ? local.api_clients : {}
  compartment_id = var.compartment_ocid
  display_name   = "${var.name}-${each.key}"
  freeform_tags  = local.tags

  entitlements {
    name        = each.key
    description = "Budget of API client ${each.key}"
    rate_limit {
      unit  = "SECOND"
      value = each.value.rate_limit_per_second
    }
    quota {
      unit                = each.value.quota_unit
      value               = each.value.quota
      reset_policy        = "CALENDAR"
      operation_on_breach = "REJECT"
    }
    targets {
      deployment_id = oci_apigateway_deployment.api[0].id
    }
  }
}

resource "oci_apigateway_subscriber" "client" {
  for_each       = oci_apigateway_usage_plan.client
  compartment_id = var.compartment_ocid
  display_name   = "${var.name}-${each.key}"
  usage_plans    = [each.value.id]
  freeform_tags  = local.tags

  # The "token" is the client name the authorizer returns, used for metering
  # only; authentication already happened in the authorizer.
  clients {
    name  = each.key
    token = each.key
  }
}
