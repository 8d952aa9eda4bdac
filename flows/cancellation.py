"""Cancelling units of an order before they ship."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from orders.models import Order
from orders.services import Cancellation, order_cancel_units
from refunds.cancellation import refund_for_cancellation
from returns.services import policy_current


def order_cancel(
    *,
    order: Order,
    unit_ids: list[int] | None = None,
    actor: EventActor,
    reason: str = "",
    external_id: str = "",
    lines: list[tuple[int, int]] | None = None,
    everything: bool = False,
) -> Cancellation:
    """Cancel the units (orders: stock, cash on delivery, messages), then
    refund what prepaid tenders paid for them (refunds)."""
    with transaction.atomic():
        result = order_cancel_units(
            order=order,
            unit_ids=unit_ids,
            actor=actor,
            reason=reason,
            external_id=external_id,
            lines=lines,
            everything=everything,
        )
        if result.prepaid_due > 0:
            refund = refund_for_cancellation(result, actor, policy=policy_current())
            if refund is not None:
                result.refunds.append(refund)
        return result
