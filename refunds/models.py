from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from .states import RefundKind, RefundState

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
        field=state, source=[RefundState.PENDING, RefundState.FAILED], target=RefundState.ISSUED
    )
    def issue(self, at):
        self.issued_at = at
        self.failure_reason = ""

    @transition(
        field=state, source=[RefundState.PENDING, RefundState.FAILED], target=RefundState.FAILED
    )
    def fail(self, reason):
        self.failure_reason = reason[:500]


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
    gateway_reference = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["refund_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_tender_positive")
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.amount}"


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
