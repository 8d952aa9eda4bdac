"""What a courier booking records on a return: the AWB, the courier's name
and the scheduled pickup, or why there is none. The couriers app talks to
the courier; ``flows.couriers`` calls these inside its transactions."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from orders.events import EventActor

from ..events import ReturnEventType, return_event
from ..messages import notify
from ..models import Return
from ..states import PickupStatus


def _set(return_request: Return, **fields) -> None:
    Return.objects.filter(pk=return_request.pk).update(**fields)
    for name, value in fields.items():
        setattr(return_request, name, value)


def return_pickup_requested(return_request: Return, *, courier: str, actor: EventActor) -> None:
    """The return waits for the courier's booking (queued in the same transaction)."""
    _set(return_request, courier=courier, pickup_status=PickupStatus.BOOKING, pickup_error="")


def return_pickup_booked(
    return_request: Return,
    *,
    awb: str,
    courier_name: str,
    scheduled_at: datetime | None,
    actor: EventActor,
    rescheduled: bool = False,
) -> None:
    """AWB assigned and pickup scheduled: the pickup SLA leg runs from now."""
    _set(
        return_request,
        pickup_status=PickupStatus.BOOKED,
        awb=awb,
        courier_name=courier_name,
        pickup_scheduled_at=scheduled_at,
        pickup_booked_at=timezone.now(),
        pickup_error="",
    )
    when = timezone.localtime(scheduled_at).strftime("%d %b %Y") if scheduled_at else "soon"
    return_event(
        return_request,
        ReturnEventType.PICKUP_BOOKED,
        actor=actor,
        message=f"{'Pickup rescheduled' if rescheduled else 'Pickup booked'} with {courier_name}: "
        f"AWB {awb}, pickup {when}",
        payload={
            "awb": awb,
            "courier": return_request.courier,
            "courier_name": courier_name,
            "pickup_scheduled_at": scheduled_at.isoformat() if scheduled_at else None,
            "rescheduled": rescheduled,
        },
    )
    notify(return_request, "pickup_booked")


def return_pickup_not_booked(return_request: Return, *, error: str, actor: EventActor) -> None:
    """The courier refused or failed: the return shows "pickup not booked" in
    the console queue while the booking job retries."""
    first = return_request.pickup_status != PickupStatus.NOT_BOOKED
    _set(return_request, pickup_status=PickupStatus.NOT_BOOKED, pickup_error=error[:500])
    if first:
        return_event(
            return_request,
            ReturnEventType.PICKUP_NOT_BOOKED,
            actor=actor,
            message=f"Pickup not booked: {error}"[:500],
            payload={"error": error[:500]},
        )


def return_pickup_unserviceable(return_request: Return, *, reason: str, actor: EventActor) -> None:
    """No reverse pickup at the customer's pincode: self-ship or store drop
    with the printable label, where the policy allows."""
    _set(return_request, pickup_status=PickupStatus.UNSERVICEABLE, pickup_error=reason[:500])
    return_event(
        return_request,
        ReturnEventType.PICKUP_UNSERVICEABLE,
        actor=actor,
        message=f"No courier pickup: {reason}"[:500],
        payload={"reason": reason[:500]},
    )
    notify(return_request, "pickup_unserviceable")


def return_courier_note(
    return_request: Return,
    *,
    message: str,
    payload: dict,
    actor: EventActor,
    occurred_at: datetime | None = None,
    external_id: str = "",
) -> None:
    """A tracking update that changes no state (in transit, out for pickup,
    an unknown status, one already applied): kept on the timeline."""
    return_event(
        return_request,
        ReturnEventType.COURIER_TRACKING,
        actor=actor,
        message=message[:500],
        payload=payload,
        occurred_at=occurred_at,
        source="courier",
        external_id=external_id[:150],
    )


def return_shipment_booked(
    return_request: Return, *, shipment_id: int, awb: str, courier_name: str, actor: EventActor
) -> None:
    """A forward shipment (exchange, replacement, repair, failed QC) has its AWB."""
    return_event(
        return_request,
        ReturnEventType.SHIPMENT_BOOKED,
        actor=actor,
        message=f"Shipment {shipment_id} booked with {courier_name}: AWB {awb}",
        payload={"shipment": shipment_id, "awb": awb, "courier_name": courier_name},
    )
