"""Shipping: a shipment of ordered or allocated units."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from inventory.services import InsufficientStock, Move, stock_move_many
from inventory.services import location_default as inventory_location_default
from inventory.states import Bucket
from oms.errors import ApplicationError, Conflict

from ..events import Event, EventActor, EventType, timeline_record
from ..models import (
    Order,
    Shipment,
    Unit,
)
from ..states import ShipmentKind, UnitState
from .intake import units_reserve
from .locks import order_lock
from .units import units_lock, units_transition

# A courier's or WMS's clock may run a little ahead of ours.
DELIVERY_CLOCK_SKEW = timedelta(minutes=5)

# --- shipping ------------------------------------------------------------------


@transaction.atomic
def shipment_create(
    *,
    order: Order,
    unit_ids: list[int],
    actor: EventActor,
    tracking_number: str = "",
    serials: dict[int, str] | None = None,
    kind: str = ShipmentKind.FORWARD,
    shipped_at: datetime | None = None,
) -> Shipment:
    """Ship units. ``shipped_at`` (default now) lets an import record when a
    parcel really left; it may not be in the future."""
    if shipped_at is not None and shipped_at > timezone.now() + DELIVERY_CLOCK_SKEW:
        raise ApplicationError("shipped_at: is in the future.", extra={"field": "shipped_at"})
    if not unit_ids:
        raise ApplicationError(
            "units: a shipment needs at least one unit.", extra={"field": "units"}
        )
    if len(set(unit_ids)) != len(unit_ids):
        raise ApplicationError("units: a unit is listed twice.", extra={"field": "units"})
    # The order's lock first, like cancellation, delivery and refunds: the
    # shipment row's foreign key takes a share lock on the order, so locking
    # units first deadlocks with a cancellation holding the order.
    order_lock(order.pk)
    units = units_lock(Unit.objects.filter(order=order, pk__in=unit_ids))
    missing = sorted(set(unit_ids) - {u.pk for u in units})
    if missing:
        raise ApplicationError(
            f"units: {missing} are not units of order {order.number}.",
            code="unknown_units",
            extra={"field": "units", "units": missing},
        )
    bad = [u for u in units if u.state not in (UnitState.ALLOCATED, UnitState.ORDERED)]
    if bad:
        raise Conflict(
            f"Unit {bad[0].pk} is {bad[0].state}; only ordered or allocated units can ship.",
            code="invalid_state",
            extra={"unit": bad[0].pk, "state": bad[0].state},
        )
    unallocated = [u for u in units if u.state == UnitState.ORDERED]
    if unallocated:
        location = order.ship_from or inventory_location_default()
        got = units_reserve(order, unallocated, location, actor)
        if len(got) != len(unallocated):
            raise InsufficientStock(
                "Some units have no stock reserved and none is available to ship them.",
                extra={"units": sorted(u.pk for u in unallocated if u not in got)},
            )
    locations = {u.location_id for u in units}
    if len(locations) != 1:
        raise ApplicationError(
            "units: reserved at different locations; ship them separately.",
            extra={"field": "units"},
        )
    location_id = locations.pop()
    shipment = Shipment.objects.create(
        order=order,
        kind=kind,
        location_id=location_id,
        tracking_number=tracking_number,
        shipped_at=shipped_at or timezone.now(),
    )
    counts: dict[int, int] = defaultdict(int)
    for unit in units:
        counts[unit.sku_id] += 1
    stock_move_many(
        [Move(sku_id, location_id, n, Bucket.RESERVED, None) for sku_id, n in counts.items()],
        reason="shipped",
        reference=f"shipment:{shipment.pk}",
    )
    units_transition(
        units,
        "ship",
        args=(shipment,),
        fields=("shipment_id",),
        actor=actor,
        message=f"shipped in shipment {shipment.pk}",
    )
    if serials:
        for unit in units:
            if str(unit.pk) in {str(k) for k in serials}:
                serial = serials.get(unit.pk) or serials.get(str(unit.pk))
                Unit.objects.filter(pk=unit.pk).update(serial=serial)
    timeline_record(
        order=order,
        actor=actor,
        event=Event(
            "shipment",
            shipment.pk,
            EventType.SHIPMENT_CREATED,
            "",
            shipment.state,
            f"Shipment {shipment.pk} with {len(units)} unit(s)",
            {"units": [u.pk for u in units]},
        ),
    )
    return shipment


def shipment_send_back(*, order: Order, units: list[Unit], actor: EventActor) -> list[Shipment]:
    """Ship units that failed QC back to the customer: one shipment per
    location holding them (kind ``return_to_customer``). The units stay
    ``return_rejected`` until the shipment's delivery (``deliver_back``);
    each unit's ``shipment`` now names the shipment taking it back."""
    by_location: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        by_location[unit.location_id].append(unit)
    shipments = []
    for location_id, group in by_location.items():
        shipment = Shipment.objects.create(
            order=order,
            kind=ShipmentKind.RETURN_TO_CUSTOMER,
            location_id=location_id,
            shipped_at=timezone.now(),
        )
        Unit.objects.filter(pk__in=[u.pk for u in group]).update(shipment=shipment)
        for unit in group:
            unit.shipment = shipment
        timeline_record(
            order=order,
            actor=actor,
            event=Event(
                "shipment",
                shipment.pk,
                EventType.SHIPMENT_CREATED,
                "",
                shipment.state,
                f"Shipment {shipment.pk}: {len(group)} unit(s) that failed QC, back to the customer",
                {"units": [u.pk for u in group], "kind": shipment.kind},
            ),
        )
        shipments.append(shipment)
    return shipments


def shipment_tracking_set(*, shipment_id: int, tracking_number: str) -> None:
    """The courier's AWB for a shipment booked after it was created."""
    Shipment.objects.filter(pk=shipment_id).update(tracking_number=tracking_number[:100])
