from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from ..states import Actor
from .orders import Order


class TimelineEvent(models.Model):
    """The one append-only timeline: order, unit, payment, shipment, return,
    refund, SLA and message events. Written only by ``orders.events``."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    entity = models.CharField(max_length=20)
    entity_id = models.CharField(max_length=40, blank=True, default="")
    type = models.CharField(max_length=60)
    from_state = models.CharField(max_length=40, blank=True, default="")
    to_state = models.CharField(max_length=40, blank=True, default="")
    actor_kind = models.CharField(max_length=20, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    source = models.CharField(max_length=60, blank=True, default="")
    external_id = models.CharField(max_length=150, blank=True, default="")
    message = models.CharField(max_length=500, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["order", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.entity}:{self.entity_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Timeline events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Timeline events are append-only.")


class ContactLog(models.Model):
    """A customer contact about an order, for repeat-contact measures."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="contacts")
    channel = models.CharField(max_length=20, default="phone")
    summary = models.CharField(max_length=500)
    resolved = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.order_id}: {self.summary[:40]}"
