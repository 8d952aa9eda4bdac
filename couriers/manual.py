"""The embedded default: no courier API. Pickups and shipments are recorded
by the events people or scripts post (``/returns/{rma}/events/``,
``/shipments/{id}/delivered/``)."""

from __future__ import annotations

from .base import Booking, CourierOrderData


class ManualCourier:
    name = "manual"

    def books(self) -> bool:
        return False

    def book_return(self, data: CourierOrderData, known: Booking) -> Booking:
        return known

    def book_forward(self, data: CourierOrderData, known: Booking) -> Booking:
        return known

    def reschedule_pickup(self, known: Booking) -> Booking:
        return known
