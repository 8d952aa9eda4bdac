from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from .fields import MONEY
from .refunds import Refund


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
