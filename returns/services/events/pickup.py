"""The courier's events: ``pickup_completed`` and ``pickup_failed``."""

from __future__ import annotations

from contextlib import nullcontext

from django.db.models import F

from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.errors import Conflict
from orders.events import EventActor, timeline_record_rows
from orders.services import units_transition
from orders.states import UnitState

from ...events import ReturnEventType, return_event, return_event_entry
from ...messages import emails_withheld, notify
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


def _require_pickup(return_request: Return) -> None:
    require_open(return_request, "pickup_failed")
    if return_request.state != ReturnState.APPROVED:
        raise Conflict(
            f"Return {return_request.rma} is {return_request.state}; there is no pickup to fail.",
            code="invalid_state",
            extra={"state": return_request.state},
        )


def _failed_message(return_request: Return, reason: str) -> tuple[str, dict]:
    return (
        f"Pickup attempt {return_request.pickup_attempts} failed"
        + (f": {reason}" if reason else ""),
        {"attempt": return_request.pickup_attempts, "reason": reason},
    )


def _pickup_failed(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    _require_pickup(return_request)
    Return.objects.filter(pk=return_request.pk).update(pickup_attempts=F("pickup_attempts") + 1)
    return_request.pickup_attempts += 1
    message, payload = _failed_message(return_request, data.reason)
    return_event(
        return_request,
        ReturnEventType.PICKUP_FAILED,
        actor=actor,
        message=message,
        payload=payload,
    )
    notify(return_request, "pickup_failed")


def return_pickup_failed_many(
    failures: list[tuple[Return, str]], actor: EventActor, *, email_customer: bool = True
) -> None:
    """``pickup_failed`` on many locked returns at once, (return, reason) each:
    what ``return_event_handle`` does for one, in two statements for all (the
    SLA sweep's missed pickups; its caller claims the event ids and runs the
    reactions). Refused, changing nothing, if any return has no pickup to fail."""
    if not failures:
        return
    for return_request, _ in failures:
        _require_pickup(return_request)
    Return.objects.filter(pk__in=[r.pk for r, _ in failures]).update(
        pickup_attempts=F("pickup_attempts") + 1
    )
    entries = []
    for return_request, reason in failures:
        return_request.pickup_attempts += 1
        message, payload = _failed_message(return_request, reason)
        entries.append(
            return_event_entry(
                return_request,
                ReturnEventType.PICKUP_FAILED,
                actor=actor,
                message=message,
                payload=payload,
            )
        )
    timeline_record_rows(entries)
    with nullcontext() if email_customer else emails_withheld():
        for return_request, _ in failures:
            notify(return_request, "pickup_failed")
