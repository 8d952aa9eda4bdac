from django.db import models


class Warranty(models.TextChoices):
    IN_TERM = "in_term", "In warranty"  # delivered_at + warranty months is still ahead
    EXPIRED = "expired", "Warranty expired"  # the warranty ran out
    NONE = "none", "No warranty"  # the SKU has no warranty months


class Outcome(models.TextChoices):
    """What the automatic checks recommend for a defect claim."""

    REFUND = "refund", "Full refund"
    PARTIAL_CREDIT = "partial_credit", "Partial credit"
    REPAIR = "repair", "Repair"
    REPLACEMENT = "replacement", "Replacement"
    REJECT = "reject", "Reject"
    REVIEW = "review", "Needs a person"  # not clear enough to decide by itself


class RepairState(models.TextChoices):
    OPEN = "open", "Open"  # the unit passed QC for repair and waits for the bench
    IN_REPAIR = "in_repair", "In repair"  # on the bench
    RETURNED = "returned_to_customer", "Returned to the customer"  # shipped back


class Grade(models.TextChoices):
    A = "A", "A: as new"
    B = "B", "B: light wear"
    C = "C", "C: visible damage"
    D = "D", "D: not working"
