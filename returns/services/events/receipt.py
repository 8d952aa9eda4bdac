"""Units arriving: ``received``, and the unit helpers the other events share."""

from __future__ import annotations

from collections import defaultdict

from inventory.models import Location
from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.errors import ApplicationError, Conflict
from orders.events import EventActor
from orders.services import units_transition
from orders.states import UnitState

from ...events import ReturnEventType, return_event
from ...messages import notify
from ...models import Return, ReturnItem
from ...states import NO_PICKUP
from ..common import require_open, return_items, transition
from .data import ReturnEventData


def _units_in(
    items: list[ReturnItem], states: set[str], wanted: list[int] | None, action: str
) -> list[ReturnItem]:
    chosen = [
        i for i in items if i.unit.state in states and (wanted is None or i.unit_id in wanted)
    ]
    if wanted is not None:
        known = {i.unit_id for i in items}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ApplicationError(
                f"units: {unknown} are not in this return.",
                extra={"field": "units", "units": unknown},
            )
        wrong = [i for i in items if i.unit_id in wanted and i.unit.state not in states]
        if wrong:
            raise Conflict(
                f"Unit {wrong[0].unit_id} is {wrong[0].unit.state}; '{action}' does not apply.",
                code="invalid_state",
                extra={"unit": wrong[0].unit_id, "state": wrong[0].unit.state},
            )
    if not chosen:
        raise Conflict(f"No unit of this return is waiting for '{action}'.", code="invalid_state")
    return chosen


def _sku_counts(items: list[ReturnItem]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for i in items:
        counts[i.unit.sku_id] += 1
    return counts


def _received(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(return_request, "received")
    if not data.location:
        raise ApplicationError(
            "location: the receiving location is required.", extra={"field": "location"}
        )
    location = Location.objects.filter(code=data.location).first()
    if location is None:
        raise ApplicationError(
            f"location: unknown location {data.location!r}.", extra={"field": "location"}
        )
    items = [
        i for i in return_items(return_request, lock_units=True) if i.resolution not in NO_PICKUP
    ]
    chosen = _units_in(
        items, {UnitState.RETURN_IN_TRANSIT, UnitState.RETURN_REQUESTED}, data.units, "received"
    )
    moves = []
    for (sku_id, from_bucket), n in _group(chosen).items():
        if from_bucket:
            moves.append(Move(sku_id, return_request.location_id, n, Bucket.IN_TRANSIT, None))
        moves.append(Move(sku_id, location.pk, n, None, Bucket.PENDING_INSPECTION))
    stock_move_many(moves, reason="return_received", reference=return_request.rma)
    units_transition(
        [i.unit for i in chosen],
        "receive",
        args=(location,),
        fields=("location_id",),
        actor=actor,
        message=f"received at {location.code}",
        payload={"rma": return_request.rma, "location": location.code},
    )
    return_event(
        return_request,
        ReturnEventType.RECEIVED,
        actor=actor,
        message=f"{len(chosen)} unit(s) received at {location.code}",
        payload={"units": [i.unit_id for i in chosen], "location": location.code},
    )
    waiting = {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT}
    if not any(i.unit.state in waiting for i in items):
        transition(return_request, Return.mark_received, actor=actor)
    notify(return_request, "received")


def _group(items: list[ReturnItem]) -> dict[tuple[int, bool], int]:
    out: dict[tuple[int, bool], int] = defaultdict(int)
    for i in items:
        out[(i.unit.sku_id, i.unit.state == UnitState.RETURN_IN_TRANSIT)] += 1
    return out
