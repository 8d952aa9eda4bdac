"""What the storefronts sent us, and the platform refunds reconciled from it.

A webhook is stored byte for byte before anything else happens, so a payload
that later fails can be read, fixed around and replayed. A dead letter is a
``WebhookDelivery`` in state ``dead``: one table, one lifecycle, no copying.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from oms.fsm import ConcurrentTransitionMixin

from .states import DeliveryState

MONEY = {"max_digits": 14, "decimal_places": 2}
D = DeliveryState


class WebhookDelivery(ConcurrentTransitionMixin, models.Model):
    channel = models.ForeignKey(
        "orders.Channel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The storefront channel; empty for a courier's tracking webhook.",
    )
    platform = models.CharField(max_length=20)
    topic = models.CharField(max_length=100)
    delivery_id = models.CharField(
        max_length=150, help_text="The platform's delivery id; a redelivery is not stored twice."
    )
    body = models.BinaryField(help_text="The request body exactly as received.")
    headers = models.JSONField(default=dict, blank=True, help_text="The platform's headers.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    state = FSMField(default=D.RECEIVED, choices=D.choices, protected=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    note = models.CharField(max_length=500, blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    resource_id = models.CharField(
        max_length=100, blank=True, default="", help_text="Platform id of the order or refund."
    )
    resource_updated_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "delivery_id"], name="webhook_delivery_unique_per_channel"
            ),
            models.UniqueConstraint(
                fields=["platform", "delivery_id"],
                condition=Q(channel__isnull=True),
                name="webhook_delivery_unique_per_courier",
            ),
        ]
        indexes = [models.Index(fields=["channel", "resource_id"])]

    def __str__(self) -> str:
        return f"{self.platform} {self.topic} {self.delivery_id} ({self.state})"

    @property
    def channel_code(self) -> str:
        return self.channel.code if self.channel_id else ""

    @property
    def body_text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")

    @transition(field=state, source=[D.RECEIVED, D.FAILED], target=D.PROCESSED)
    def mark_processed(self, at, note: str = ""):
        self.attempts += 1
        self.processed_at = at
        self.note = note[:500]
        self.last_error = ""

    @transition(field=state, source=[D.RECEIVED, D.FAILED], target=D.IGNORED)
    def mark_ignored(self, at, note: str):
        self.attempts += 1
        self.processed_at = at
        self.note = note[:500]

    @transition(field=state, source=[D.RECEIVED, D.FAILED], target=D.FAILED)
    def mark_failed(self, error: str):
        self.attempts += 1
        self.last_error = error

    @transition(field=state, source=[D.RECEIVED, D.FAILED], target=D.DEAD)
    def mark_dead(self, error: str):
        self.attempts += 1
        self.last_error = error

    @transition(field=state, source=D.DEAD, target=D.RECEIVED)
    def requeue(self):
        """Replay: the delivery runs again from the stored body; its error stays
        visible until an attempt replaces it."""


class PlatformRefund(models.Model):
    """A refund made on the storefront, reconciled onto our order. Amounts are
    exactly what the platform said; they are not recomputed."""

    channel = models.ForeignKey("orders.Channel", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=100)
    platform = models.CharField(max_length=20)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(
        **MONEY, help_text="Money returned: the sum of the refund transactions."
    )
    lines_subtotal = models.DecimalField(**MONEY, default=Decimal("0"))
    lines_tax = models.DecimalField(**MONEY, default=Decimal("0"))
    shipping = models.DecimalField(**MONEY, default=Decimal("0"))
    adjustments = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), help_text="Signed, as sent."
    )
    note = models.CharField(max_length=500, blank=True, default="")
    processed_at = models.DateTimeField()
    delivery = models.ForeignKey(
        WebhookDelivery, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["processed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="platform_refund_unique_per_channel"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="platform_refund_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} refund {self.external_id} ({self.amount} {self.currency})"


class PlatformRefundLine(models.Model):
    refund = models.ForeignKey(PlatformRefund, on_delete=models.PROTECT, related_name="lines")
    line = models.ForeignKey("orders.Line", on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=100, blank=True, default="")
    quantity = models.PositiveIntegerField()
    subtotal = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    restock_type = models.CharField(max_length=30, blank=True, default="")

    class Meta:
        ordering = ["refund_id", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="platform_refund_line_quantity_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line_id} x{self.quantity}: {self.subtotal} + {self.tax}"


class PlatformRefundUnit(models.Model):
    """One of our units that a platform refund names. A unit is refunded on the
    platform at most once."""

    refund_line = models.ForeignKey(
        PlatformRefundLine, on_delete=models.PROTECT, related_name="units"
    )
    unit = models.OneToOneField(
        "orders.Unit", on_delete=models.PROTECT, related_name="platform_refund"
    )
    subtotal = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["refund_line_id", "unit_id"]

    def __str__(self) -> str:
        return f"unit {self.unit_id}: {self.subtotal} + {self.tax}"
