# A subscriber's rule on the associator's bus and the queue it fills (Terraform, AWS provider 5 or later).
# Rules live in the bus's account: apply this in the account of the associator's stack, with the bus name
# from that stack's output EventBusName.

variable "associator_bus_name" {
  type    = string
  default = "opensearch-package-associator-prod"
}

resource "aws_sqs_queue" "package_events_dlq" {
  name                      = "package-events-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "package_events" {
  name                    = "package-events"
  sqs_managed_sse_enabled = true
  # Six times the consumer function's timeout (AWS's advice for an SQS event source).
  visibility_timeout_seconds = 36
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.package_events_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_cloudwatch_event_rule" "package_events" {
  name           = "package-association-decisions"
  event_bus_name = var.associator_bus_name
  # Only decisions about one domain; drop detail.domainName to get every domain's.
  event_pattern = jsonencode({
    source        = ["package-associator"]
    "detail-type" = ["PackageAssociationSucceeded", "PackageAssociationFailed"]
    detail        = { domainName = ["catalog-search"] }
  })
}

resource "aws_cloudwatch_event_target" "package_events" {
  rule           = aws_cloudwatch_event_rule.package_events.name
  event_bus_name = var.associator_bus_name
  arn            = aws_sqs_queue.package_events.arn
  # What EventBridge could not deliver after its retries, instead of nowhere.
  dead_letter_config {
    arn = aws_sqs_queue.package_events_dlq.arn
  }
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

# EventBridge may send to the queues only for this rule.
data "aws_iam_policy_document" "events_may_send" {
  for_each = {
    queue = aws_sqs_queue.package_events.arn
    dlq   = aws_sqs_queue.package_events_dlq.arn
  }
  statement {
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [each.value]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.package_events.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "package_events" {
  queue_url = aws_sqs_queue.package_events.id
  policy    = data.aws_iam_policy_document.events_may_send["queue"].json
}

resource "aws_sqs_queue_policy" "package_events_dlq" {
  queue_url = aws_sqs_queue.package_events_dlq.id
  policy    = data.aws_iam_policy_document.events_may_send["dlq"].json
}

# The consumer (examples/consumer) de-duplicates on detail.eventId in this table.
resource "aws_dynamodb_table" "seen_events" {
  name         = "package-events-seen"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "eventId"
  attribute {
    name = "eventId"
    type = "S"
  }
  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }
}

output "package_events_queue_arn" {
  value = aws_sqs_queue.package_events.arn
}

output "seen_events_table_name" {
  value = aws_dynamodb_table.seen_events.name
}
