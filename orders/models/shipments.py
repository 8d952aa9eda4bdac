from django.db import models
from django_fsm import RETURN_VALUE, FSMField, transition

from oms.fsm import ConcurrentTransitionMixin

from ..states import (
    ShipmentKind,
    ShipmentState,
)
from .fields import MONEY
from .orders import Order


class Shipment(ConcurrentTransitionMixin, models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    kind = models.CharField(
        max_length=20, choices=ShipmentKind.choices, default=ShipmentKind.FORWARD
    )
    state = FSMField(default=ShipmentState.SHIPPED, choices=ShipmentState.choices, protected=True)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT
    )
    tracking_number = models.CharField(max_length=100, blank=True, default="")
    cod_collected = models.DecimalField(**MONEY, null=True, blank=True)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order_id", "pk"]

    def __str__(self) -> str:
        return f"shipment {self.pk} ({self.state})"

    @transition(
        field=state,
        source=ShipmentState.SHIPPED,
        target=RETURN_VALUE(ShipmentState.DELIVERED, ShipmentState.REFUSED),
    )
    def deliver(self, at, any_accepted: bool):
        self.delivered_at = at
        return ShipmentState.DELIVERED if any_accepted else ShipmentState.REFUSED
