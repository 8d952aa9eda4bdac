"""Writes to courier orders. The flows call these inside their transactions;
the HTTP calls to the courier happen between them, never inside one."""

from __future__ import annotations

from django.utils import timezone

from .base import Booking
from .models import PROGRESS, CourierOrder, CourierOrderState, Direction


def courier_order_open(
    *, courier: str, direction: str, reference: str, return_id: int, shipment_id: int | None = None
) -> tuple[CourierOrder, bool]:
    """The courier order for our reference, created once."""
    return CourierOrder.objects.get_or_create(
        courier=courier,
        reference=reference,
        defaults={
            "direction": direction,
            "return_request_id": return_id,
            "shipment_id": shipment_id if direction == Direction.FORWARD else None,
        },
    )


def courier_order_lock(pk: int) -> CourierOrder:
    return CourierOrder.objects.select_for_update().get(pk=pk)


def courier_order_progress(order: CourierOrder, booking: Booking) -> None:
    """Keep what an attempt got from the courier, even when it then failed,
    so the next attempt resumes from there."""
    order.provider_order_id = booking.provider_order_id or order.provider_order_id
    order.provider_shipment_id = booking.provider_shipment_id or order.provider_shipment_id
    order.awb = booking.awb or order.awb
    order.courier_name = booking.courier_name or order.courier_name
    order.pickup_scheduled_at = booking.pickup_scheduled_at or order.pickup_scheduled_at
    order.pickup_requested = booking.pickup_requested or order.pickup_requested


def courier_order_booked(order: CourierOrder, booking: Booking) -> None:
    courier_order_progress(order, booking)
    order.attempts += 1
    order.last_error = ""
    if PROGRESS[CourierOrderState(order.state)] < PROGRESS[CourierOrderState.BOOKED]:
        order.state = CourierOrderState.BOOKED
    order.save()


def courier_order_failed(order: CourierOrder, booking: Booking, error: str) -> None:
    courier_order_progress(order, booking)
    order.attempts += 1
    order.last_error = error[:500]
    if order.state == CourierOrderState.PENDING:
        order.state = CourierOrderState.FAILED
    order.save()


def courier_order_unserviceable(order: CourierOrder, reason: str) -> None:
    order.attempts += 1
    order.last_error = reason[:500]
    order.state = CourierOrderState.UNSERVICEABLE
    order.save()


def courier_order_tracked(order: CourierOrder, *, status: str, state: str | None) -> None:
    """Record the latest tracking status; ``state`` moves the order forward only."""
    order.last_status = status[:60]
    order.last_status_at = timezone.now()
    if state and PROGRESS[CourierOrderState(state)] > PROGRESS[CourierOrderState(order.state)]:
        order.state = state
    order.save()


def courier_order_rearm(order: CourierOrder) -> None:
    """A rescheduled pickup: the next booking asks the courier for a new pickup."""
    order.pickup_requested = False
    order.save(update_fields=["pickup_requested", "updated_at"])
