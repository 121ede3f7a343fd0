# Token limits' store: the shared counters the function keeps per client
# (tokens_per_minute, token_quota per token_quota_period; genai_fn's limits
# module) live in an OCI Cache cluster (managed Valkey / Redis OSS), which the
# function reaches from its own subnet with its own identity: an OCI Cache
# user in IAM mode, authenticated by a short-lived token the function asks
# for with CreateIdentityToken, signed by its resource principal. No password
# exists anywhere.
#
# Nothing here exists unless a limit is configured (a client's
# tokens_per_minute or token_quota, or a default_*): local.limits_on, known
# at plan time from the variables alone.
#
# Oracle's pages behind each choice:
# - Sizes: a non-sharded cluster has 1 to 5 nodes ("Resizing Nodes",
#   https://docs.oracle.com/en-us/iaas/Content/ocicache/resizeclusternodes.htm;
#   Oracle recommends 3 for reliability, 1 is the cheapest and the default
#   here: with limit_failure_mode = open a lost node costs counting, not
#   calls), 2 to 500 GB per node ("Resizing Memory",
#   https://docs.oracle.com/en-us/iaas/Content/ocicache/resizeclustermemory.htm).
#   Non-sharded on purpose: "Lua script isn't supported for sharded clusters"
#   ("Sharded Clusters", https://docs.oracle.com/en-us/iaas/Content/ocicache/shardedclusters.htm),
#   and the function counts with a script.
# - Network: a cluster is reached on a private endpoint from "a client within
#   the same VCN", by the FQDNs the service gives, and "OCI Cache only
#   supports TLS connections" ("Connecting to a Cluster",
#   https://docs.oracle.com/en-us/iaas/Content/ocicache/connecttocluster.htm).
#   The cluster shares the functions' private subnet (no IPv6 there, which a
#   cluster's subnet must not have: "Creating a Cluster",
#   https://docs.oracle.com/en-us/iaas/Content/ocicache/createcluster.htm), so
#   traffic stays inside the subnet: no route rule is needed (a VCN routes its
#   own addresses locally, "VCN Route Tables",
#   https://docs.oracle.com/iaas/Content/Network/Tasks/managingroutetables.htm),
#   and the subnet's security list is left as it is: security lists and NSGs
#   add up ("Security Rules",
#   https://docs.oracle.com/iaas/Content/Network/Concepts/securityrules.htm),
#   so two NSGs open TCP 6379 between the function and the cluster and
#   nothing else: the cluster's (ingress from the functions' NSG only) and the
#   main application's (egress to the cluster's NSG only).
# - Identity: CreateIdentityToken ("Generate Token for OCI Cache User") needs
#   REDIS_CLUSTER_USE and OCI_CACHE_USER_USE ("OCI Cache IAM Policies",
#   https://docs.oracle.com/en-us/iaas/Content/ocicache/permissions.htm):
#   policies/limit-store.policy. The token lasts one hour; the token request
#   names the user's OCID, AUTH its name ("IAM Authentication",
#   https://docs.oracle.com/en-us/iaas/Content/ocicache/iam-authentication.htm).
#   The user's ACL allows only the limits' commands on the limits' keys
#   ("OCI Cache Users", https://docs.oracle.com/en-us/iaas/Content/ocicache/cache-users.htm;
#   ACL syntax: https://docs.oracle.com/en-us/iaas/Content/ocicache/acl-strings.htm).
# Resource arguments: terraform-provider-oci v8.28.0,
# website/docs/r/redis_redis_cluster.html.markdown,
# redis_oci_cache_user.html.markdown,
# redis_redis_cluster_attach_oci_cache_user.html.markdown.

locals {
  # A limit anywhere: a client's own (clients.tf) or a deployment-wide default.
  limits_on = (
    anytrue([for c in values(local.policy_clients) : c.tokens_per_minute != null || c.token_quota != null]) ||
    var.default_tokens_per_minute != null || var.default_token_quota != null
  )
  limit_store_count = local.limits_on ? 1 : 0
  limit_store_port  = 6379

  # The store's contract with genai_fn's limits module: every key under this
  # prefix; EVALSHA and EVAL are what the function sends, GET, INCRBY, PEXPIRE
  # and EXISTS what its Lua scripts call (a script's redis.call is checked
  # against the ACL too); AUTH needs no grant. Nothing else (no SCRIPT LOAD,
  # HELLO or PING: the client does without them).
  limit_store_key_prefix = "genai:limits:"
  limit_store_commands   = ["evalsha", "eval", "get", "incrby", "pexpire", "exists"]
  # Valkey/Redis ACL rules (https://valkey.io/topics/acl/): "on" enables the
  # user, "resetchannels" and "-@all" take every channel and command away,
  # "~<prefix>*" is the one key pattern, then each command is added back.
  limit_store_acl = join(" ", concat(
    ["on", "~${local.limit_store_key_prefix}*", "resetchannels", "-@all"],
    [for c in local.limit_store_commands : "+${c}"],
  ))
  limit_store_user_name = "${var.name}-limits"

  # The VCN the NSGs belong to: the functions' subnet's (looked up when it is the user's own).
  limit_store_vcn_id = var.create_network ? one(oci_core_vcn.this[*].id) : one(data.oci_core_subnet.limit_store[*].vcn_id)

  # Settings known at plan time (app_settings, functions.tf); the defaults only when set.
  limit_settings = local.limits_on ? merge(
    {
      GENAI_LIMIT_FAILURE_MODE     = var.limit_failure_mode
      GENAI_LIMIT_STORE_TIMEOUT_MS = tostring(var.limit_store_timeout_ms)
      GENAI_LIMIT_STORE_USER       = local.limit_store_user_name
    },
    var.default_tokens_per_minute == null ? {} : { GENAI_TOKENS_PER_MINUTE = tostring(var.default_tokens_per_minute) },
    var.default_token_quota == null ? {} : { GENAI_TOKEN_QUOTA = tostring(var.default_token_quota), GENAI_TOKEN_QUOTA_PERIOD = coalesce(local.default_token_quota_period, "unset") },
  ) : {}
  # Settings known once the cluster and the user exist (app_config, functions.tf).
  limit_store_config = local.limits_on ? {
    GENAI_LIMIT_STORE            = "${one(oci_redis_redis_cluster.limits[*].primary_fqdn)}:${local.limit_store_port}"
    GENAI_LIMIT_STORE_USER_ID    = one(oci_redis_oci_cache_user.limits[*].id)
    GENAI_LIMIT_STORE_CLUSTER_ID = one(oci_redis_redis_cluster.limits[*].id)
  } : {}
  # 128-character stand-ins for them, for the 4 KB check at plan time.
  limit_store_config_standin = local.limits_on ? {
    GENAI_LIMIT_STORE            = "${format("%0128d", 0)}:${local.limit_store_port}"
    GENAI_LIMIT_STORE_USER_ID    = format("%0128d", 0)
    GENAI_LIMIT_STORE_CLUSTER_ID = format("%0128d", 0)
  } : {}
}

# A subnet of the user's own (create_network = false): its VCN, and no IPv6,
# where "cluster creation fails" ("Creating a Cluster", above).
data "oci_core_subnet" "limit_store" {
  count = local.limits_on && !var.create_network ? 1 : 0
  # The variable itself, not local.function_subnet_id: a reference to the
  # network resources would defer the read (and this check) to the apply.
  subnet_id = local.existing_function_subnet_ocid

  lifecycle {
    postcondition {
      condition     = try(coalesce(self.ipv6cidr_block, ""), "") == "" && length(coalesce(self.ipv6cidr_blocks, [])) == 0
      error_message = "Token limits put an OCI Cache cluster in the functions' subnet, and OCI Cache refuses a subnet with IPv6 enabled: use a subnet without IPv6 for existing_function_subnet_ocid, or create_network = true."
    }
  }
}

# The cluster's own NSG: TCP 6379 in, from the functions' NSG only. No egress
# rule: rules are stateful, so the answers go back without one.
resource "oci_core_network_security_group" "limit_store" {
  count          = local.limit_store_count
  compartment_id = var.compartment_ocid
  vcn_id         = local.limit_store_vcn_id
  display_name   = "${var.name}-limit-store"
  freeform_tags  = local.tags
}

resource "oci_core_network_security_group_security_rule" "limit_store_in" {
  #checkov:skip=CKV_OCI_21:Stateful on purpose: a stateless ingress would need an egress rule from the cluster to every client port; the source is one NSG, not a CIDR
  count                     = local.limit_store_count
  network_security_group_id = oci_core_network_security_group.limit_store[0].id
  description               = "Valkey/Redis over TLS from the genai function only"
  direction                 = "INGRESS"
  protocol                  = "6"
  source                    = oci_core_network_security_group.limit_store_clients[0].id
  source_type               = "NETWORK_SECURITY_GROUP"
  stateless                 = false
  tcp_options {
    destination_port_range {
      min = local.limit_store_port
      max = local.limit_store_port
    }
  }
}

# The main application's NSG (functions.tf attaches it): TCP 6379 out, to the
# cluster's NSG only. The subnet's security list keeps its HTTPS-only egress.
resource "oci_core_network_security_group" "limit_store_clients" {
  count          = local.limit_store_count
  compartment_id = var.compartment_ocid
  vcn_id         = local.limit_store_vcn_id
  display_name   = "${var.name}-limit-store-clients"
  freeform_tags  = local.tags
}

resource "oci_core_network_security_group_security_rule" "limit_store_out" {
  count                     = local.limit_store_count
  network_security_group_id = oci_core_network_security_group.limit_store_clients[0].id
  description               = "Valkey/Redis over TLS to the token-limit store only"
  direction                 = "EGRESS"
  protocol                  = "6"
  destination               = oci_core_network_security_group.limit_store[0].id
  destination_type          = "NETWORK_SECURITY_GROUP"
  stateless                 = false
  tcp_options {
    destination_port_range {
      min = local.limit_store_port
      max = local.limit_store_port
    }
  }
}

resource "oci_redis_redis_cluster" "limits" {
  count              = local.limit_store_count
  compartment_id     = var.compartment_ocid
  display_name       = "${var.name}-limits"
  cluster_mode       = "NONSHARDED"
  node_count         = var.limit_store_node_count
  node_memory_in_gbs = var.limit_store_node_memory_gbs
  software_version   = var.limit_store_software_version
  subnet_id          = local.function_subnet_id
  nsg_ids            = [oci_core_network_security_group.limit_store[0].id]
  freeform_tags      = local.tags

  # Oracle states no creation time; the provider waits 20 minutes by default.
  # Waiting longer costs nothing when it is quicker, and a timed-out create
  # leaves a tainted cluster that the next apply replaces.
  timeouts {
    create = "60m"
    update = "60m"
  }
}

resource "oci_redis_oci_cache_user" "limits" {
  count          = local.limit_store_count
  compartment_id = var.compartment_ocid
  name           = local.limit_store_user_name
  description    = "The ${var.name} function's token-limit counters: IAM tokens only, keys ${local.limit_store_key_prefix}* only (terraform/cache.tf)"
  acl_string     = local.limit_store_acl
  status         = "ON"
  freeform_tags  = local.tags

  # IAM: no password exists; the function authenticates with a token from
  # CreateIdentityToken (policies/limit-store.policy).
  authentication_mode {
    authentication_type = "IAM"
  }
}

resource "oci_redis_redis_cluster_attach_oci_cache_user" "limits" {
  count            = local.limit_store_count
  redis_cluster_id = oci_redis_redis_cluster.limits[0].id
  oci_cache_users  = [oci_redis_oci_cache_user.limits[0].id]
}

# The function's own group (iam.tf) may ask for the user's token on the cluster.
resource "oci_identity_policy" "limit_store" {
  count          = local.limit_store_count
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-function-limit-store"
  description    = "The ${var.name} function may get IAM tokens for its OCI Cache user (policies/limit-store.policy)"
  statements     = local.rendered_policies["limit-store"]
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.functions]
}

# --- The alarm when the function serves limited calls uncounted --------------
#
# With limit_failure_mode = open, a call the store could not count is served
# and the function's invocation log line says so: "limit":"store_unavailable"
# (the store could not be reached) or "limit":"settle_failed" (the call's
# tokens could not be added afterwards): the function's limits package and genai_fn/logs.py.
# A Connector Hub connector with a Logging source, a log filter task and a
# Monitoring target turns each such line into a data point of
# LimitStoreFailOpen ("Creating a Connector with a Logging Source",
# https://docs.oracle.com/iaas/Content/connector-hub/create-service-connector-logging-source.htm;
# the condition is Logging's query language,
# https://docs.oracle.com/en-us/iaas/Content/Logging/Reference/query_language_specification.htm),
# and an alarm counts them. No code: the usage-metrics function
# (usage_metrics.tf) is off for some stacks, and this alarm must not depend on it.
# The alarm counts data points (count()), so it needs no assumption about
# each point's value. Arguments: terraform-provider-oci v8.28.0,
# website/docs/r/sch_service_connector.html.markdown.
locals {
  # Failing closed refuses the call with a 502 (limit_store_unavailable), which the function's and the gateway's error alarms (alarms.tf) already count.
  limit_alarm_on = local.limits_on && var.alarms_enabled && var.limit_failure_mode == "open"
  # The function writes compact JSON (genai_fn/logs.py, separators (",", ":")).
  limit_fail_open_values = ["store_unavailable", "settle_failed"]
  limit_fail_open_condition = join(" or ", [
    for v in local.limit_fail_open_values : "data.message = '*\"limit\":\"${v}\"*'"
  ])
  limit_fail_open_metric = "LimitStoreFailOpen"
}

# It names the connector, so it follows it: the connector exists a moment
# before it may read or post (policies/limit-alarm-connector.policy).
resource "oci_identity_policy" "limit_alarm_connector" {
  count          = local.limit_alarm_on ? 1 : 0
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${local.iam_prefix}-connector-limit-metric"
  description    = "The ${var.name} limit-store connector alone may read the stack's log group and post metrics in ${var.usage_metrics_namespace} (policies/limit-alarm-connector.policy)"
  statements     = local.rendered_connector_policies["limit-alarm-connector"]
  freeform_tags  = local.tags
}

resource "oci_sch_service_connector" "limit_fail_open" {
  count          = local.limit_alarm_on ? 1 : 0
  compartment_id = var.compartment_ocid
  display_name   = "${var.name}-limit-fail-open"
  description    = "Counts the ${local.application_name} calls served while the token-limit store was unavailable (terraform/cache.tf)"
  freeform_tags  = local.tags

  source {
    kind = "logging"
    log_sources {
      compartment_id = var.compartment_ocid
      log_group_id   = oci_logging_log_group.this.id
      log_id         = oci_logging_log.function_invoke.id
    }
  }

  tasks {
    kind      = "logRule"
    condition = local.limit_fail_open_condition
  }

  target {
    kind             = "monitoring"
    compartment_id   = var.compartment_ocid
    metric_namespace = var.usage_metrics_namespace
    metric           = local.limit_fail_open_metric
  }
}

resource "oci_monitoring_alarm" "limit_fail_open" {
  count                 = local.limit_alarm_on ? 1 : 0
  compartment_id        = var.compartment_ocid
  metric_compartment_id = var.compartment_ocid
  display_name          = "${var.name}-limit-store-fail-open"
  namespace             = var.usage_metrics_namespace
  query                 = "${local.limit_fail_open_metric}[5m].count() > 0"
  severity              = "CRITICAL"
  body                  = "The function could not reach its token-limit store (OCI Cache cluster ${var.name}-limits) and served calls without counting them (limit_failure_mode = open). Look at the cluster's state (output limit_store) and the invoke log's lines whose limit is store_unavailable or settle_failed."
  destinations          = [local.alarm_topic]
  is_enabled            = true
  # The first uncounted call is already the news: limits are not held meanwhile.
  pending_duration = "PT1M"
  message_format   = "ONS_OPTIMIZED"
  freeform_tags    = local.tags
}
