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


def _pickup_completed(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(return_request, "pickup_completed")
    items = [
        i for i in return_items(return_request, lock_units=True) if i.resolution not in NO_PICKUP
    ]
    chosen = _units_in(items, {UnitState.RETURN_REQUESTED}, data.units, "pickup_completed")
    stock_move_many(
        [
            Move(s, return_request.location_id, n, None, Bucket.IN_TRANSIT)
            for s, n in _sku_counts(chosen).items()
        ],
        reason="return_picked_up",
        reference=return_request.rma,
    )
    units_transition(
        [i.unit for i in chosen],
        "pick_up",
        actor=actor,
        message=f"picked up ({return_request.rma})",
        payload={"rma": return_request.rma},
    )
    return_event(
        return_request,
        ReturnEventType.PICKUP_COMPLETED,
        actor=actor,
        message=f"{len(chosen)} unit(s) picked up",
        payload={"units": [i.unit_id for i in chosen]},
    )
    if return_request.state == ReturnState.APPROVED and not any(
        i.unit.state == UnitState.RETURN_REQUESTED for i in items
    ):
        transition(return_request, Return.mark_in_transit, actor=actor)
    notify(return_request, "pickup_done")


def _pickup_failed(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(return_request, "pickup_failed")
    if return_request.state != ReturnState.APPROVED:
        raise Conflict(
            f"Return {return_request.rma} is {return_request.state}; there is no pickup to fail.",
            code="invalid_state",
            extra={"state": return_request.state},
        )
    Return.objects.filter(pk=return_request.pk).update(pickup_attempts=F("pickup_attempts") + 1)
    return_request.pickup_attempts += 1
    return_event(
        return_request,
        ReturnEventType.PICKUP_FAILED,
        actor=actor,
        message=f"Pickup attempt {return_request.pickup_attempts} failed"
        + (f": {data.reason}" if data.reason else ""),
        payload={"attempt": return_request.pickup_attempts, "reason": data.reason},
    )
    notify(return_request, "pickup_failed")
