from decimal import Decimal

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from oms.fsm import ConcurrentTransitionMixin

from ..states import UnitState
from .fields import MONEY
from .orders import Line, Order


class Unit(ConcurrentTransitionMixin, models.Model):
    """One physical piece of a line, with its own lifecycle. Only services call
    the transitions below, and each call writes a timeline row."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="units")
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="units")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    index = models.PositiveIntegerField(help_text="1..quantity within the line")
    state = FSMField(
        default=UnitState.ORDERED, choices=UnitState.choices, protected=True, db_index=True
    )
    net_paid = models.DecimalField(**MONEY, help_text="Fixed at intake by the allocation rule.")
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    discount_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT
    )
    shipment = models.ForeignKey(
        "Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="units"
    )
    serial = models.CharField(max_length=100, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Refunded by the storefront itself (a Shopify or WooCommerce refund that
    # intake reconciled): the money is back with the customer, so the unit can
    # never be returned for a refund here. Its lifecycle state is left alone:
    # the platform says where the money went, not where the goods are.
    platform_refunded_at = models.DateTimeField(null=True, blank=True)
    platform_refund_ref = models.CharField(
        max_length=150, blank=True, default="", help_text="platform:refund id"
    )
    # The unit's share of the order's loyalty points, fixed at intake
    # (orders.loyalty): what returning it reverses and gives back.
    loyalty_earned = models.PositiveIntegerField(default=0)
    loyalty_redeemed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["line_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["line", "index"], name="unit_unique_index"),
            models.CheckConstraint(condition=Q(net_paid__gte=0), name="unit_net_paid_not_negative"),
        ]

    def __str__(self) -> str:
        return f"unit {self.pk} ({self.sku_id}, {self.state})"

    # forward
    @transition(field=state, source=UnitState.ORDERED, target=UnitState.ALLOCATED)
    def allocate(self, location):
        self.location = location

    @transition(field=state, source=UnitState.ALLOCATED, target=UnitState.SHIPPED)
    def ship(self, shipment):
        self.shipment = shipment

    @transition(field=state, source=UnitState.SHIPPED, target=UnitState.DELIVERED)
    def deliver(self, at):
        self.delivered_at = at

    @transition(field=state, source=UnitState.SHIPPED, target=UnitState.REFUSED)
    def refuse(self):
        pass

    @transition(
        field=state, source=[UnitState.ORDERED, UnitState.ALLOCATED], target=UnitState.CANCELLED
    )
    def cancel(self):
        pass

    # reverse
    @transition(field=state, source=UnitState.DELIVERED, target=UnitState.RETURN_REQUESTED)
    def request_return(self):
        pass

    @transition(field=state, source=UnitState.REFUSED, target=UnitState.RETURN_IN_TRANSIT)
    def ride_back(self):
        """A unit refused at the door rides back with the courier."""

    @transition(field=state, source=UnitState.RETURN_REQUESTED, target=UnitState.RETURN_IN_TRANSIT)
    def pick_up(self):
        pass

    @transition(field=state, source=UnitState.RETURN_REQUESTED, target=UnitState.DELIVERED)
    def cancel_return(self):
        pass

    @transition(
        field=state,
        source=[UnitState.RETURN_IN_TRANSIT, UnitState.RETURN_REQUESTED],
        target=UnitState.RETURNED,
    )
    def receive(self, location):
        self.location = location

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.PENDING_REFUND)
    def pass_qc_for_refund(self):
        pass

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.PENDING_EXCHANGE)
    def pass_qc_for_exchange(self):
        pass

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.RETURN_REJECTED)
    def fail_qc(self):
        pass

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.NOT_CHARGED)
    def pass_qc_uncharged(self):
        """A cash-on-delivery unit refused at the door passed QC: never paid, nothing to refund."""

    @transition(field=state, source=UnitState.PENDING_EXCHANGE, target=UnitState.PENDING_REFUND)
    def convert_exchange_to_refund(self):
        """The exchange could not be shipped: the accepted unit is refunded instead."""

    @transition(field=state, source=UnitState.PENDING_REFUND, target=UnitState.REFUNDED)
    def mark_refunded(self):
        pass

    @transition(field=state, source=UnitState.PENDING_EXCHANGE, target=UnitState.REPLACED)
    def mark_replaced(self):
        pass

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.IN_REPAIR)
    def pass_qc_for_repair(self):
        pass

    @transition(field=state, source=UnitState.IN_REPAIR, target=UnitState.REPAIRED)
    def send_back_repaired(self):
        pass

    @transition(field=state, source=UnitState.RETURN_REQUESTED, target=UnitState.KEPT)
    def keep(self):
        pass

    @transition(
        field=state, source=UnitState.RETURN_REJECTED, target=UnitState.RETURNED_TO_CUSTOMER
    )
    def deliver_back(self):
        """A unit that failed QC reached the customer again: nothing more happens to it."""
