"""The courier's events: ``pickup_completed`` and ``pickup_failed``."""

from __future__ import annotations

from django.db.models import F

from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.errors import Conflict
from orders.events import EventActor
from orders.services import units_transition
from orders.states import UnitState

from ...events import ReturnEventType, return_event
from ...messages import notify
from ...models import Return
from ...states import NO_PICKUP, ReturnState
from ..common import require_open, return_items, transition
from .data import ReturnEventData
from .receipt import _sku_counts, _units_in


def _pickup_completed(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(ret, "pickup_completed")
    items = [i for i in return_items(ret, lock_units=True) if i.resolution not in NO_PICKUP]
    chosen = _units_in(items, {UnitState.RETURN_REQUESTED}, data.units, "pickup_completed")
    stock_move_many(
        [
            Move(s, ret.location_id, n, None, Bucket.IN_TRANSIT)
            for s, n in _sku_counts(chosen).items()
        ],
        reason="return_picked_up",
        reference=ret.rma,
    )
    units_transition(
        [i.unit for i in chosen],
        "pick_up",
        actor=actor,
        message=f"picked up ({ret.rma})",
        payload={"rma": ret.rma},
    )
    return_event(
        ret,
        ReturnEventType.PICKUP_COMPLETED,
        actor=actor,
        message=f"{len(chosen)} unit(s) picked up",
        payload={"units": [i.unit_id for i in chosen]},
    )
    if ret.state == ReturnState.APPROVED and not any(
        i.unit.state == UnitState.RETURN_REQUESTED for i in items
    ):
        transition(ret, Return.mark_in_transit, actor=actor)
    notify(ret, "pickup_done")


def _pickup_failed(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(ret, "pickup_failed")
    if ret.state != ReturnState.APPROVED:
        raise Conflict(
            f"Return {ret.rma} is {ret.state}; there is no pickup to fail.",
            code="invalid_state",
            extra={"state": ret.state},
        )
    Return.objects.filter(pk=ret.pk).update(pickup_attempts=F("pickup_attempts") + 1)
    ret.pickup_attempts += 1
    return_event(
        ret,
        ReturnEventType.PICKUP_FAILED,
        actor=actor,
        message=f"Pickup attempt {ret.pickup_attempts} failed"
        + (f": {data.reason}" if data.reason else ""),
        payload={"attempt": ret.pickup_attempts, "reason": data.reason},
    )
    notify(ret, "pickup_failed")
