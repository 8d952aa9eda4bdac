"""Courier use cases: book a return's reverse pickup and the forward
shipments of the return flow, reschedule a pickup, and turn the courier's
tracking into return events.

The courier is reached between transactions, never inside one: read what
to send, call the courier, then record the answer in one transaction with
the return locked (and its reactions). A failure records "pickup not
booked" on the return and raises ``BookLater`` for the job to retry."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from couriers.addresses import customer_address, location_address
from couriers.base import CourierError, CourierOrderData, Parcel, Unserviceable
from couriers.config import MANUAL, courier_get, courier_name_for, shiprocket_configured
from couriers.models import CourierOrder, CourierOrderState, Direction
from couriers.selectors import (
    booking_of,
    reverse_order_for_return,
    shipments_booked,
)
from couriers.services import (
    courier_order_booked,
    courier_order_failed,
    courier_order_lock,
    courier_order_open,
    courier_order_rearm,
    courier_order_unserviceable,
)
from inventory.services import location_default
from oms.errors import ApplicationError, NotFound
from oms.jobs import job_enqueue
from orders.events import EventActor
from orders.models import Channel, Shipment
from orders.services import shipment_tracking_set
from orders.states import Actor, ShipmentKind, ShipmentState, UnitState
from returns.models import Return, ReturnItem
from returns.services import (
    return_courier_note,
    return_get_for_update,
    return_pickup_booked,
    return_pickup_not_booked,
    return_pickup_requested,
    return_pickup_unserviceable,
    return_shipment_booked,
)
from returns.states import NO_PICKUP, PickupStatus, ReturnState, ReturnType

BOOKING = EventActor.system("courier booking")
TRACKING = EventActor(Actor.COURIER, None, "courier tracking")


class BookLater(Exception):
    """The courier failed in a way worth retrying; the job retries with backoff."""


# --- reacting to a return change (inside its transaction) ------------------------


def courier_react(return_request: Return, actor: EventActor) -> None:
    """Queue the bookings a change calls for: the reverse pickup of an
    approved return that needs one, and each forward shipment of the return
    (exchange, replacement, repair, failed QC) not booked yet. Nothing (and
    no query) when no courier is configured: the manual path."""
    if not shiprocket_configured():
        return
    setting = (
        Channel.objects.filter(pk=return_request.order.channel_id)
        .values_list("courier", flat=True)
        .first()
    )
    name = courier_name_for(setting or "")
    if name == MANUAL:
        return
    items = list(
        ReturnItem.objects.filter(return_request=return_request).select_related(
            "unit", "replacement_unit"
        )
    )
    if (
        return_request.state == ReturnState.APPROVED
        and not return_request.pickup_status
        and return_request.type != ReturnType.DOORSTEP_REFUSAL
        and any(i.resolution not in NO_PICKUP for i in items)
    ):
        courier_order_open(
            courier=name,
            direction=Direction.REVERSE,
            reference=return_request.rma,
            return_id=return_request.pk,
        )
        return_pickup_requested(return_request, courier=name, actor=actor)
        from couriers.tasks import pickup_book_task

        job_enqueue(pickup_book_task, return_request.rma)
    _forward_react(return_request, name, items)


def _forward_react(return_request: Return, name: str, items: list[ReturnItem]) -> None:
    ids = {
        i.replacement_unit.shipment_id
        for i in items
        if i.replacement_unit_id and i.replacement_unit.shipment_id
    }
    ids |= {
        i.unit.shipment_id
        for i in items
        if i.unit.state == UnitState.RETURN_REJECTED and i.unit.shipment_id
    }
    if not ids:
        return
    shipments = Shipment.objects.filter(
        pk__in=ids,
        kind__in=[ShipmentKind.REPLACEMENT, ShipmentKind.RETURN_TO_CUSTOMER],
        state=ShipmentState.SHIPPED,
    ).order_by("pk")
    booked = shipments_booked(sorted(ids))
    from couriers.tasks import forward_book_task

    for shipment in shipments:
        if shipment.pk in booked:
            continue
        order, created = courier_order_open(
            courier=name,
            direction=Direction.FORWARD,
            reference=f"{return_request.rma}-S{shipment.pk}",
            return_id=return_request.pk,
            shipment_id=shipment.pk,
        )
        if created:
            job_enqueue(forward_book_task, order.pk)


def pickup_reschedule_enqueue(return_request: Return) -> bool:
    """The pickup leg's reschedule action: book a new pickup with the courier
    that holds the booking (none on the manual path)."""
    if return_request.pickup_status != PickupStatus.BOOKED or return_request.courier in (
        "",
        MANUAL,
    ):
        return False
    order = reverse_order_for_return(return_request.pk)
    if order is None or order.state != CourierOrderState.BOOKED:
        return False
    courier_order_rearm(order)
    from couriers.tasks import pickup_book_task

    job_enqueue(pickup_book_task, return_request.rma, True)
    return True


def pickup_book_again(*, rma: str, actor: EventActor) -> Return:
    """An agent books a pickup that is not booked (the console queue)."""
    with transaction.atomic():
        return_request = return_get_for_update(rma)
        if return_request.pickup_status != PickupStatus.NOT_BOOKED:
            raise ApplicationError(
                f"Return {rma}: the pickup is {return_request.pickup_status or 'not booked by a courier'}.",
                code="invalid_state",
            )
        from couriers.tasks import pickup_book_task

        job_enqueue(pickup_book_task, rma)
        return return_request


# --- booking (a job: outside any transaction) -------------------------------------


def _parcels(units) -> list[Parcel]:
    return [
        Parcel(sku=u.sku.code, name=u.sku.name[:100], units=1, unit_price=u.net_paid) for u in units
    ]


def _reverse_data(return_request: Return) -> CourierOrderData:
    order = return_request.order
    pickup = customer_address(order)
    if pickup is None:
        raise CourierError(
            f"order {order.number} has no pickup address with a pincode (shipping_address).",
            retryable=False,
        )
    location = return_request.location or location_default()
    delivery = location_address(location) if location else None
    if delivery is None:
        raise CourierError(
            f"location {getattr(location, 'code', '?')} has no address with a pincode.",
            retryable=False,
        )
    units = [
        i.unit
        for i in return_request.items.select_related("unit__sku").order_by("pk")
        if i.resolution not in NO_PICKUP
    ]
    return CourierOrderData(
        reference=return_request.rma,
        order_date=timezone.localdate().isoformat(),
        pickup=pickup,
        delivery=delivery,
        items=_parcels(units),
    )


def pickup_book(*, rma: str, reschedule: bool = False) -> str:
    """Book (or reschedule) the return's reverse pickup. Safe to run twice:
    a booked pickup is not booked again, and the courier's order is looked up
    by our RMA before one is created."""
    return_request = (
        Return.objects.select_related("order__customer", "location", "policy")
        .filter(rma=rma)
        .first()
    )
    if return_request is None:
        raise NotFound(f"Return {rma} does not exist.")
    order = reverse_order_for_return(return_request.pk)
    if order is None:
        return "no courier booking"
    if return_request.state != ReturnState.APPROVED:
        return f"return is {return_request.state}"
    if order.state in (
        CourierOrderState.UNSERVICEABLE,
        CourierOrderState.PICKED_UP,
        CourierOrderState.DELIVERED,
    ):
        return order.state
    if order.state == CourierOrderState.BOOKED and not (reschedule and not order.pickup_requested):
        return order.state
    courier = courier_get(order.courier)
    known = booking_of(order)
    try:
        if reschedule:
            booking = courier.reschedule_pickup(known)
        else:
            booking = courier.book_return(_reverse_data(return_request), known)
    except Unserviceable as exc:
        _unserviceable(rma, order.pk, exc.message)
        return "unserviceable"
    except CourierError as exc:
        _not_booked(rma, order.pk, known, exc.message)
        if exc.retryable:
            raise BookLater(exc.message) from exc
        return "not booked"
    with transaction.atomic():
        return_request = return_get_for_update(rma)
        locked = courier_order_lock(order.pk)
        courier_order_booked(locked, booking)
        return_pickup_booked(
            return_request,
            awb=locked.awb,
            courier_name=locked.courier_name,
            scheduled_at=locked.pickup_scheduled_at,
            actor=BOOKING,
            rescheduled=reschedule,
        )
        from .reactions import return_changed

        return_changed(return_request, BOOKING)
    return "booked"


def _not_booked(rma: str, order_id: int, known, error: str) -> None:
    with transaction.atomic():
        return_request = return_get_for_update(rma)
        courier_order_failed(courier_order_lock(order_id), known, error)
        return_pickup_not_booked(return_request, error=error, actor=BOOKING)


def _unserviceable(rma: str, order_id: int, reason: str) -> None:
    with transaction.atomic():
        return_request = return_get_for_update(rma)
        courier_order_unserviceable(courier_order_lock(order_id), reason)
        return_pickup_unserviceable(return_request, reason=reason, actor=BOOKING)
        from .reactions import return_changed

        return_changed(return_request, BOOKING)


def _forward_data(order: CourierOrder) -> CourierOrderData:
    shipment = Shipment.objects.select_related("order__customer", "location").get(
        pk=order.shipment_id
    )
    delivery = customer_address(shipment.order)
    if delivery is None:
        raise CourierError(
            f"order {shipment.order.number} has no delivery address with a pincode.",
            retryable=False,
        )
    location = shipment.location or location_default()
    pickup = location_address(location) if location else None
    if pickup is None:
        raise CourierError(
            f"location {getattr(location, 'code', '?')} has no address with a pincode.",
            retryable=False,
        )
    units = list(shipment.units.select_related("sku").order_by("pk"))
    return CourierOrderData(
        reference=order.reference,
        order_date=timezone.localdate().isoformat(),
        pickup=pickup,
        delivery=delivery,
        items=_parcels(units),
        pickup_location=str(location.address.get("courier_pickup_location") or location.code),
    )


def forward_book(*, courier_order_id: int) -> str:
    """Book a forward shipment (exchange, replacement, repair, failed QC) and
    record its AWB on the shipment."""
    order = (
        CourierOrder.objects.select_related("return_request").filter(pk=courier_order_id).first()
    )
    if order is None:
        raise NotFound(f"Courier order {courier_order_id} does not exist.")
    if order.state not in (CourierOrderState.PENDING, CourierOrderState.FAILED):
        return order.state
    known = booking_of(order)
    try:
        booking = courier_get(order.courier).book_forward(_forward_data(order), known)
    except CourierError as exc:
        with transaction.atomic():
            courier_order_failed(courier_order_lock(order.pk), known, exc.message)
            return_courier_note(
                return_get_for_update(order.return_request.rma),
                message=f"Shipment {order.shipment_id} not booked with the courier: {exc.message}",
                payload={"shipment": order.shipment_id, "error": exc.message},
                actor=BOOKING,
            )
        if exc.retryable:
            raise BookLater(exc.message) from exc
        return "not booked"
    with transaction.atomic():
        return_request = return_get_for_update(order.return_request.rma)
        locked = courier_order_lock(order.pk)
        courier_order_booked(locked, booking)
        shipment_tracking_set(shipment_id=locked.shipment_id, tracking_number=locked.awb)
        return_shipment_booked(
            return_request,
            shipment_id=locked.shipment_id,
            awb=locked.awb,
            courier_name=locked.courier_name,
            actor=BOOKING,
        )
    return "booked"
