from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from oms.crypto import EncryptedJSONField

from .states import (
    PayoutRail,
    PayoutState,
    RecoveryMethod,
    RecoveryReason,
    RecoveryState,
    RefundKind,
    RefundState,
    TenderState,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


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


class StoreCredit(models.Model):
    customer = models.ForeignKey(
        "orders.Customer", on_delete=models.PROTECT, related_name="store_credits"
    )
    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="store_credit")
    code = models.CharField(max_length=30, unique=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.code} {self.amount}"


class GatewayRefund(models.Model):
    """What the built-in offline gateway recorded; one row per idempotency key."""

    gateway = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=150, unique=True)
    payment = models.ForeignKey(
        "orders.Payment", null=True, on_delete=models.PROTECT, related_name="+"
    )
    instrument = models.CharField(max_length=20)
    amount = models.DecimalField(**MONEY)
    reference = models.CharField(max_length=100, unique=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.reference


class Recovery(ConcurrentTransitionMixin, models.Model):
    """Money the customer owes back: a unit failed QC after its refund was
    paid (instant refund) or after its replacement shipped (exchange-first),
    so the unit goes back to the customer while the money or the replacement
    stays with them. Opened in the QC transaction, on the order's ledger, in
    finance's and CX's queue until collected or written off."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="recoveries")
    return_request = models.ForeignKey(
        "returns.Return", on_delete=models.PROTECT, related_name="recoveries"
    )
    unit = models.OneToOneField(
        "orders.Unit",
        on_delete=models.PROTECT,
        related_name="recovery",
        help_text="The unit that failed QC; one recovery per unit.",
    )
    customer = models.ForeignKey(
        "orders.Customer", on_delete=models.PROTECT, related_name="recoveries"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="recoveries"
    )
    replacement_unit = models.ForeignKey(
        "orders.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=40, choices=RecoveryReason.choices)
    state = FSMField(
        default=RecoveryState.OPEN, choices=RecoveryState.choices, protected=True, db_index=True
    )
    method = models.CharField(
        max_length=20, choices=RecoveryMethod.choices, blank=True, default=RecoveryMethod.NONE
    )
    reference = models.CharField(
        max_length=150, blank=True, default="", help_text="Charge id, payment reference or order."
    )
    payment_link = models.CharField(max_length=500, blank=True, default="")
    applied_order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applied_recoveries",
        help_text="The customer's next order it was applied to.",
    )
    note = models.CharField(max_length=500, blank=True, default="", help_text="Write-off reason.")
    settled_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    written_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        permissions = [("write_off_recovery", "Can write off an amount a customer owes")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_amount_positive"),
            models.CheckConstraint(
                condition=Q(state__in=RecoveryState.values), name="recovery_state_known"
            ),
            models.CheckConstraint(
                condition=~Q(state=RecoveryState.OPEN)
                | Q(collected_at__isnull=True, written_off_at__isnull=True),
                name="recovery_open_unsettled",
            ),
            models.CheckConstraint(
                condition=~Q(state=RecoveryState.COLLECTED)
                | (Q(collected_at__isnull=False) & ~Q(reference="")),
                name="recovery_collected_has_reference",
            ),
            models.CheckConstraint(
                condition=~Q(state=RecoveryState.WRITTEN_OFF)
                | (Q(written_off_at__isnull=False) & ~Q(note="")),
                name="recovery_written_off_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"recovery {self.pk} {self.amount} {self.currency} ({self.state})"

    @transition(field=state, source=RecoveryState.OPEN, target=RecoveryState.COLLECTED)
    def collect(self, *, how, reference, at, by=""):
        self.method, self.reference, self.collected_at = how, reference[:150], at
        self.settled_by = by[:150]

    @transition(field=state, source=RecoveryState.OPEN, target=RecoveryState.WRITTEN_OFF)
    def write_off(self, *, reason, at, by=""):
        self.method, self.note, self.written_off_at = RecoveryMethod.WRITE_OFF, reason[:500], at
        self.settled_by = by[:150]


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


class Wallet(models.Model):
    """A customer's store credit: one balance in one currency, moved only by
    ``WalletEntry`` rows (refunds.wallet) under this row's lock."""

    customer = models.OneToOneField(
        "orders.Customer", on_delete=models.PROTECT, related_name="wallet"
    )
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(**MONEY, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [
            ("redeem_store_credit", "Can spend a customer's store credit"),
            ("grant_goodwill_credit", "Can grant goodwill store credit"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_not_negative")
        ]

    def __str__(self) -> str:
        return f"wallet {self.customer_id}: {self.balance} {self.currency}"


class WalletEntryQuerySet(models.QuerySet):
    """Entries are append-only: no bulk update or delete through the ORM."""

    def update(self, **kwargs):
        raise ValidationError("Wallet entries are append-only.")

    def delete(self):
        raise ValidationError("Wallet entries are append-only.")


class WalletEntry(models.Model):
    """One movement of a wallet: ``amount`` is signed (credits positive,
    debits and expiries negative) and ``balance_after`` is the wallet's balance
    once it applied, so the balance is the sum of the entries. Never edited or
    deleted (the ORM refuses, and a database trigger too)."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Credit: refund as store credit"
        GOODWILL = "goodwill", "Credit: goodwill"
        MIGRATED = "migrated", "Credit: store credit code before the wallet"
        REDEMPTION = "redemption", "Debit: redeemed"
        ORDER = "order", "Debit: paid an order"
        EXPIRY = "expiry", "Debit: expired"

    CREDITS = (Kind.REFUND, Kind.GOODWILL, Kind.MIGRATED)

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    balance_after = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=100, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="wallet_entries"
    )
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Credits: when unspent credit expires."
    )
    idempotency_key = models.CharField(max_length=150, null=True, blank=True, unique=True)
    details = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = WalletEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "wallet entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["refund", "goodwill", "migrated"], amount__gt=0)
                | Q(kind__in=["redemption", "order", "expiry"], amount__lt=0),
                name="wallet_entry_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="wallet_entry_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Wallet entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Wallet entries are append-only.")


class WalletLot(models.Model):
    """What is left of one credit entry: debits spend the lots that expire
    soonest first, and expiry takes what is left of a lot past its date. Not
    the ledger (that is ``WalletEntry``); the sum of ``remaining`` equals the
    balance."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="lots")
    entry = models.OneToOneField(WalletEntry, on_delete=models.PROTECT, related_name="lot")
    amount = models.DecimalField(**MONEY)
    remaining = models.DecimalField(**MONEY)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(remaining__gte=0), name="wallet_lot_not_negative"),
            models.CheckConstraint(
                condition=Q(remaining__lte=F("amount")), name="wallet_lot_within_credit"
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.remaining}/{self.amount}"


class LoyaltyAdjustment(models.Model):
    """The loyalty points a refund reverses (earned) and gives back
    (redeemed): the sum of its units' shares, fixed at intake."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="loyalty_adjustments"
    )
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, related_name="loyalty_adjustment"
    )
    earned_reversed = models.PositiveIntegerField(default=0)
    redeemed_returned = models.PositiveIntegerField(default=0)
    units = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "pk"]

    def __str__(self) -> str:
        return f"refund {self.refund_id}: -{self.earned_reversed} / +{self.redeemed_returned}"


class LoyaltyUnitReversal(models.Model):
    """A unit's points are reversed once, whatever refunds it is part of."""

    adjustment = models.ForeignKey(
        LoyaltyAdjustment, on_delete=models.PROTECT, related_name="unit_rows"
    )
    unit = models.OneToOneField(
        "orders.Unit", on_delete=models.PROTECT, related_name="loyalty_reversal"
    )

    def __str__(self) -> str:
        return f"unit {self.unit_id}"


class GatewayWebhook(models.Model):
    """A payment gateway's webhook, stored byte for byte once its signature
    checked out; one row per gateway event id, so a redelivery changes nothing."""

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=150)
    event_type = models.CharField(max_length=100)
    body = models.BinaryField(help_text="The request body exactly as received.")
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    gateway_refund_id = models.CharField(max_length=100, blank=True, default="")
    outcome = models.CharField(max_length=500, blank=True, default="")
    processed_at = models.DateTimeField(
        null=True, blank=True, help_text="Null until applied; a redelivery applies it then."
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "event_id"], name="gateway_webhook_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_type} {self.event_id}"
