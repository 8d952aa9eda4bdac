from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from oms.crypto import EncryptedJSONField
from oms.fsm import ConcurrentTransitionMixin

from ..states import (
    PayoutRail,
    PayoutState,
)
from .fields import MONEY
from .refunds import Refund, RefundTender


class Payout(ConcurrentTransitionMixin, models.Model):
    """A bank or UPI transfer finance owes for one refund tender (cash on
    delivery refunded to the customer's account). Pending in finance's
    worklist until finance records the bank's UTR (paid: the tender is then
    issued), or failed when the bank returns it; the customer's corrected
    details put the same payout back to pending. ``details`` (holder name,
    account number, IFSC, UPI id) are encrypted at rest (``oms.crypto``)."""

    refund_tender = models.OneToOneField(
        RefundTender, on_delete=models.PROTECT, related_name="payout"
    )
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="payouts")
    reference = models.CharField(max_length=20, unique=True, help_text="Ours, in the bank file.")
    state = FSMField(
        default=PayoutState.PENDING, choices=PayoutState.choices, protected=True, db_index=True
    )
    rail = models.CharField(max_length=10, choices=PayoutRail.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    details = EncryptedJSONField(default=dict, blank=True)
    utr = models.CharField(max_length=22, blank=True, default="", help_text="The bank's reference.")
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True, db_index=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(state__in=PayoutState.values), name="payout_state_known"
            ),
            models.CheckConstraint(
                condition=Q(rail__in=PayoutRail.values), name="payout_rail_known"
            ),
            # Paid exactly when it carries the bank's UTR and the time it was paid.
            models.CheckConstraint(
                condition=(Q(state=PayoutState.PAID) & ~Q(utr="") & Q(paid_at__isnull=False))
                | (~Q(state=PayoutState.PAID) & Q(utr="") & Q(paid_at__isnull=True)),
                name="payout_paid_has_utr",
            ),
            models.CheckConstraint(
                condition=~Q(state=PayoutState.FAILED) | ~Q(failure_reason=""),
                name="payout_failed_has_reason",
            ),
            # One bank transaction pays one payout.
            models.UniqueConstraint(fields=["utr"], condition=~Q(utr=""), name="payout_utr_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency} ({self.state})"

    @transition(field=state, source=PayoutState.PENDING, target=PayoutState.PAID)
    def pay(self, utr, at):
        self.utr, self.paid_at, self.failure_reason = utr, at, ""

    @transition(field=state, source=PayoutState.PENDING, target=PayoutState.FAILED)
    def fail(self, reason, at):
        self.failure_reason, self.failed_at = reason[:500], at

    @transition(field=state, source=PayoutState.FAILED, target=PayoutState.PENDING)
    def correct(self, details):
        """The customer gave new details: the same payout is paid again."""
        self.details = details


class PayoutAttempt(models.Model):
    """Append-only history of a payout: each time it was paid, returned by
    the bank, or re-queued with corrected details; details are kept masked."""

    class Outcome(models.TextChoices):
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        CORRECTED = "corrected", "Details corrected"

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="attempts")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    utr = models.CharField(max_length=22, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    details_masked = models.CharField(max_length=200, blank=True, default="")
    actor = models.CharField(max_length=150, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ["payout_id", "at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["paid", "failed", "corrected"]),
                name="payout_attempt_outcome_known",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="paid") | ~Q(utr=""), name="payout_attempt_paid_has_utr"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payout_id} {self.outcome} {self.at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Payout history is append-only.")
        super().save(*args, **kwargs)
