"""Taking an order in through the API: orders writes the order, then
refunds' wallet pays its ``store_credit`` tenders, in one transaction, so an
order whose store credit falls short is refused whole (400) and credit is
never spent on an order that was not written.

Channel webhooks (Shopify, WooCommerce) keep calling ``order_create``: a
"store credit" gateway there is the platform's own credit, already spent on
the platform, not this wallet."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from orders.models import Order
from orders.services import OrderData, order_create
from refunds.wallet import wallet_pay_order


def order_place(*, data: OrderData, actor: EventActor) -> tuple[Order, bool]:
    """``orders.services.order_create`` plus the wallet debit of a new order;
    the existing order (created False) is returned as it is."""
    with transaction.atomic():
        order, created = order_create(data=data, actor=actor)
        if created and any(p.method == "store_credit" for p in data.payments):
            wallet_pay_order(order, f"{actor.kind}:{actor.label}")
        return order, created
