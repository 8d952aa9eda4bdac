from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from oms.fsm import ConcurrentTransitionMixin

from ..states import (
    RefundKind,
    RefundState,
    TenderState,
)
from .fields import MONEY


class Refund(ConcurrentTransitionMixin, models.Model):
    """Money owed back for a return. Created pending in the transaction of the
    event that makes it due; a Celery task issues it through the gateway."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    return_request = models.ForeignKey(
        "returns.Return", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    kind = models.CharField(max_length=30, choices=RefundKind.choices, default=RefundKind.RETURN)
    state = FSMField(
        default=RefundState.PENDING, choices=RefundState.choices, protected=True, db_index=True
    )
    method = models.CharField(max_length=20, help_text="original, store_credit or bank_transfer")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    items_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    fees_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    shipping_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    breakdown = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=100, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the refund poll last asked the gateway about it (a lost webhook).",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(fees_amount__gte=0), name="refund_fees_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} {self.amount} {self.currency} ({self.state})"

    @transition(
        field=state,
        source=[
            RefundState.PENDING,
            RefundState.FAILED,
            RefundState.AWAITING_PAYOUT,
            RefundState.PROCESSING,
        ],
        target=RefundState.ISSUED,
    )
    def issue(self, at):
        self.issued_at = at
        self.failure_reason = ""

    @transition(
        field=state,
        source=[RefundState.PENDING, RefundState.FAILED, RefundState.PROCESSING],
        target=RefundState.FAILED,
    )
    def fail(self, reason):
        self.failure_reason = reason[:500]

    @transition(
        field=state,
        source=[RefundState.PENDING, RefundState.FAILED, RefundState.PROCESSING],
        target=RefundState.AWAITING_PAYOUT,
    )
    def await_payout(self):
        """Its bank/UPI part waits for finance to pay it (``Payout``)."""
        self.failure_reason = ""

    @transition(
        field=state, source=[RefundState.PENDING, RefundState.FAILED], target=RefundState.PROCESSING
    )
    def accept(self):
        """A gateway accepted every tender not yet processed; its report
        (response or webhook) issues the refund."""
        self.failure_reason = ""


class RefundItem(models.Model):
    """A unit's share of a refund. A unit is refunded at most once."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="items")
    unit = models.ForeignKey("orders.Unit", on_delete=models.PROTECT, related_name="refund_items")
    kind = models.CharField(max_length=30, choices=RefundKind.choices, default=RefundKind.RETURN)
    amount = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "kind"], name="unit_refunded_once_per_kind"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_item_not_negative"),
        ]

    def __str__(self) -> str:
        return f"unit {self.unit_id}: {self.amount}"


class RefundTender(models.Model):
    """The part of a refund given back against one tender of the order, and
    how: to the original tender, as store credit, or as a bank/UPI payout."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="tenders")
    payment = models.ForeignKey(
        "orders.Payment", on_delete=models.PROTECT, related_name="refund_tenders"
    )
    instrument = models.CharField(max_length=20)
    amount = models.DecimalField(**MONEY)
    gateway = models.CharField(max_length=40, blank=True, default="")
    gateway_reference = models.CharField(
        max_length=100, blank=True, default="", help_text="The gateway's refund id."
    )
    state = models.CharField(
        max_length=20, choices=TenderState.choices, default=TenderState.PENDING, db_index=True
    )
    bank_reference = models.CharField(
        max_length=100, blank=True, default="", help_text="ARN/RRN, when the gateway gives one."
    )
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    processed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the money moved (the gateway reported it processed, the payout was "
        "paid): the day the ledger and the finance export count it.",
    )
    attempt = models.PositiveSmallIntegerField(
        default=0,
        help_text="Failed submissions so far: part of the idempotency key, so a refund the "
        "gateway refused is sent again as a new one, and a timed-out one is not.",
    )

    class Meta:
        ordering = ["refund_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_tender_positive"),
            models.UniqueConstraint(
                fields=["gateway", "gateway_reference"],
                condition=~Q(gateway_reference=""),
                name="refund_tender_gateway_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.amount}"

    @property
    def idempotency_key(self) -> str:
        """Ours, per tender and submission: a retried task sends the same key."""
        suffix = f"-a{self.attempt}" if self.attempt else ""
        return f"oms-refund-{self.refund_id}-t{self.pk}{suffix}"


class CreditNote(models.Model):
    """The tax document of a refund: per unit taxable value and tax, plus fees
    and shipping, numbered in one sequence."""

    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="credit_note")
    number = models.CharField(max_length=30, unique=True)
    issued_at = models.DateTimeField()
    lines = models.JSONField(default=list)
    taxable_total = models.DecimalField(**MONEY)
    tax_total = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("A credit note is never edited.")
        super().save(*args, **kwargs)
