"""Taking an order in (native API and channel webhooks).

Through the API, refunds' wallet also pays the order's ``store_credit``
tenders in the same transaction, so an order whose store credit falls short
is refused whole (400) and credit is never spent on an order that was not
written. Channel webhooks (Shopify, WooCommerce) do not spend the wallet: a
"store credit" gateway there is the platform's own credit, already spent on
the platform."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from orders.models import Order
from orders.services import OrderData, order_create
from refunds.services.recovery import recoveries_apply_to_order
from refunds.wallet import wallet_pay_order


def order_take_in(
    *, data: OrderData, actor: EventActor, spend_store_credit: bool = False
) -> tuple[Order, bool]:
    """Create the order (or find it again: ``created`` False). For a new one:
    debit the customer's wallet for its ``store_credit`` tenders (API orders,
    ``spend_store_credit``), then apply what its customer still owes from an
    earlier return (``recoveries_apply_to_order``). One transaction."""
    with transaction.atomic():
        order, created = order_create(data=data, actor=actor)
        if created:
            if spend_store_credit and any(p.method == "store_credit" for p in data.payments):
                wallet_pay_order(order, f"{actor.kind}:{actor.label}")
            recoveries_apply_to_order(order, actor)
        return order, created
