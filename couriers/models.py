"""Courier orders: one per reverse pickup (a return) or forward shipment,
with what the courier gave back. Our reference is the courier's order id."""

from django.db import models
from django.db.models import Q


class Direction(models.TextChoices):
    REVERSE = "reverse", "Reverse pickup"  # from the customer to our location
    FORWARD = "forward", "Forward shipment"  # from our location to the customer


class CourierOrderState(models.TextChoices):
    PENDING = "pending", "Booking"  # queued; no AWB yet
    BOOKED = "booked", "Booked"  # AWB assigned, pickup scheduled
    FAILED = "failed", "Not booked"  # the last attempt failed; retried
    UNSERVICEABLE = "unserviceable", "Unserviceable"  # no courier at the pincode
    PICKED_UP = "picked_up", "Picked up"  # the courier has the parcel
    DELIVERED = "delivered", "Delivered"  # reached its destination


# How far a courier order has got; a tracking status never moves it back.
PROGRESS = {
    CourierOrderState.PENDING: 0,
    CourierOrderState.FAILED: 0,
    CourierOrderState.UNSERVICEABLE: 0,
    CourierOrderState.BOOKED: 1,
    CourierOrderState.PICKED_UP: 2,
    CourierOrderState.DELIVERED: 3,
}


class CourierOrder(models.Model):
    courier = models.CharField(max_length=20)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    reference = models.CharField(
        max_length=50, help_text="Our id, sent as the courier's order_id (RMA or RMA-S<shipment>)."
    )
    return_request = models.ForeignKey(
        "returns.Return", on_delete=models.PROTECT, related_name="courier_orders"
    )
    shipment = models.ForeignKey(
        "orders.Shipment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="courier_orders",
        help_text="The forward shipment this books.",
    )
    state = models.CharField(
        max_length=20,
        choices=CourierOrderState.choices,
        default=CourierOrderState.PENDING,
        db_index=True,
    )
    provider_order_id = models.CharField(max_length=40, blank=True, default="")
    provider_shipment_id = models.CharField(max_length=40, blank=True, default="")
    awb = models.CharField(max_length=40, blank=True, default="", db_index=True)
    courier_name = models.CharField(max_length=100, blank=True, default="")
    pickup_scheduled_at = models.DateTimeField(null=True, blank=True)
    pickup_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_status = models.CharField(max_length=60, blank=True, default="")
    last_status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["courier", "reference"], name="courier_order_unique_reference"
            ),
            models.UniqueConstraint(
                fields=["shipment"],
                condition=Q(shipment__isnull=False),
                name="courier_order_one_per_shipment",
            ),
            models.CheckConstraint(
                condition=Q(direction="reverse", shipment__isnull=True)
                | Q(direction="forward", shipment__isnull=False),
                name="courier_order_forward_has_shipment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.courier} {self.reference} ({self.state})"
