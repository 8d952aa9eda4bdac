"""The one lock order for a change to an order.

Every change that touches an order's units, payments or returns locks the
order row first, then its units (``units_lock``, primary-key order), then its
payments. Shipping, delivery, cancellation, refunds and returns all take them
in that order, so two of them racing cannot deadlock.
"""

from __future__ import annotations

from ..models import Order


def order_lock(order_id: int) -> int:
    """Lock the order row for the rest of the transaction (a no-op on SQLite,
    whose IMMEDIATE transactions already serialise writers). Returns the id."""
    list(Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True))
    return order_id
