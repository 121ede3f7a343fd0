# Where the alarms (alarms.tf) send their notifications: one topic, and an
# e-mail subscription when alarm_email is set. OCI sends the address a
# confirmation link first; nothing is delivered to it until it is confirmed
# ("Managing Subscriptions",
# https://docs.oracle.com/iaas/Content/Notification/Tasks/managingtopicsandsubscriptions.htm).

resource "oci_ons_notification_topic" "alarms" {
  count          = var.alarms_enabled ? 1 : 0
  compartment_id = var.compartment_ocid
  # Topic names are unique in the tenancy (oci_ons_notification_topic, argument `name`).
  name          = "${var.name}-${local.stack_id}-alarms"
  description   = "Alarms of ${var.name}: function errors and timeouts, gateway 5xx and 429, latency (terraform/alarms.tf)"
  freeform_tags = local.tags
}

resource "oci_ons_subscription" "alarm_email" {
  count          = var.alarms_enabled && var.alarm_email != "" ? 1 : 0
  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.alarms[0].id
  protocol       = "EMAIL"
  endpoint       = var.alarm_email
  freeform_tags  = local.tags
}
