from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django_fsm import RETURN_VALUE, FSMField, transition

from oms.fsm import ConcurrentTransitionMixin

from ..states import (
    PaymentMethod,
    PaymentState,
)
from .fields import MONEY
from .orders import Order


class Payment(ConcurrentTransitionMixin, models.Model):
    """One tender. Refunds are capped by captured − refunded, per tender."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    position = models.PositiveSmallIntegerField(default=0)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    amount = models.DecimalField(**MONEY, help_text="Amount tendered at checkout.")
    captured_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    refunded_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    state = FSMField(default=PaymentState.CAPTURED, choices=PaymentState.choices, protected=True)
    gateway = models.CharField(max_length=50, blank=True, default="")
    reference = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["order_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0), name="payment_captured_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0), name="payment_refunded_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(captured_amount__lte=F("amount")), name="payment_captured_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("captured_amount")),
                name="payment_refunded_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"

    @property
    def refundable(self) -> Decimal:
        return self.captured_amount - self.refunded_amount

    @transition(field=state, source=PaymentState.AUTHORISED, target=PaymentState.CAPTURED)
    def capture(self, amount):
        self.captured_amount = amount

    @transition(
        field=state,
        source=[
            PaymentState.PENDING,
            PaymentState.CAPTURED,
            # An order delivered in several shipments: cash collected at an
            # earlier door may already be partly or wholly given back (a
            # return refunded as store credit) when the next door collects.
            PaymentState.PARTIALLY_REFUNDED,
            PaymentState.REFUNDED,
        ],
        target=RETURN_VALUE(PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED),
    )
    def collect(self, amount):
        """Cash collected at the door, for the units the customer accepted."""
        self.captured_amount += amount
        if self.refunded_amount > 0:
            return PaymentState.PARTIALLY_REFUNDED
        return PaymentState.CAPTURED

    @transition(
        field=state,
        source=[PaymentState.PENDING, PaymentState.AUTHORISED],
        target=PaymentState.VOIDED,
    )
    def void(self):
        pass

    @transition(
        field=state,
        source=[PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED],
        target=RETURN_VALUE(PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED),
    )
    def record_refund(self, amount):
        self.refunded_amount += amount
        if self.refunded_amount >= self.captured_amount:
            return PaymentState.REFUNDED
        return PaymentState.PARTIALLY_REFUNDED


class LedgerEntry(models.Model):
    """Append-only money ledger of an order. ``amount`` is always positive;
    ``kind`` says which way it moved. Reconciles as
    captured − refunded − credit issued − paid out = retained."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "Captured at checkout"
        COD_COLLECTION = "cod_collection", "Cash collected at delivery"
        EXCHANGE_COLLECTION = "exchange_collection", "Price difference collected"
        REFUND = "refund", "Refunded to the original tender"
        STORE_CREDIT = "store_credit", "Store credit issued"
        PAYOUT = "payout", "Bank/UPI payout"
        # A recovery (refunds.Recovery): what the customer owes once a unit
        # failed QC after its refund or replacement left. Opened is a
        # receivable, not cash; collected is cash in; written off closes it.
        RECOVERY_OPENED = "recovery_opened", "Owed by the customer (recovery)"
        RECOVERY_COLLECTED = "recovery_collected", "Recovery collected"
        RECOVERY_WRITTEN_OFF = "recovery_written_off", "Recovery written off"

    INFLOWS = (
        Kind.CAPTURE,
        Kind.COD_COLLECTION,
        Kind.EXCHANGE_COLLECTION,
        Kind.RECOVERY_COLLECTED,
    )

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "pk"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Ledger entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are append-only.")
