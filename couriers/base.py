"""The courier interface. ``manual`` books nothing (people or scripts post
the events, today's behaviour); ``shiprocket`` speaks Shiprocket's REST API.
The flows call these methods outside any database transaction: they are I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    state: str
    pincode: str
    phone: str
    email: str = ""
    line2: str = ""
    country: str = "India"


@dataclass(frozen=True)
class Parcel:
    sku: str
    name: str
    units: int
    unit_price: Decimal


@dataclass(frozen=True)
class CourierOrderData:
    """One courier order. ``reference`` is our id (the RMA for a pickup,
    RMA-S<shipment> for a forward shipment): Shiprocket has no idempotency
    key, so it is the courier's order id and a retry looks it up first."""

    reference: str
    order_date: str  # yyyy-mm-dd
    pickup: Address
    delivery: Address
    items: list[Parcel]
    weight_kg: Decimal = Decimal("0.5")
    dimensions_cm: tuple[int, int, int] = (20, 15, 10)
    pickup_location: str = ""  # forward: the courier's name for our warehouse

    @property
    def value(self) -> Decimal:
        return sum((p.unit_price * p.units for p in self.items), Decimal("0"))


@dataclass
class Booking:
    """What the courier gave back, filled in step by step (order, AWB, pickup)."""

    provider_order_id: str = ""
    provider_shipment_id: str = ""
    awb: str = ""
    courier_name: str = ""
    pickup_scheduled_at: datetime | None = None
    pickup_requested: bool = False
    raw: dict = field(default_factory=dict)


class CourierError(Exception):
    """The courier failed (timeout, 5xx, refused request). ``retryable``:
    worth another attempt later (a 4xx other than 401/429 is not)."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status


class Unserviceable(CourierError):
    """No courier serves this pincode for this kind of shipment."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


class Courier(Protocol):
    name: str

    def books(self) -> bool:
        """False for the manual courier: nothing is booked, events are posted."""
        ...

    def book_return(self, data: CourierOrderData, known: Booking) -> Booking:
        """Serviceability, return order, AWB, pickup; ``known`` holds what an
        earlier attempt already got, so a retry resumes instead of repeating."""
        ...

    def book_forward(self, data: CourierOrderData, known: Booking) -> Booking:
        """A forward order with an AWB and a pickup from our location."""
        ...

    def reschedule_pickup(self, known: Booking) -> Booking:
        """Book a new pickup for the same shipment (SLA reschedule)."""
        ...
