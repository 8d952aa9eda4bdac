"""Events on a return (courier, warehouse, console, SLA breach actions)."""

from __future__ import annotations

from django.db import transaction

from oms.jobs import jobs_batched
from orders.events import EventActor, timeline_batched
from quality.selectors import QUALITY_RELATED, quality_annotations, return_quality
from refunds.selectors import refunds_read
from refunds.services.recovery import recoveries_open_for_failed_qc
from returns.events import ReturnEventType
from returns.models import Return
from returns.services import (
    ReturnEventData,
    return_event_actor,
    return_event_claim,
    return_event_handle,
    return_get_for_update,
    return_items,
)
from returns.states import ReturnType

from .reactions import ReturnChange, return_changed, return_changed_held


def return_handle_event(*, rma: str, data: ReturnEventData, actor: EventActor) -> Return:
    """Lock the order and the return, apply the event (a redelivered
    ``event_id`` is ignored), then the reactions. All or nothing."""
    return return_event_record(rma=rma, data=data, actor=actor)[0]


def return_event_record(
    *, rma: str, data: ReturnEventData, actor: EventActor
) -> tuple[Return, ReturnChange | None]:
    """``return_handle_event``, also giving what the change held (a QC
    result's items, refunds and legs: ``ReturnChange``) so the caller can
    answer from it without reading the return again; None for other events
    and for a redelivered one. The timeline rows and jobs of the change are
    written in one statement each when it ends."""
    actor = return_event_actor(data, actor)
    with transaction.atomic(), timeline_batched(), jobs_batched():
        return_request = return_get_for_update(rma)
        change = return_event_apply(return_request, data, actor)
    return return_request, change


def return_event_apply(
    return_request: Return, data: ReturnEventData, actor: EventActor
) -> ReturnChange | None:
    """The body of ``return_handle_event`` for a return already locked. A
    QC result holds the return's items (units locked, with what the checks
    and the response read) from the handler through every reaction."""
    if not return_event_claim(return_request, data):
        return None
    change = None
    if data.type == ReturnEventType.QC_RESULT.kind:
        # The items come with what the response reads of them, quality's keys
        # included where no step of the change can alter those (quality's
        # reaction only works on quality rejections).
        quality = return_request.type != ReturnType.QUALITY_REJECTION
        related = ("unit__sku", *(QUALITY_RELATED if quality else ()))
        change = ReturnChange(
            return_items(
                return_request,
                lock_units=True,
                related=related,
                annotate=quality_annotations if quality else None,
            ),
            quality_held=quality,
        )
        return_event_handle(return_request, data, actor, items=change.items)
    else:
        return_event_handle(return_request, data, actor)
    if data.type == ReturnEventType.QC_RESULT.kind and any(not r.passed for r in data.results):
        # A unit that failed QC after its refund was paid or its replacement
        # shipped: the customer owes it back (issue 12, leak 1).
        recoveries_open_for_failed_qc(return_request, actor)
    if change is None:
        return_changed(return_request, actor)
    else:
        return_changed_held(return_request, actor, change)
    return change


def return_event_held(return_request: Return, change: ReturnChange) -> dict:
    """What ``returns.apis.return_payload`` takes from a change instead of
    reading it: the return, its items, its refunds (those created, then any
    before them, newest first) and its legs."""
    refunds = None
    if change.refunds_before is not None:
        earlier = [] if not change.refunds_before else refunds_read(change.refunds_before)
        refunds = sorted(
            [*change.refunds, *earlier], key=lambda r: (r.created_at, r.pk), reverse=True
        )
    return {
        "return_request": return_request,
        "items": change.items,
        "refunds": refunds,
        "legs": change.legs,
        "quality": return_quality(return_request, change.items) if change.quality_held else None,
    }
