# Token limits and their store (terraform/cache.tf): with no limit nothing of
# it exists and the function gets no GENAI_LIMIT_* setting; with a client's
# limit or a default, the OCI Cache cluster, its two NSGs and their rules, the
# IAM cache user with its ACL, the attach, the function's IAM statements, the
# fail-open connector and alarm, and the settings the function gets, exactly.
# Providers mocked as in phases.tftest.hcl; phase 2 throughout (the phase-1
# warning is phases.tftest.hcl's).

mock_provider "oci" {
  source = "./tests/mocks"
}
mock_provider "oci" {
  alias  = "home"
  source = "./tests/mocks"
}
mock_provider "oci" {
  alias  = "genai"
  source = "./tests/mocks"
}
mock_provider "oci" {
  alias  = "fallback"
  source = "./tests/mocks"
}

# What OCI answers for the cluster and the user (computed attributes).
override_resource {
  target = oci_redis_redis_cluster.limits
  values = {
    id           = "ocid1.rediscluster.oc1.us-chicago-1.limits"
    primary_fqdn = "aaaalimits-p.redis.us-chicago-1.oci.oraclecloud.com"
  }
}
override_resource {
  target = oci_redis_oci_cache_user.limits
  values = { id = "ocid1.ocicacheuser.oc1.us-chicago-1.limits" }
}

variables {
  tenancy_ocid       = "ocid1.tenancy.oc1..aaaatenancy"
  region             = "us-chicago-1"
  compartment_ocid   = "ocid1.compartment.oc1..aaaacompartment"
  functions_deployed = true
  alarm_email        = "ops@example.com"
  api_clients = {
    alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] }
    bob   = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], tokens_per_hour = 5000 }
  }
}

run "no_limit_no_store" {
  command = apply

  assert {
    condition = (
      length(oci_redis_redis_cluster.limits) == 0 && length(oci_redis_oci_cache_user.limits) == 0 &&
      length(oci_redis_redis_cluster_attach_oci_cache_user.limits) == 0 &&
      length(oci_core_network_security_group.limit_store) == 0 && length(oci_core_network_security_group.limit_store_clients) == 0 &&
      length(oci_core_network_security_group_security_rule.limit_store_in) == 0 && length(oci_core_network_security_group_security_rule.limit_store_out) == 0 &&
      length(oci_identity_policy.limit_store) == 0 && length(oci_identity_policy.limit_alarm_connector) == 0 &&
      length(oci_sch_service_connector.limit_fail_open) == 0 && length(oci_monitoring_alarm.limit_fail_open) == 0
    )
    error_message = "No token limit (tokens_per_hour is a budget, not a limit): no cache resource at all."
  }
  assert {
    condition     = length([for k in keys(oci_functions_application.this.config) : k if startswith(k, "GENAI_LIMIT_") || startswith(k, "GENAI_TOKEN")]) == 0
    error_message = "No GENAI_LIMIT_* or GENAI_TOKEN* setting reaches the function."
  }
  assert {
    condition     = length(oci_functions_application.this.network_security_group_ids) == 0 && output.limit_store == null
    error_message = "The application gets no NSG, and the output says there is no store."
  }
  assert {
    condition     = jsonencode(output.deploy_settings.function_statements) == jsonencode(concat(oci_identity_policy.genai_function.statements, oci_identity_policy.genai_responses[0].statements))
    error_message = "make deploy is told of no cache statement."
  }
}

run "a_client_limit_creates_the_store" {
  command = apply
  variables {
    api_clients = {
      alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], tokens_per_minute = 20000, token_quota = 1000000, token_quota_period = "day" }
      bob   = { key_hashes = ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], tokens_per_hour = 5000 }
    }
  }

  # The cluster: the smallest, non-sharded (the limits count with a Lua script), in the functions' subnet, behind its NSG.
  assert {
    condition = (
      oci_redis_redis_cluster.limits[0].node_count == 1 &&
      oci_redis_redis_cluster.limits[0].node_memory_in_gbs == 2 &&
      oci_redis_redis_cluster.limits[0].software_version == "VALKEY_7_2" &&
      oci_redis_redis_cluster.limits[0].cluster_mode == "NONSHARDED" &&
      oci_redis_redis_cluster.limits[0].compartment_id == var.compartment_ocid &&
      oci_redis_redis_cluster.limits[0].subnet_id == oci_core_subnet.functions[0].id &&
      oci_redis_redis_cluster.limits[0].nsg_ids == toset([oci_core_network_security_group.limit_store[0].id])
    )
    error_message = "One 2 GB Valkey node, non-sharded, in the functions' private subnet, behind the store's NSG only."
  }
  # The network: 6379 from the function's NSG to the cluster's, nothing else.
  assert {
    condition = (
      oci_core_network_security_group.limit_store[0].vcn_id == oci_core_vcn.this[0].id &&
      oci_core_network_security_group.limit_store_clients[0].vcn_id == oci_core_vcn.this[0].id &&
      oci_functions_application.this.network_security_group_ids == toset([oci_core_network_security_group.limit_store_clients[0].id])
    )
    error_message = "Both NSGs are in the functions' VCN; the main application carries the clients' NSG."
  }
  assert {
    condition = (
      oci_core_network_security_group_security_rule.limit_store_in[0].network_security_group_id == oci_core_network_security_group.limit_store[0].id &&
      oci_core_network_security_group_security_rule.limit_store_in[0].direction == "INGRESS" &&
      oci_core_network_security_group_security_rule.limit_store_in[0].protocol == "6" &&
      oci_core_network_security_group_security_rule.limit_store_in[0].source_type == "NETWORK_SECURITY_GROUP" &&
      oci_core_network_security_group_security_rule.limit_store_in[0].source == oci_core_network_security_group.limit_store_clients[0].id &&
      oci_core_network_security_group_security_rule.limit_store_in[0].stateless == false &&
      oci_core_network_security_group_security_rule.limit_store_in[0].tcp_options[0].destination_port_range[0].min == 6379 &&
      oci_core_network_security_group_security_rule.limit_store_in[0].tcp_options[0].destination_port_range[0].max == 6379
    )
    error_message = "The cluster's NSG lets in TCP 6379 from the function's NSG only."
  }
  assert {
    condition = (
      oci_core_network_security_group_security_rule.limit_store_out[0].network_security_group_id == oci_core_network_security_group.limit_store_clients[0].id &&
      oci_core_network_security_group_security_rule.limit_store_out[0].direction == "EGRESS" &&
      oci_core_network_security_group_security_rule.limit_store_out[0].protocol == "6" &&
      oci_core_network_security_group_security_rule.limit_store_out[0].destination_type == "NETWORK_SECURITY_GROUP" &&
      oci_core_network_security_group_security_rule.limit_store_out[0].destination == oci_core_network_security_group.limit_store[0].id &&
      oci_core_network_security_group_security_rule.limit_store_out[0].tcp_options[0].destination_port_range[0].min == 6379 &&
      oci_core_network_security_group_security_rule.limit_store_out[0].tcp_options[0].destination_port_range[0].max == 6379
    )
    error_message = "The function's NSG lets out TCP 6379 to the cluster's NSG only."
  }
  assert {
    condition     = length(oci_core_security_list.functions[0].ingress_security_rules) == 0 && alltrue([for r in oci_core_security_list.functions[0].egress_security_rules : r.tcp_options[0].min == 443])
    error_message = "The subnet's security list is unchanged: no ingress, HTTPS out only."
  }
  # The identity: an IAM cache user whose ACL allows the limits' commands on the limits' keys, attached to the cluster.
  assert {
    condition = (
      oci_redis_oci_cache_user.limits[0].name == "genai-limits" &&
      oci_redis_oci_cache_user.limits[0].authentication_mode[0].authentication_type == "IAM" &&
      length(oci_redis_oci_cache_user.limits[0].authentication_mode[0].hashed_passwords) == 0 &&
      oci_redis_oci_cache_user.limits[0].status == "ON" &&
      oci_redis_oci_cache_user.limits[0].acl_string == "on ~genai:limits:* resetchannels -@all +evalsha +eval +get +incrby +pexpire +exists"
    )
    error_message = "The cache user authenticates by IAM token only, and may run only the limits' commands on genai:limits:* keys."
  }
  assert {
    condition     = oci_redis_redis_cluster_attach_oci_cache_user.limits[0].redis_cluster_id == "ocid1.rediscluster.oc1.us-chicago-1.limits" && oci_redis_redis_cluster_attach_oci_cache_user.limits[0].oci_cache_users == tolist(["ocid1.ocicacheuser.oc1.us-chicago-1.limits"])
    error_message = "The user is attached to the cluster."
  }
  assert {
    condition = oci_identity_policy.limit_store[0].statements == tolist([
      "allow dynamic-group genai-${local.stack_id}-functions to use redis-clusters in compartment id ocid1.compartment.oc1..aaaacompartment",
      "allow dynamic-group genai-${local.stack_id}-functions to use oci-cache-users in compartment id ocid1.compartment.oc1..aaaacompartment",
    ]) && oci_identity_policy.limit_store[0].compartment_id == var.compartment_ocid
    error_message = "The function's group may get the user's token (REDIS_CLUSTER_USE, OCI_CACHE_USER_USE), in the stack's compartment."
  }
  assert {
    condition     = jsonencode(output.deploy_settings.function_statements) == jsonencode(concat(oci_identity_policy.genai_function.statements, oci_identity_policy.genai_responses[0].statements, oci_identity_policy.limit_store[0].statements))
    error_message = "make deploy is told of the cache statements too."
  }
  # The settings the function gets.
  assert {
    condition = (
      oci_functions_application.this.config["GENAI_LIMIT_STORE"] == "aaaalimits-p.redis.us-chicago-1.oci.oraclecloud.com:6379" &&
      oci_functions_application.this.config["GENAI_LIMIT_STORE_USER"] == "genai-limits" &&
      oci_functions_application.this.config["GENAI_LIMIT_STORE_USER_ID"] == "ocid1.ocicacheuser.oc1.us-chicago-1.limits" &&
      oci_functions_application.this.config["GENAI_LIMIT_STORE_CLUSTER_ID"] == "ocid1.rediscluster.oc1.us-chicago-1.limits" &&
      oci_functions_application.this.config["GENAI_LIMIT_FAILURE_MODE"] == "open" &&
      oci_functions_application.this.config["GENAI_LIMIT_STORE_TIMEOUT_MS"] == "250"
    )
    error_message = "The function gets the primary endpoint with the port, the user's name and OCID, the cluster's OCID, fail open and 250 ms."
  }
  assert {
    condition     = length([for k in keys(oci_functions_application.this.config) : k if contains(["GENAI_TOKENS_PER_MINUTE", "GENAI_TOKEN_QUOTA", "GENAI_TOKEN_QUOTA_PERIOD", "GENAI_LIMIT_STORE_TLS"], k)]) == 0
    error_message = "No default set: no default reaches the function (TLS stays the function's own default, on)."
  }
  assert {
    # Two clients are tenants: each entry also carries its project and compartment (isolation.tftest.hcl).
    condition = jsonencode({
      for name, entry in jsondecode(oci_functions_application.this.config["GENAI_CLIENT_POLICIES"]) :
      name => { for field, value in entry : field => value if !contains(["project", "compartment"], field) }
    }) == "{\"${local.stack_id}.alice\":{\"token_quota\":1000000,\"token_quota_period\":\"day\",\"tokens_per_minute\":20000},\"${local.stack_id}.bob\":{}}"
    error_message = "The client's limits travel in its policy; tokens_per_hour does not."
  }
  assert {
    condition     = output.limit_store.cluster_id == oci_redis_redis_cluster.limits[0].id && output.limit_store.endpoint == "aaaalimits-p.redis.us-chicago-1.oci.oraclecloud.com:6379" && output.limit_store.user_id == oci_redis_oci_cache_user.limits[0].id
    error_message = "The output names the store."
  }
  # Failing open is watched.
  assert {
    condition = (
      oci_sch_service_connector.limit_fail_open[0].source[0].kind == "logging" &&
      oci_sch_service_connector.limit_fail_open[0].source[0].log_sources[0].log_id == oci_logging_log.function_invoke.id &&
      oci_sch_service_connector.limit_fail_open[0].source[0].log_sources[0].log_group_id == oci_logging_log_group.this.id &&
      oci_sch_service_connector.limit_fail_open[0].tasks[0].kind == "logRule" &&
      oci_sch_service_connector.limit_fail_open[0].tasks[0].condition == "data.message = '*\"limit\":\"store_unavailable\"*' or data.message = '*\"limit\":\"settle_failed\"*'" &&
      oci_sch_service_connector.limit_fail_open[0].target[0].kind == "monitoring" &&
      oci_sch_service_connector.limit_fail_open[0].target[0].metric_namespace == "genai_gateway" &&
      oci_sch_service_connector.limit_fail_open[0].target[0].metric == "LimitStoreFailOpen" &&
      oci_sch_service_connector.limit_fail_open[0].target[0].compartment_id == var.compartment_ocid
    )
    error_message = "A connector turns the invoke log's fail-open lines into LimitStoreFailOpen data points."
  }
  assert {
    condition = (
      oci_monitoring_alarm.limit_fail_open[0].query == "LimitStoreFailOpen[5m].count() > 0" &&
      oci_monitoring_alarm.limit_fail_open[0].namespace == "genai_gateway" &&
      oci_monitoring_alarm.limit_fail_open[0].severity == "CRITICAL" &&
      oci_monitoring_alarm.limit_fail_open[0].pending_duration == "PT1M" &&
      oci_monitoring_alarm.limit_fail_open[0].destinations == tolist([oci_ons_notification_topic.alarms[0].id])
    )
    error_message = "A CRITICAL alarm at the first uncounted call, to the alarms' topic."
  }
  assert {
    condition = oci_identity_policy.limit_alarm_connector[0].statements == tolist([
      "allow any-user to read log-content in compartment id ocid1.compartment.oc1..aaaacompartment where ALL {request.principal.type = 'serviceconnector', request.principal.id = '${oci_sch_service_connector.limit_fail_open[0].id}', request.principal.compartment.id = 'ocid1.compartment.oc1..aaaacompartment', target.loggroup.id = '${oci_logging_log_group.this.id}'}",
      "allow any-user to use metrics in compartment id ocid1.compartment.oc1..aaaacompartment where ALL {request.principal.type = 'serviceconnector', request.principal.id = '${oci_sch_service_connector.limit_fail_open[0].id}', request.principal.compartment.id = 'ocid1.compartment.oc1..aaaacompartment', target.metrics.namespace = 'genai_gateway'}",
    ])
    error_message = "The one limit-store connector, by its OCID, may read the stack's log group and post in its one namespace."
  }
}

run "a_default_limit_creates_the_store_and_reaches_the_function" {
  command = apply
  variables {
    default_tokens_per_minute    = 5000
    default_token_quota          = 1000000000000
    default_token_quota_period   = "month"
    limit_failure_mode           = "closed"
    limit_store_timeout_ms       = 100
    limit_store_node_count       = 3
    limit_store_node_memory_gbs  = 4
    limit_store_software_version = "REDIS_7_0"
  }

  assert {
    condition = (
      oci_functions_application.this.config["GENAI_TOKENS_PER_MINUTE"] == "5000" &&
      oci_functions_application.this.config["GENAI_TOKEN_QUOTA"] == "1000000000000" &&
      oci_functions_application.this.config["GENAI_TOKEN_QUOTA_PERIOD"] == "month" &&
      oci_functions_application.this.config["GENAI_LIMIT_FAILURE_MODE"] == "closed" &&
      oci_functions_application.this.config["GENAI_LIMIT_STORE_TIMEOUT_MS"] == "100" &&
      oci_functions_application.this.config["GENAI_LIMIT_STORE"] == "aaaalimits-p.redis.us-chicago-1.oci.oraclecloud.com:6379"
    )
    error_message = "The defaults, in whole digits, the failure mode and the timeout reach the function with the store."
  }
  assert {
    condition     = oci_redis_redis_cluster.limits[0].node_count == 3 && oci_redis_redis_cluster.limits[0].node_memory_in_gbs == 4 && oci_redis_redis_cluster.limits[0].software_version == "REDIS_7_0"
    error_message = "The cluster takes its sizes and engine from the variables."
  }
  assert {
    # The stack's clients are tenants, so a policy table exists for their projects; no entry has a limit.
    condition = alltrue([
      for entry in values(jsondecode(lookup(oci_functions_application.this.config, "GENAI_CLIENT_POLICIES", "{}"))) :
      length(setintersection(keys(entry), ["tokens_per_minute", "token_quota", "token_quota_period"])) == 0
    ])
    error_message = "A default is not a client policy."
  }
  assert {
    condition     = length(oci_sch_service_connector.limit_fail_open) == 0 && length(oci_monitoring_alarm.limit_fail_open) == 0 && length(oci_identity_policy.limit_alarm_connector) == 0
    error_message = "Failing closed answers 502 (the error alarms count it): no fail-open connector or alarm."
  }
}

run "alarms_off_no_fail_open_alarm" {
  command = plan
  variables {
    default_tokens_per_minute = 5000
    alarms_enabled            = false
  }

  assert {
    condition     = length(oci_redis_redis_cluster.limits) == 1 && length(oci_sch_service_connector.limit_fail_open) == 0 && length(oci_monitoring_alarm.limit_fail_open) == 0
    error_message = "alarms_enabled = false keeps the store and drops its alarm and connector."
  }
}

run "jwt_client_limit" {
  command = plan
  variables {
    auth_mode     = "jwt"
    jwt_jwks_uri  = "https://idcs-example.identity.oraclecloud.com/admin/v1/SigningCert/jwk"
    jwt_issuers   = ["https://identity.oraclecloud.com/"]
    jwt_audiences = ["genai"]
    jwt_clients   = { "app-1" = { tokens_per_minute = 100 } }
  }

  assert {
    condition     = length(oci_redis_redis_cluster.limits) == 1 && oci_functions_application.this.config["GENAI_CLIENT_POLICIES"] == "{\"app-1\":{\"tokens_per_minute\":100}}"
    error_message = "jwt: a jwt_clients limit creates the store and travels in the policy, keyed by the claim's value."
  }
}

run "own_network_ipv6_subnet_refused" {
  command = plan
  variables {
    create_network                = false
    existing_function_subnet_ocid = "ocid1.subnet.oc1.us-chicago-1.aaaafn"
    existing_gateway_subnet_ocid  = "ocid1.subnet.oc1.us-chicago-1.aaaagw"
    default_tokens_per_minute     = 5000
  }
  override_data {
    target          = data.oci_core_subnet.limit_store[0]
    override_during = plan
    values          = { vcn_id = "ocid1.vcn.oc1.us-chicago-1.aaaavcn", ipv6cidr_block = "2001:db8::/64", ipv6cidr_blocks = ["2001:db8::/64"] }
  }
  expect_failures = [data.oci_core_subnet.limit_store]
}

run "own_network_the_subnets_vcn" {
  command = plan
  variables {
    create_network                = false
    existing_function_subnet_ocid = "ocid1.subnet.oc1.us-chicago-1.aaaafn"
    existing_gateway_subnet_ocid  = "ocid1.subnet.oc1.us-chicago-1.aaaagw"
    default_tokens_per_minute     = 5000
  }
  override_data {
    target          = data.oci_core_subnet.limit_store[0]
    override_during = plan
    values          = { vcn_id = "ocid1.vcn.oc1.us-chicago-1.aaaavcn", ipv6cidr_block = "", ipv6cidr_blocks = [] }
  }

  assert {
    condition     = oci_core_network_security_group.limit_store[0].vcn_id == "ocid1.vcn.oc1.us-chicago-1.aaaavcn" && oci_core_network_security_group.limit_store_clients[0].vcn_id == "ocid1.vcn.oc1.us-chicago-1.aaaavcn" && oci_redis_redis_cluster.limits[0].subnet_id == "ocid1.subnet.oc1.us-chicago-1.aaaafn"
    error_message = "Bring-your-own network: the NSGs in the VCN of the functions' subnet, the cluster in that subnet."
  }
}

# --- refused inputs: the bounds of genai_fn's limits module ---------------------

run "rejects_a_quota_without_its_period" {
  command = plan
  variables {
    api_clients = { alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], token_quota = 1000 } }
  }
  expect_failures = [var.api_clients]
}

run "rejects_a_period_without_a_quota" {
  command = plan
  variables {
    api_clients = { alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], token_quota_period = "day" } }
  }
  expect_failures = [var.api_clients]
}

run "rejects_tokens_per_minute_above_the_bound" {
  command = plan
  variables {
    api_clients = { alice = { key_hashes = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], tokens_per_minute = 10000001 } }
  }
  expect_failures = [var.api_clients]
}

run "rejects_a_fractional_quota_in_jwt_clients" {
  command = plan
  variables {
    auth_mode     = "jwt"
    jwt_jwks_uri  = "https://idcs-example.identity.oraclecloud.com/admin/v1/SigningCert/jwk"
    jwt_issuers   = ["https://identity.oraclecloud.com/"]
    jwt_audiences = ["genai"]
    jwt_clients   = { "app-1" = { token_quota = 10.5, token_quota_period = "day" } }
  }
  expect_failures = [var.jwt_clients]
}

run "rejects_an_unknown_period" {
  command = plan
  variables {
    default_token_quota        = 1000
    default_token_quota_period = "year"
  }
  expect_failures = [var.default_token_quota_period]
}

run "rejects_a_default_quota_without_its_period" {
  command = plan
  variables {
    default_token_quota = 1000
  }
  expect_failures = [oci_functions_application.this]
}

run "rejects_a_zero_default_per_minute" {
  command = plan
  variables {
    default_tokens_per_minute = 0
  }
  expect_failures = [var.default_tokens_per_minute]
}

run "rejects_sizes_oracle_does_not_offer" {
  command = plan
  variables {
    default_tokens_per_minute    = 5000
    limit_store_node_count       = 6
    limit_store_node_memory_gbs  = 1
    limit_store_software_version = "REDIS_6_0"
    limit_failure_mode           = "maybe"
    limit_store_timeout_ms       = 5001
  }
  expect_failures = [var.limit_store_node_count, var.limit_store_node_memory_gbs, var.limit_store_software_version, var.limit_failure_mode, var.limit_store_timeout_ms]
}
