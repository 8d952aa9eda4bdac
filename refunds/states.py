from django.db import models


class RefundState(models.TextChoices):
    PENDING = "pending", "Pending"  # due; waiting for the gateway
    ISSUED = "issued", "Issued"  # the gateway accepted it; money is on its way back
    FAILED = "failed", "Failed"  # the gateway refused or errored; retried, then escalated


class RefundKind(models.TextChoices):
    RETURN = "return", "Returned items"
    KEEP_IT = "keep_it", "Keep-it"
    PARTIAL_CREDIT = "partial_credit", "Partial credit"
    EXCHANGE_DIFFERENCE = "exchange_difference", "Cheaper exchange"
    INSTANT = "instant", "Instant refund"
    CANCELLATION = "cancellation", "Cancelled before shipping"
