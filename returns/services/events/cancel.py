"""Ending or changing a return before pickup: ``cancelled``, ``exchange_relocated``."""

from __future__ import annotations

from collections.abc import Callable

from oms.errors import Conflict
from orders.events import EventActor
from orders.services import units_transition
from orders.states import UnitState

from ...events import ReturnEventType, return_event
from ...messages import notify
from ...models import Return, ReturnItem
from ...states import ReturnState
from .. import resolve
from ..common import release_reservations, return_items, transition
from .data import ReturnEventData


def _cancelled(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    if return_request.state not in (ReturnState.APPROVED, ReturnState.PENDING_REVIEW):
        raise Conflict(
            f"Return {return_request.rma} is {return_request.state}; only a return not yet picked up can be cancelled.",
            code="invalid_state",
            extra={"state": return_request.state},
        )
    items = return_items(return_request, lock_units=True)
    shipped = [i for i in items if i.dispatched]
    if shipped:
        raise Conflict(
            f"The replacement for unit {shipped[0].unit_id} has already shipped; the return can no longer "
            "be cancelled. Collect the original, or convert the case with a supervisor.",
            code="replacement_shipped",
            extra={"unit": shipped[0].unit_id},
        )
    moved = [i for i in items if i.unit.state != UnitState.RETURN_REQUESTED]
    if moved:
        raise Conflict(
            f"Unit {moved[0].unit_id} is already {moved[0].unit.state}; the return can no longer be cancelled.",
            code="invalid_state",
            extra={"unit": moved[0].unit_id, "state": moved[0].unit.state},
        )
    _close_unstarted(return_request, items, actor, Return.cancel, why=data.reason or "cancelled")
    return_event(
        return_request,
        ReturnEventType.CANCELLED,
        actor=actor,
        message=data.reason or "Cancelled",
        payload={"reason": data.reason},
    )
    notify(return_request, "cancelled")


def _close_unstarted(
    return_request: Return,
    items: list[ReturnItem],
    actor: EventActor,
    method: Callable[..., object],
    *args,
    why: str,
) -> None:
    release_reservations(items, reference=return_request.rma)
    units_transition(
        [i.unit for i in items], "cancel_return", actor=actor, message=f"{return_request.rma} {why}"
    )
    ReturnItem.objects.filter(return_request=return_request).update(is_open=False)
    from django.utils import timezone

    transition(return_request, method, *(args or (timezone.now(),)), actor=actor, message=why)


def _relocate(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    if not resolve.exchange_relocate(return_request, data, actor):
        raise Conflict(
            "No other location or allowed variant has stock for this exchange.",
            code="insufficient_stock",
        )
