from django.db import models

from .orders import Order


class ProcessedEvent(models.Model):
    """Inbound events already applied, so a redelivery changes nothing."""

    source = models.CharField(max_length=60)
    external_id = models.CharField(max_length=150)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="processed_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class OutboundMessage(models.Model):
    """Transactional outbox: a customer message (or storefront webhook) written
    in the same transaction as the change that caused it, delivered after
    commit by Celery, so none is lost and none is sent for a rolled-back change."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(max_length=20, default="email")
    to = models.CharField(max_length=255)
    template = models.CharField(max_length=60)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    headers = models.JSONField(
        default=dict, blank=True, help_text="Webhooks: fixed headers (event type, delivery id)."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Webhooks: not retried before this time."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.template} to {self.to} ({self.state})"
