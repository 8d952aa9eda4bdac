"""Quality use cases that change a return: inspection, evidence, repairs."""

from __future__ import annotations

from django.db import transaction

from oms.roles import WAREHOUSE
from orders.events import EventActor
from quality.models import Evidence, Inspection, RepairOrder
from quality.services import (
    InspectionData,
    StoredFiles,
    evidence_check,
    inspection_check,
    inspection_finish,
    inspection_qc_event,
)
from quality.services import evidence_add as quality_evidence_add
from quality.services import repair_handle_event as quality_repair_handle_event

from .reactions import return_changed
from .return_events import return_event_held, return_event_record


def inspection_record(*, rma: str, data: InspectionData, actor: EventActor) -> Inspection:
    """Inspect one unit: the QC result goes through the returns event engine
    and its reactions (the same path as the events API), then the checklist
    and photos are kept with it. All or nothing, photos included."""
    return inspection_record_held(rma=rma, data=data, actor=actor)[0]


def inspection_record_held(
    *, rma: str, data: InspectionData, actor: EventActor
) -> tuple[Inspection, dict]:
    """``inspection_record``, also giving what ``returns.apis.return_payload``
    can take from the change instead of reading the return again (empty for
    a redelivered event). Quality's keys are read again: the inspection's
    photos are new."""
    actor = actor.on_duty(WAREHOUSE)
    checklist, checked = inspection_check(data)
    with StoredFiles() as files, transaction.atomic():
        event = inspection_qc_event(rma=rma, data=data)
        return_request, change = return_event_record(rma=rma, data=event, actor=actor)
        item = None
        if change is not None:
            item = next((i for i in change.items if i.unit_id == data.unit), None)
        inspection = inspection_finish(
            files,
            rma=rma,
            data=data,
            checklist=checklist,
            checked=checked,
            actor=actor,
            item=item,
        )
    if change is None:
        return inspection, {}
    held = return_event_held(return_request, change)
    held["quality"] = None
    return inspection, held


def evidence_add(
    *, rma: str, unit_id: int, serial: str, photos: list, actor: EventActor
) -> Evidence:
    """Record a serial and photos, assess the unit again, then the reactions."""
    serial = evidence_check(serial, photos)
    with StoredFiles() as files, transaction.atomic():
        evidence, return_request = quality_evidence_add(
            files, rma=rma, unit_id=unit_id, serial=serial, photos=photos, actor=actor
        )
        return_changed(return_request, actor)
        return evidence


def repair_handle_event(*, repair_id: int, type: str, notes: str, actor: EventActor) -> RepairOrder:
    """``started`` or ``completed``; a completed repair settles the unit, so
    the return's reactions follow."""
    actor = actor.on_duty(WAREHOUSE)
    with transaction.atomic():
        repair, return_request = quality_repair_handle_event(
            repair_id=repair_id, type=type, notes=notes, actor=actor
        )
        if type == "completed":
            return_changed(return_request, actor)
        return repair
