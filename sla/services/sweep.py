"""The sweep's chunk lock: due legs taken in bulk with ``SKIP LOCKED``."""

from __future__ import annotations

from orders.models import Order
from returns.models import Return

from ..models import Leg
from ..states import OPEN_LEG_STATES


def sla_chunk_lock(leg_ids: list[int]) -> list[Leg]:
    """Lock the legs' orders, then their returns, then the open legs (the lock
    order of every return change), skipping rows another transaction holds.
    Four statements for the chunk. The legs come back in ``leg_ids`` order,
    each with its locked return (order, its channel and policy loaded) as
    ``return_request``; a leg whose order, return or row was held is left out."""
    if not leg_ids:
        return []
    owners = list(
        Leg.objects.filter(pk__in=leg_ids).values_list(
            "return_request_id", "return_request__order_id"
        )
    )
    order_ids = sorted({o for _, o in owners})
    locked_orders = set(
        Order.objects.select_for_update(skip_locked=True)
        .filter(pk__in=order_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return_ids = sorted({r for r, o in owners if o in locked_orders})
    returns = {
        r.pk: r
        for r in Return.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("order__channel", "policy")
        .filter(pk__in=return_ids)
        .order_by("pk")
    }
    legs = {
        g.pk: g
        for g in Leg.objects.select_for_update(skip_locked=True)
        .filter(pk__in=leg_ids, return_request_id__in=list(returns), state__in=OPEN_LEG_STATES)
        .order_by("pk")
    }
    out = []
    for pk in leg_ids:
        leg = legs.get(pk)
        if leg is not None:
            leg.return_request = returns[leg.return_request_id]
            out.append(leg)
    return out
