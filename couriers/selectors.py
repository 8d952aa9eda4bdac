"""Reads of courier orders."""

from __future__ import annotations

from .base import Booking
from .models import CourierOrder, Direction


def courier_order_for_awb(courier: str, awb: str, reference: str = "") -> CourierOrder | None:
    found = None
    if awb:
        found = CourierOrder.objects.filter(courier=courier, awb=awb).first()
    if found is None and reference:
        found = CourierOrder.objects.filter(courier=courier, reference=reference).first()
    return found


def reverse_order_for_return(return_id: int) -> CourierOrder | None:
    return (
        CourierOrder.objects.filter(return_request_id=return_id, direction=Direction.REVERSE)
        .order_by("-pk")
        .first()
    )


def shipments_booked(shipment_ids: list[int]) -> set[int]:
    return set(
        CourierOrder.objects.filter(shipment_id__in=shipment_ids).values_list(
            "shipment_id", flat=True
        )
    )


def forward_orders_for_return(return_id: int) -> list[CourierOrder]:
    return list(
        CourierOrder.objects.filter(
            return_request_id=return_id, direction=Direction.FORWARD
        ).order_by("pk")
    )


def booking_of(order: CourierOrder) -> Booking:
    return Booking(
        provider_order_id=order.provider_order_id,
        provider_shipment_id=order.provider_shipment_id,
        awb=order.awb,
        courier_name=order.courier_name,
        pickup_scheduled_at=order.pickup_scheduled_at,
        pickup_requested=order.pickup_requested,
    )
