from django.db import models

from .fields import MONEY


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
