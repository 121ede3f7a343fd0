# A VCN with two subnets, unless the user brings their own (create_network = false):
#   private subnet  -> functions; no public IPs, no ingress at all; egress 443 via
#                      the service gateway (Oracle services) and NAT (everything else)
#   public subnet   -> API gateway; ingress TCP 443 from gateway_ingress_cidrs only

locals {
  network_count = var.create_network ? 1 : 0
  tags          = merge({ "project" = var.name }, var.freeform_tags)

  function_subnet_id  = var.create_network ? oci_core_subnet.functions[0].id : local.existing_function_subnet_ocid
  gateway_subnet_id   = var.create_network ? oci_core_subnet.gateway[0].id : local.existing_gateway_subnet_ocid
  network_compartment = coalesce(local.network_compartment_ocid, var.compartment_ocid)
}

data "oci_core_services" "all" {
  # "All <region> Services In Oracle Services Network": the label a service
  # gateway and its route rule use.
  filter {
    name   = "name"
    values = ["All .* Services In Oracle Services Network"]
    regex  = true
  }
}

locals {
  oracle_services = one(data.oci_core_services.all.services)
}

resource "oci_core_vcn" "this" {
  count          = local.network_count
  compartment_id = var.compartment_ocid
  cidr_blocks    = [var.vcn_cidr]
  display_name   = "${var.name}-vcn"
  dns_label      = substr(replace(var.name, "-", ""), 0, 15)
  freeform_tags  = local.tags
}

# The VCN's default security list allows SSH from anywhere; nothing here uses
# it, so take it over and leave it empty.
resource "oci_core_default_security_list" "locked" {
  count                      = local.network_count
  manage_default_resource_id = oci_core_vcn.this[0].default_security_list_id
  display_name               = "${var.name}-default-closed"
  freeform_tags              = local.tags
}

resource "oci_core_internet_gateway" "this" {
  count          = local.network_count
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name}-igw"
  enabled        = true
  freeform_tags  = local.tags
}

resource "oci_core_nat_gateway" "this" {
  count          = local.network_count
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name}-nat"
  freeform_tags  = local.tags
}

resource "oci_core_service_gateway" "this" {
  count          = local.network_count
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name}-sgw"
  freeform_tags  = local.tags
  services {
    service_id = local.oracle_services.id
  }
}

resource "oci_core_route_table" "functions" {
  count          = local.network_count
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name}-functions-rt"
  freeform_tags  = local.tags

  route_rules {
    description       = "Oracle services (registry, logging, IAM) stay on the Oracle network"
    destination       = local.oracle_services.cidr_block
    destination_type  = "SERVICE_CIDR_BLOCK"
    network_entity_id = oci_core_service_gateway.this[0].id
  }

  # Not confirmed that the Generative AI inference endpoint is reachable through
  # the service gateway alone, so everything else leaves through NAT.
  route_rules {
    description       = "Everything else, including the Generative AI inference endpoint"
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_nat_gateway.this[0].id
  }
}

resource "oci_core_route_table" "gateway" {
  count          = local.network_count
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name}-gateway-rt"
  freeform_tags  = local.tags

  route_rules {
    description       = "Public gateway: answers clients and fetches the JWKS in jwt mode"
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_internet_gateway.this[0].id
  }
}

resource "oci_core_security_list" "functions" {
  #checkov:skip=CKV_OCI_16:No ingress on purpose: functions are invoked by the platform, never over the subnet
  #checkov:skip=CKV_OCI_19:False positive: the check assumes port 22 is open when a list has no ingress rules; this one has none
  count          = local.network_count
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name}-functions-sl"
  freeform_tags  = local.tags

  # No ingress rules: functions are invoked by the platform, not over the subnet.
  egress_security_rules {
    description      = "HTTPS to Oracle services through the service gateway"
    destination      = local.oracle_services.cidr_block
    destination_type = "SERVICE_CIDR_BLOCK"
    protocol         = "6"
    stateless        = false
    tcp_options {
      min = 443
      max = 443
    }
  }

  egress_security_rules {
    description      = "HTTPS to the Generative AI endpoint through NAT"
    destination      = "0.0.0.0/0"
    destination_type = "CIDR_BLOCK"
    protocol         = "6"
    stateless        = false
    tcp_options {
      min = 443
      max = 443
    }
  }
}

resource "oci_core_security_list" "gateway" {
  #checkov:skip=CKV_OCI_17:Stateful on purpose: a stateless 443 ingress would need an egress rule to every client port range
  count          = local.network_count
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name}-gateway-sl"
  freeform_tags  = local.tags

  dynamic "ingress_security_rules" {
    for_each = toset(var.gateway_ingress_cidrs)
    content {
      description = "HTTPS from API clients"
      source      = ingress_security_rules.value
      source_type = "CIDR_BLOCK"
      protocol    = "6"
      stateless   = false
      tcp_options {
        min = 443
        max = 443
      }
    }
  }

  egress_security_rules {
    description      = "HTTPS out: Functions invoke endpoint, logging, JWKS"
    destination      = "0.0.0.0/0"
    destination_type = "CIDR_BLOCK"
    protocol         = "6"
    stateless        = false
    tcp_options {
      min = 443
      max = 443
    }
  }
}

resource "oci_core_subnet" "functions" {
  count                      = local.network_count
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.this[0].id
  cidr_block                 = var.function_subnet_cidr
  display_name               = "${var.name}-functions-private"
  dns_label                  = "fn"
  prohibit_public_ip_on_vnic = true
  route_table_id             = oci_core_route_table.functions[0].id
  security_list_ids          = [oci_core_security_list.functions[0].id]
  freeform_tags              = local.tags
}

resource "oci_core_subnet" "gateway" {
  count                      = local.network_count
  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.this[0].id
  cidr_block                 = var.gateway_subnet_cidr
  display_name               = "${var.name}-gateway-public"
  dns_label                  = "apigw"
  prohibit_public_ip_on_vnic = false
  route_table_id             = oci_core_route_table.gateway[0].id
  security_list_ids          = [oci_core_security_list.gateway[0].id]
  freeform_tags              = local.tags
}
