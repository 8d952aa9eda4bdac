"""The doorstep-refusal return, opened by a delivery with refused units."""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from inventory.services import Move, stock_move_many
from inventory.services import location_default as inventory_location_default
from inventory.states import Bucket
from oms.errors import NotFound
from orders.events import EventActor
from orders.models import Payment, Unit
from orders.services import new_reference, units_transition
from orders.states import PaymentMethod, UnitState

from ..events import ReturnEventType, return_event
from ..models import Return, ReturnItem, ReturnReason
from ..states import RefundMethod, Resolution, ReturnState, ReturnType
from ..webhooks import return_webhook
from .common import policy_current


def doorstep_refusal_create(*, delivery, actor: EventActor) -> Return | None:
    """Delivering a shipment with refused units opens a doorstep_refusal return
    by itself: no pickup, the units ride back with the courier. Its estimate
    is refunds' (``flows.delivery`` records it with ``return_estimate_record``)."""
    if not delivery.refused:
        return None
    order = delivery.shipment.order
    policy = policy_current()
    reason = ReturnReason.objects.filter(code="refused_at_door").first()
    if reason is None:
        raise NotFound("Reason code refused_at_door is missing; run migrate.")
    units = list(
        Unit.objects.filter(pk__in=[u.pk for u in delivery.refused])
        .select_related("sku", "line")
        .order_by("pk")
    )
    payments = list(Payment.objects.filter(order=order).order_by("position"))
    all_units = [u for u in Unit.objects.filter(order=order) if u.state != UnitState.CANCELLED]
    cod = any(p.method == PaymentMethod.COD for p in payments)
    # Part prepaid, part cash: what the prepaid tenders paid beyond what the
    # customer keeps goes back to them (refunds caps it); all cash: nothing.
    prepaid = any(p.method != PaymentMethod.COD and p.captured_amount > 0 for p in payments)
    return_request = Return.objects.create(
        rma=new_reference("RMA"),
        order=order,
        type=ReturnType.DOORSTEP_REFUSAL,
        is_full_return=len(units) == len(all_units),
        state=ReturnState.IN_TRANSIT,
        policy=policy,
        refund_method=RefundMethod.STORE_CREDIT if cod and not prepaid else RefundMethod.ORIGINAL,
        location=delivery.shipment.location or inventory_location_default(),
        channel="courier",
        approved_at=timezone.now(),
    )
    items = ReturnItem.objects.bulk_create(
        [
            ReturnItem(
                return_request=return_request, unit=u, reason=reason, resolution=Resolution.REFUND
            )
            for u in units
        ]
    )
    counts: dict[int, int] = defaultdict(int)
    for u in units:
        counts[u.sku_id] += 1
    stock_move_many(
        [
            Move(s, return_request.location_id, n, None, Bucket.IN_TRANSIT)
            for s, n in counts.items()
        ],
        reason="refused_in_transit",
        reference=return_request.rma,
    )
    units_transition(
        units,
        "ride_back",
        actor=actor,
        message=f"riding back in {return_request.rma}",
        payload={"rma": return_request.rma},
    )
    return_event(
        return_request,
        ReturnEventType.CREATED,
        actor=actor,
        to_state=return_request.state,
        message=f"Doorstep refusal of {len(items)} unit(s)"
        + (": cash on delivery, nothing to refund" if cod and not prepaid else ""),
        payload={
            "type": return_request.type,
            "units": [u.pk for u in units],
            "policy_version": policy.version,
        },
    )
    # No customer message (the customer was at the door), but the storefront
    # hears of the return like any other.
    return_webhook(return_request, "return.created")
    return return_request


def return_estimate_record(return_request: Return, estimate: dict) -> None:
    """Store the refund estimate refunds worked out for a return returns wrote."""
    return_request.estimate = estimate
    Return.objects.filter(pk=return_request.pk).update(estimate=estimate)
