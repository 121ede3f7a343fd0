# One public gateway and two deployments, created once the functions exist
# (functions_deployed = true), because every route needs a function OCID:
#   <path_prefix>         every route of routes.json's "authenticated" list:
#                         authorizer (or JWT), per-client usage plans, a
#                         deployment-wide rate limit
#   <path_prefix>-health  GET /health, anonymous, its own small TOTAL
#                         rate limit (a rate limit is per deployment, and a
#                         deployment in a usage plan only forwards requests
#                         that carry a subscribed client token)
# Every route drops the client's Authorization header before the backend: the
# key has been checked by then and the function has no use for it.
# An ORACLE_FUNCTIONS_BACKEND takes only a function OCID (no gateway-side
# timeouts): the function's own timeout from func.yaml bounds each call.
# Attribute names: provider v8.28.0, internal/service/apigateway/
# apigateway_deployment_resource.go (terraform validate runs against it in make test).

locals {
  deploy_api      = var.functions_deployed
  use_usage_plans = var.auth_mode == "api_keys" && var.usage_plans_enabled
  health_prefix   = "${var.path_prefix}-health"
  api_routes      = jsondecode(file("${path.module}/routes.json"))
}

resource "oci_apigateway_gateway" "this" {
  compartment_id = var.compartment_ocid
  endpoint_type  = "PUBLIC"
  subnet_id      = local.gateway_subnet_id
  display_name   = "${var.name}-gateway"
  freeform_tags  = local.tags

  # Here, not only on the application: without it the provider stops first
  # with "subnet_id is required", which does not say which setting is missing.
  lifecycle {
    precondition {
      condition     = var.create_network || local.existing_gateway_subnet_ocid != null
      error_message = "create_network is false: set existing_gateway_subnet_ocid (the public subnet of the API gateway)."
    }
  }
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
      error_message = "No ACTIVE function '${local.function_name}' in application ${local.application_name}: run `fn deploy --app ${local.application_name}` at the repository root first, or set functions_deployed = false."
    }
    precondition {
      condition     = var.auth_mode != "api_keys" || local.authorizer_function_id != null
      error_message = "No ACTIVE function '${local.authorizer_function_name}' in application ${local.application_name}: run `fn deploy --app ${local.application_name}` in authorizer/ first."
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
          # /health lives in its own deployment: nothing here is anonymous.
          is_anonymous_access_allowed = false
          parameters = {
            authorization = "request.headers[Authorization]"
          }
          # The gateway caches the authorizer's answer per distinct header value.
          cache_key = ["authorization"]
          # Its own 401 as a message an OpenAI SDK shows (openai-node otherwise says "401 status
          # code (no body)"); shared with the local gateway: terraform/gateway.json. Neither
          # Content-Type nor WWW-Authenticate is among the response headers a transformation may
          # not set ("Protected Request Headers and Response Headers",
          # https://docs.oracle.com/en-us/iaas/Content/APIGateway/Tasks/apigatewaymodifyingresponsesrequests-protectedrequestresponseheaders.htm).
          validation_failure_policy {
            type             = "MODIFY_RESPONSE"
            response_code    = tostring(local.unauthorized.status)
            response_message = local.unauthorized.message
            response_header_transformations {
              set_headers {
                dynamic "items" {
                  for_each = local.unauthorized.headers
                  content {
                    name      = items.key
                    values    = [items.value]
                    if_exists = "OVERWRITE"
                  }
                }
              }
            }
          }
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
          is_anonymous_access_allowed = false
          public_keys {
            type                        = "REMOTE_JWKS"
            uri                         = local.jwt_jwks_uri
            max_cache_duration_in_hours = 1
          }
        }
      }

      # Browsers on the listed origins (terraform/clients.tf, docs/clients.md); none: no CORS policy.
      dynamic "cors" {
        for_each = length(var.cors_allowed_origins) > 0 ? [1] : []
        content {
          allowed_origins = var.cors_allowed_origins
          allowed_methods = local.cors.allowed_methods
          allowed_headers = local.cors.allowed_headers
          exposed_headers = local.cors.exposed_headers
          # Bearer tokens, not cookies: no credentialed requests.
          is_allow_credentials_enabled = false
          max_age_in_seconds           = local.cors.max_age_in_seconds
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

    dynamic "routes" {
      for_each = local.api_routes.authenticated
      content {
        path    = routes.value.path
        methods = routes.value.methods
        backend {
          type        = "ORACLE_FUNCTIONS_BACKEND"
          function_id = local.function_id
        }
        request_policies {
          authorization {
            type = "AUTHENTICATION_ONLY"
          }
          # "Adding Header Transformation Request Policies":
          # https://docs.oracle.com/iaas/Content/APIGateway/Tasks/apigatewayheadertransformations.htm
          header_transformations {
            filter_headers {
              type = "BLOCK"
              items {
                name = "Authorization"
              }
            }
            # Who called, from authentication, over whatever a client sent (terraform/clients.tf).
            set_headers {
              items {
                name      = local.client_header
                values    = [local.client_header_value]
                if_exists = "OVERWRITE"
              }
            }
          }
        }
      }
    }
  }
}

# Anonymous liveness probe, separate from the metered API.
resource "oci_apigateway_deployment" "health" {
  count          = local.deploy_api ? 1 : 0
  compartment_id = var.compartment_ocid
  gateway_id     = oci_apigateway_gateway.this.id
  path_prefix    = local.health_prefix
  display_name   = "${var.name}-health"
  freeform_tags  = local.tags

  lifecycle {
    precondition {
      condition     = local.function_id != null
      error_message = "No ACTIVE function '${local.function_name}' in application ${local.application_name}: run fn deploy first."
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
      # Anonymous, and it invokes the function: the limit is TOTAL, one budget
      # for every caller together, so however many addresses call it the
      # function runs at most health_rate_limit_per_second times a second for
      # it (86,400 invocations a day at the default 1). Per CLIENT_IP, each new
      # address would bring its own budget. The function is kept behind it
      # (not a STOCK_RESPONSE backend) because /health is what says the
      # gateway can run the function and its configuration loads (ops/smoke.py
      # starts with it). rate_key values: CLIENT_IP, TOTAL (oci-go-sdk
      # apigateway RateLimitingPolicy). Probes need little, and must not spend
      # the clients' budget.
      rate_limiting {
        rate_in_requests_per_second = var.health_rate_limit_per_second
        rate_key                    = "TOTAL"
      }
    }

    dynamic "routes" {
      for_each = local.api_routes.anonymous
      content {
        path    = routes.value.path
        methods = routes.value.methods
        backend {
          type        = "ORACLE_FUNCTIONS_BACKEND"
          function_id = local.function_id
        }
        request_policies {
          header_transformations {
            filter_headers {
              type = "BLOCK"
              items {
                name = "Authorization"
              }
              # No authentication here: a client header is never the gateway's.
              items {
                name = local.client_header
              }
            }
          }
        }
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

  # The token is what the authorizer returns as request.auth[client]
  # ("<stack_id>.<client>", unique in the tenancy), used for metering only;
  # authentication already happened in the authorizer.
  clients {
    name  = each.key
    token = local.client_tokens[each.key]
  }
}
