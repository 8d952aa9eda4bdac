"""Events on a return (courier, warehouse, console, SLA breach actions)."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from refunds.services.recovery import recoveries_open_for_failed_qc
from returns.events import ReturnEventType
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
    if data.type == ReturnEventType.QC_RESULT.kind and any(not r.passed for r in data.results):
        # A unit that failed QC after its refund was paid or its replacement
        # shipped: the customer owes it back (issue 12, leak 1).
        recoveries_open_for_failed_qc(return_request, actor)
    return_changed(return_request, actor)
