"""Courier tracking turned into return events (the webhook's stored
delivery, processed by the intake task), and the printable return label."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from couriers.addresses import address_lines, customer_address, location_address
from couriers.label import label_pdf
from couriers.models import PROGRESS, CourierOrder, CourierOrderState, Direction
from couriers.selectors import courier_order_for_awb
from couriers.services import courier_order_lock, courier_order_tracked
from couriers.tracking import STATUS_TABLE, Milestone, milestone_for, ndr_reason, status_key
from inventory.services import location_default
from oms.errors import ApplicationError
from orders.events import EventActor
from orders.models import Shipment
from orders.states import Actor
from returns.models import Return
from returns.services import (
    ReturnEventData,
    return_courier_note,
    return_event_claim,
    return_event_handle,
    return_get_for_update,
)
from returns.states import NO_PICKUP

TRACKING = EventActor(Actor.COURIER, None, "courier tracking")


class TrackingNotYetKnown(Exception):
    """A tracking update for an AWB we have not recorded yet (the booking's
    answer may still be on its way): the delivery is retried."""


# --- tracking (inside the stored delivery's transaction) -----------------------------

_TARGET = {
    Milestone.PICKED_UP: CourierOrderState.PICKED_UP,
    Milestone.DELIVERED: CourierOrderState.DELIVERED,
    Milestone.PICKUP_FAILED: CourierOrderState.BOOKED,
}


def _when(value: object) -> datetime | None:
    from zoneinfo import ZoneInfo

    text = str(value or "").strip()
    for fmt in ("%d %m %Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M:%S"):
        try:
            at = datetime.strptime(text[:19], fmt).replace(tzinfo=ZoneInfo("Asia/Kolkata"))
        except ValueError:
            continue
        return min(at, timezone.now())
    return None


def tracking_apply(*, courier: str, payload: object, delivery_key: str) -> str:
    """One tracking update. Returns what happened, for the delivery's note:
    ``applied``, ``noted`` (timeline only), ``duplicate`` or ``superseded``
    (out of order: the return is already past it), ``refused`` (the return's
    state refuses it; kept on the timeline)."""
    if not isinstance(payload, dict):
        raise ApplicationError("body: a tracking update is a JSON object.", extra={"field": "body"})
    status = str(payload.get("current_status") or payload.get("shipment_status") or "").strip()
    if not status:
        raise ApplicationError("current_status: missing.", extra={"field": "current_status"})
    awb = str(payload.get("awb") or "").strip()
    reference = str(payload.get("order_id") or "").strip()
    found = courier_order_for_awb(courier, awb, reference)
    if found is None:
        raise TrackingNotYetKnown(f"no {courier} order with AWB {awb!r} or order id {reference!r}")
    return_request = return_get_for_update(found.return_request.rma)
    order = courier_order_lock(found.pk)
    forward = order.direction == Direction.FORWARD
    milestone = milestone_for(status, forward=forward)
    at = _when(payload.get("current_timestamp"))
    stamp = str(payload.get("current_timestamp") or delivery_key)
    event_id = f"{courier}:{awb or reference}:{status_key(status)}:{stamp}"[:150]
    info = {"awb": awb, "status": status, "courier": courier, "direction": order.direction}
    if order.shipment_id:
        info["shipment"] = order.shipment_id

    def note(why: str) -> None:
        return_courier_note(
            return_request,
            message=f"{courier}: {status} (AWB {awb}){why}",
            payload=info,
            actor=TRACKING,
            occurred_at=at,
        )

    if milestone == Milestone.NOTE:
        known = status_key(status) in STATUS_TABLE
        note("" if known else ": status not in the table, nothing changed")
        courier_order_tracked(order, status=status, state=None)
        return "noted"
    target = _TARGET[milestone]
    now_at = PROGRESS[CourierOrderState(order.state)]
    if PROGRESS[target] < now_at or (
        milestone != Milestone.PICKUP_FAILED and PROGRESS[target] == now_at
    ):
        note(": already past this step, nothing changed")
        return "superseded"
    data = ReturnEventData(type="", event_id=event_id)
    if not return_event_claim(return_request, data):
        return "duplicate"
    try:
        with transaction.atomic():
            _apply_milestone(return_request, order, milestone, payload, event_id, at)
    except ApplicationError as exc:
        note(f": not applied ({exc.message})")
        courier_order_tracked(order, status=status, state=None)
        return "refused"
    courier_order_tracked(order, status=status, state=target)
    return "applied"


def _apply_milestone(
    return_request: Return,
    order: CourierOrder,
    milestone: Milestone,
    payload: dict,
    event_id: str,
    at: datetime | None,
) -> None:
    from .delivery import shipment_deliver
    from .reactions import return_changed

    if order.direction == Direction.FORWARD:
        shipment = Shipment.objects.get(pk=order.shipment_id)
        when = max(at or timezone.now(), shipment.shipped_at)
        shipment_deliver(
            shipment_id=shipment.pk, actor=TRACKING, delivered_at=when, external_id=event_id
        )
        return_courier_note(
            return_request,
            message=f"Shipment {shipment.pk} delivered to the customer (AWB {order.awb})",
            payload={"shipment": shipment.pk, "awb": order.awb, "kind": shipment.kind},
            actor=TRACKING,
            occurred_at=when,
        )
        return
    if milestone == Milestone.PICKED_UP:
        data = ReturnEventData(type="pickup_completed", event_id=event_id)
    elif milestone == Milestone.PICKUP_FAILED:
        data = ReturnEventData(type="pickup_failed", event_id=event_id, reason=ndr_reason(payload))
    else:
        location = return_request.location or location_default()
        data = ReturnEventData(
            type="received", event_id=event_id, location=location.code if location else None
        )
    return_event_handle(return_request, data, TRACKING)
    return_changed(return_request, TRACKING)


# --- label ------------------------------------------------------------------------


def return_label_pdf(return_request: Return) -> bytes:
    """The printable label for self-ship or store drop."""
    location = return_request.location or location_default()
    to = address_lines(location_address(location)) if location else []
    if location and not to:
        to = [location.name]
    units = [
        f"{i.unit.sku.code}  {i.unit.sku.name}  (unit {i.unit_id})"
        for i in return_request.items.select_related("unit__sku").order_by("pk")
        if i.resolution not in NO_PICKUP
    ]
    return label_pdf(
        rma=return_request.rma,
        to_lines=to,
        from_lines=address_lines(customer_address(return_request.order)),
        units=units,
    )
