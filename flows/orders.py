"""Taking an order in (native API and channel webhooks)."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from orders.models import Order
from orders.services import OrderData, order_create
from refunds.services.recovery import recoveries_apply_to_order


def order_take_in(*, data: OrderData, actor: EventActor) -> tuple[Order, bool]:
    """Create the order (or find it again: ``created`` False), then, for a new
    one, apply what its customer still owes from an earlier return
    (``recoveries_apply_to_order``). One transaction."""
    with transaction.atomic():
        order, created = order_create(data=data, actor=actor)
        if created:
            recoveries_apply_to_order(order, actor)
        return order, created
