"""Events on a return (courier, warehouse, console, SLA breach actions)."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from returns.models import Return
from returns.services import (
    ReturnEventData,
    return_event_actor,
    return_event_claim,
    return_event_handle,
    return_get_for_update,
)

from .reactions import return_changed


def return_handle_event(*, rma: str, data: ReturnEventData, actor: EventActor) -> Return:
    """Lock the order and the return, apply the event (a redelivered
    ``event_id`` is ignored), then the reactions. All or nothing."""
    actor = return_event_actor(data, actor)
    with transaction.atomic():
        return_request = return_get_for_update(rma)
        return_event_apply(return_request, data, actor)
        return return_request


def return_event_apply(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    """The body of ``return_handle_event`` for a return already locked."""
    if not return_event_claim(return_request, data):
        return
    return_event_handle(return_request, data, actor)
    return_changed(return_request, actor)
