# deploy_usage: fn finds --app by name in the context's compartment only, and
# the usage-metrics application is in a compartment of its own
# (usage_metrics.tf), so the context visits it and comes back.
locals {
  gateway_url    = "https://${oci_apigateway_gateway.this.hostname}${var.path_prefix}"
  health_url     = "https://${oci_apigateway_gateway.this.hostname}${local.health_prefix}/health"
  functions_api  = "https://functions.${var.region}.oci.${var.realm_domain}"
  fn_context     = "${var.name}-${var.region}"
  auth_header    = var.auth_mode == "api_keys" ? "Authorization: Bearer $GENAI_API_KEY" : "Authorization: Bearer $GENAI_JWT"
  deploy_authz   = var.auth_mode == "api_keys" ? "(cd authorizer && fn deploy --app ${local.application_name} --no-bump)\n" : ""
  deploy_usage   = var.usage_metrics_enabled ? "fn update context oracle.compartment-id ${local.usage_metrics_compartment_id}\n(cd usage_metrics && fn deploy --app ${local.usage_metrics_application_name} --no-bump)\nfn update context oracle.compartment-id ${var.compartment_ocid}\n" : ""
  phase2_pending = !var.functions_deployed
  fn_profile     = local.oci_config_profile == null ? "" : "fn update context oracle.profile ${local.oci_config_profile}\n"
  # Every command printed here runs from the repository root (func.yaml is
  # there, authorizer/ and usage_metrics/ below it, terraform/ beside them).
  at_repo_root = "test -f func.yaml -a -d authorizer -a -d terraform || { echo 'Run this from the repository root (where func.yaml is).' >&2; exit 1; }"
  tf_output    = "terraform -chdir=terraform output -raw"
}

output "application_name" {
  description = "Functions application that fn deploys into."
  value       = local.application_name
}

output "application_ocid" {
  description = "OCID of the Functions application."
  value       = oci_functions_application.this.id
}

output "ocir_repositories" {
  description = "OCIR repositories (created in the stack's compartment) that fn pushes the images to."
  value       = { for name, repo in oci_artifacts_container_repository.functions : name => "${local.ocir_host}/${local.ocir_namespace}/${repo.display_name}" }
}

output "fn_setup_and_deploy" {
  description = "Commands that point the fn CLI at this application and deploy the functions; they refuse to run outside the repository root. `make deploy` runs the same steps."
  value       = <<-EOT
    ${local.at_repo_root}
    fn create context ${local.fn_context} --provider oracle || true
    fn use context ${local.fn_context}
    ${local.fn_profile}fn update context oracle.compartment-id ${var.compartment_ocid}
    fn update context api-url ${local.functions_api}
    fn update context registry ${local.ocir_registry}
    docker login ${local.ocir_host}   # user: ${local.ocir_namespace}/<username or identity-domain/username>, password: an auth token
    fn deploy --app ${local.application_name} --no-bump
    ${local.deploy_authz}${local.deploy_usage}
  EOT
}

output "genai_project_ocid" {
  description = "OCID of the Generative AI project (the function's GENAI_PROJECT_OCID)."
  value       = oci_generative_ai_project.this.id
}

output "dynamic_group_matching_rule" {
  description = "Current matching rule of the function's dynamic group (by compartment before phase 2, by function OCID after)."
  value       = oci_identity_dynamic_group.functions.matching_rule
}

output "gateway_url" {
  description = "Base URL of the API deployment."
  value       = local.gateway_url
}

output "openai_base_url" {
  description = "base_url for any OpenAI SDK (api_key = your gateway key or JWT)."
  value       = "${local.gateway_url}/v1"
}

output "health_url" {
  description = "Anonymous liveness URL."
  value       = local.health_url
}

output "curl_example" {
  description = "A first request through the gateway."
  value       = <<-EOT
    curl -sS ${local.gateway_url}/v1/responses \
      -H "${local.auth_header}" -H 'Content-Type: application/json' \
      -d '{"model": "${var.genai_default_model}", "input": "Say hello in one word."}'
  EOT
}

output "wait_for_iam" {
  description = "IAM changes take effect within minutes and the function's resource-principal token is cached for about 15 minutes: this polls until a real request succeeds, and exits 1 (saying so) if it never does within 20 minutes."
  value       = <<-EOT
    ok=""
    for i in $(seq 1 40); do
      code=$(curl -s -o /dev/null -w '%%{http_code}' ${local.gateway_url}/v1/responses \
        -H "${local.auth_header}" -H 'Content-Type: application/json' \
        -d '{"model": "${var.genai_default_model}", "input": "ping", "max_output_tokens": 16}')
      [ "$code" = 200 ] && ok=1 && echo ready && break
      echo "HTTP $code: IAM not effective yet, retrying in 30 s ($i/40)"; sleep 30
    done
    [ -n "$ok" ] || { echo "IAM still refuses after 40 tries (20 minutes): run make smoke URL=${local.gateway_url} KEY=... to see which statement is missing." >&2; exit 1; }
  EOT
}

output "next_step" {
  description = "What to do now."
  value = local.phase2_pending ? join("\n", [
    "Phase 1 done. From the repository root: bash -c \"$(${local.tf_output} fn_setup_and_deploy)\"",
    "then set functions_deployed = true in terraform/terraform.tfvars (keep it there: a later apply without it deletes the API deployment) and run terraform -chdir=terraform apply.",
    "Or all of it: make deploy",
    ]) : join("\n", [
    "Phase 2 done. Wait for IAM: bash -c \"$(${local.tf_output} wait_for_iam)\"",
    "then: make smoke URL=$(${local.tf_output} gateway_url) KEY=$GENAI_API_KEY",
  ])
}

output "deploy_settings" {
  description = "What ops/deploy.py needs to deploy the functions and check the result (no secrets)."
  value = {
    application_name   = local.application_name
    fn_context         = local.fn_context
    functions_api_url  = local.functions_api
    compartment_ocid   = var.compartment_ocid
    oci_config_profile = local.oci_config_profile
    ocir_host          = local.ocir_host
    ocir_namespace     = local.ocir_namespace
    ocir_registry      = local.ocir_registry
    function_names     = local.function_names
    # The application fn deploy puts each function in (usage_metrics.tf: the usage-metrics one has its own).
    function_apps       = { for name in local.function_names : name => name == local.usage_metrics_function_name ? local.usage_metrics_application_name : local.application_name }
    gateway_url         = local.gateway_url
    health_url          = local.health_url
    genai_region        = local.genai_region
    genai_project_ocid  = oci_generative_ai_project.this.id
    default_model       = var.genai_default_model
    dynamic_group_name  = local.dynamic_group_name
    genai_function_verb = var.genai_function_verb
    # Every statement granted to the function, as applied: what `make deploy`
    # prints when IAM still refuses once propagation is over.
    function_statements = concat(
      local.rendered_policies["genai-function"],
      var.grant_genai_response_statements ? local.rendered_policies["genai-responses"] : [],
      var.grant_genai_store_permissions ? local.rendered_policies["genai-stores"] : [],
      local.limits_on ? local.rendered_policies["limit-store"] : [],
    )
    functions_deployed = var.functions_deployed

    # The compartment of each function's application (ops/deploy.py points the
    # fn context there: the usage-metrics one has its own, usage_metrics.tf).
    function_compartments = { for name in local.function_names : name => name == local.usage_metrics_function_name ? local.usage_metrics_compartment_id : var.compartment_ocid }
  }
}

output "usage_metrics" {
  description = "Token metrics (docs/usage-and-alarms.md): where they are posted, the connector feeding them (null before phase 2) and the compartment holding it, the metrics application and its function (fn_compartment); null when usage_metrics_enabled is false."
  value = var.usage_metrics_enabled ? {
    namespace      = var.usage_metrics_namespace
    compartment_id = var.compartment_ocid
    connector_id   = one(oci_sch_service_connector.usage_metrics[*].id)
    fn_compartment = local.usage_metrics_compartment_id
    budget_alarms  = { for name, a in oci_monitoring_alarm.client_budget : name => a.id }
  } : null
}

# Phase 1 leaves no API behind, and in Resource Manager nothing else says so:
# this check turns into a warning on every plan and apply of phase 1 (a
# warning, not an error: phase 1 is a correct state, only an unfinished one).
# While it shows, the dynamic group matches every function in the
# compartment (SECURITY.md, "Phase 1").
check "deployment_phase" {
  assert {
    condition     = var.functions_deployed
    error_message = "PHASE 1 OF 2: no API is deployed yet and the dynamic group still matches every function in the compartment. Deploy the functions (fn deploy, see output fn_setup_and_deploy), then set functions_deployed = true and apply again (Resource Manager: Edit stack > functions_deployed, then Apply)."
  }
}

output "usage_log" {
  description = "What make usage (ops/usage.py) searches with Logging's search API: the function invoke log's scope (<compartment>/<log group>/<log>), its region, and your OCI config profile."
  value = {
    search_scope = "${var.compartment_ocid}/${oci_logging_log_group.this.id}/${oci_logging_log.function_invoke.id}"
    region       = var.region
    profile      = local.oci_config_profile
  }
}

output "limit_store" {
  description = "Token limits' store (terraform/cache.tf, docs/usage-and-alarms.md): the OCI Cache cluster, its endpoint and the function's cache user; null when no token limit is set."
  value = local.limits_on ? {
    cluster_id = one(oci_redis_redis_cluster.limits[*].id)
    endpoint   = local.limit_store_config["GENAI_LIMIT_STORE"]
    user_name  = local.limit_store_user_name
    user_id    = one(oci_redis_oci_cache_user.limits[*].id)
    acl        = local.limit_store_acl
  } : null
}
