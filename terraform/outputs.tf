locals {
  gateway_url    = "https://${oci_apigateway_gateway.this.hostname}${var.path_prefix}"
  health_url     = "https://${oci_apigateway_gateway.this.hostname}${local.health_prefix}/health"
  functions_api  = "https://functions.${var.region}.oci.${var.realm_domain}"
  fn_context     = "${var.name}-${var.region}"
  auth_header    = var.auth_mode == "api_keys" ? "Authorization: Bearer $GENAI_API_KEY" : "Authorization: Bearer $GENAI_JWT"
  deploy_authz   = var.auth_mode == "api_keys" ? "(cd authorizer && fn deploy --app ${local.application_name})\n" : ""
  phase2_pending = !var.functions_deployed
  fn_profile     = var.oci_config_profile == null ? "" : "fn update context oracle.profile ${var.oci_config_profile}\n"
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
  value       = { for name, repo in oci_artifacts_container_repository.functions : name => "${local.region_key}.ocir.io/${local.ocir_namespace}/${repo.display_name}" }
}

output "fn_setup_and_deploy" {
  description = "Commands that point the fn CLI at this application and deploy the functions (run from the repository root)."
  value       = <<-EOT
    fn create context ${local.fn_context} --provider oracle || true
    fn use context ${local.fn_context}
    ${local.fn_profile}fn update context oracle.compartment-id ${var.compartment_ocid}
    fn update context api-url ${local.functions_api}
    fn update context registry ${local.ocir_registry}
    docker login ${local.region_key}.ocir.io   # user: ${local.ocir_namespace}/<username or identity-domain/username>, password: an auth token
    fn deploy --app ${local.application_name}
    ${local.deploy_authz}
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
  description = "IAM changes take effect within minutes and the function's resource-principal token is cached for about 15 minutes: this polls until a real request succeeds (or gives up after 20 minutes)."
  value       = <<-EOT
    for i in $(seq 1 40); do
      code=$(curl -s -o /dev/null -w '%%{http_code}' ${local.gateway_url}/v1/responses \
        -H "${local.auth_header}" -H 'Content-Type: application/json' \
        -d '{"model": "${var.genai_default_model}", "input": "ping", "max_output_tokens": 16}')
      [ "$code" = 200 ] && echo ready && break
      echo "HTTP $code: IAM not effective yet, retrying in 30 s ($i/40)"; sleep 30
    done
  EOT
}

output "next_step" {
  description = "What to do now."
  value = local.phase2_pending ? join("\n", [
    "Phase 1 done. Deploy the functions (terraform output -raw fn_setup_and_deploy), then:",
    "  terraform apply -var functions_deployed=true   (or set functions_deployed = true in terraform.tfvars)",
    ]) : join("\n", [
    "Phase 2 done. Wait for IAM (terraform output -raw wait_for_iam | bash), then:",
    "  terraform output -raw curl_example",
  ])
}
