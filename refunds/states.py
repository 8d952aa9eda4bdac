from django.db import models


class RefundState(models.TextChoices):
    PENDING = "pending", "Pending"  # due; waiting for the gateway
    PROCESSING = "processing", "Processing"  # a gateway accepted it; not reported processed yet
    ISSUED = "issued", "Issued"  # every tender processed; money is on its way back
    FAILED = "failed", "Failed"  # the gateway refused or errored; retried, then escalated


class RefundKind(models.TextChoices):
    RETURN = "return", "Returned items"
    KEEP_IT = "keep_it", "Keep-it"
    PARTIAL_CREDIT = "partial_credit", "Partial credit"
    EXCHANGE_DIFFERENCE = "exchange_difference", "Cheaper exchange"
    INSTANT = "instant", "Instant refund"
    CANCELLATION = "cancellation", "Cancelled before shipping"


class TenderState(models.TextChoices):
    """One tender's refund at its gateway; the refund's state derives from them."""

    PENDING = "pending", "Pending"  # not sent to the gateway yet (or sent and rolled back)
    PROCESSING = "processing", "Processing"  # accepted by the gateway, not processed yet
    PROCESSED = "processed", "Processed"  # the gateway reports the money returned
    FAILED = "failed", "Failed"  # the gateway refused it or reported it failed
