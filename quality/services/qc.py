"""QC inspection (grade, checklist, photos, disposition) through the returns
event engine, repair work orders, and defect patterns fed by ops or a quality
system."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from inventory.models import SKU
from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.errors import ApplicationError, Conflict, NotFound
from orders.events import EventActor
from orders.models import Line, Unit
from orders.services import shipment_create, units_transition
from orders.states import ShipmentKind, UnitState
from returns.events import ReturnEventType, return_event
from returns.models import Return, ReturnItem
from returns.services import QcResult, ReturnEventData
from returns.services.common import return_get_for_update
from returns.states import Resolution

from ..events import QualityEventType
from ..models import DefectPattern, DefectType, Inspection, RepairOrder
from ..states import Outcome, RepairState
from .evidence import StoredFiles, photos_check, photos_store

CHECKLIST = {
    "powers_on": "Powers on / works",
    "all_parts_present": "All parts and accessories present",
    "cosmetic_ok": "No cosmetic damage",
    "serial_verified": "Serial matches the label",
    "original_packaging": "Original packaging",
}


@dataclass
class InspectionData:
    unit: int
    passed: bool
    grade: str = ""
    disposition: str = ""
    notes: str = ""
    checklist: dict = field(default_factory=dict)
    defect_type: str = ""
    photos: list = field(default_factory=list)
    event_id: str = ""


def _check_checklist(checklist: dict) -> dict:
    if not isinstance(checklist, dict):
        raise ApplicationError(
            "checklist: must be an object of item → true/false.", extra={"field": "checklist"}
        )
    unknown = sorted(set(checklist) - set(CHECKLIST))
    if unknown:
        raise ApplicationError(
            f"checklist: unknown item(s) {', '.join(unknown)}; use {', '.join(CHECKLIST)}.",
            extra={"field": "checklist", "allowed": list(CHECKLIST)},
        )
    bad = [k for k, v in checklist.items() if not isinstance(v, bool)]
    if bad:
        raise ApplicationError(
            f"checklist: {bad[0]} must be true or false.", extra={"field": f"checklist.{bad[0]}"}
        )
    return checklist


def inspection_check(data: InspectionData) -> tuple[dict, list]:
    """Check an inspection before anything is written: the checklist, the
    photos and the defect type. Returns the checklist and the checked photos.
    (``flows.quality.inspection_record`` records it acting for the warehouse.)"""
    checklist = _check_checklist(data.checklist)
    checked = photos_check(data.photos)
    if (
        data.defect_type
        and not DefectType.objects.filter(code=data.defect_type, active=True).exists()
    ):
        raise ApplicationError(
            f"defect_type: unknown defect type {data.defect_type!r}.",
            code="unknown_defect_type",
            extra={"field": "defect_type"},
        )
    return checklist, checked


def inspection_qc_event(*, rma: str, data: InspectionData) -> ReturnEventData:
    """Record the inspected defect type on the line, and give the QC result
    that ``flows.quality.inspection_record`` sends through the returns event
    engine (the same path as the events API: the disposition rules, stock
    moves and unit transitions are the engine's)."""
    if data.defect_type:
        ReturnItem.objects.filter(return_request__rma=rma, unit_id=data.unit).update(
            defect_code=data.defect_type
        )
    result = QcResult(
        unit=data.unit,
        passed=data.passed,
        grade=data.grade,
        disposition=data.disposition,
        notes=data.notes,
    )
    return ReturnEventData(
        type=ReturnEventType.QC_RESULT.kind, results=[result], event_id=data.event_id
    )


def inspection_finish(
    files: StoredFiles,
    *,
    rma: str,
    data: InspectionData,
    checklist: dict,
    checked: list,
    actor: EventActor,
    item: ReturnItem | None = None,
) -> Inspection:
    """After the QC result: keep the checklist and photos with it. ``item``:
    the inspected unit's return item as the QC result left it (read when not
    given)."""
    if item is None:
        item = (
            ReturnItem.objects.select_related("unit")
            .filter(return_request__rma=rma, unit_id=data.unit)
            .first()
        )
    inspection = Inspection.objects.create(
        return_item=item,
        location_id=item.unit.location_id,
        passed=bool(item.qc_passed),
        grade=item.grade,
        checklist=checklist,
        disposition=item.disposition,
        notes=item.qc_notes,
        inspected_by=actor.user if getattr(actor.user, "pk", None) else None,
    )
    photos_store(files, rma, data.unit, checked, inspection=inspection)
    return inspection


def repair_orders_open(return_request: Return, items: list[ReturnItem], actor: EventActor) -> None:
    due = [
        i
        for i in items
        if i.resolution == Resolution.REPAIR and i.unit.state == UnitState.IN_REPAIR
    ]
    if not due:
        return
    have = set(
        RepairOrder.objects.filter(return_item__in=due).values_list("return_item_id", flat=True)
    )
    for item in due:
        if item.pk in have:
            continue
        order = RepairOrder.objects.create(return_item=item)
        return_event(
            return_request,
            QualityEventType.REPAIR_OPENED,
            actor=actor,
            message=f"Repair order {order.pk} opened for unit {item.unit_id}",
            payload={"unit": item.unit_id, "repair": order.pk},
        )


def repair_handle_event(
    *, repair_id: int, type: str, notes: str, actor: EventActor
) -> tuple[RepairOrder, Return]:
    """Returns the repair order and its locked return (the caller,
    ``flows.quality.repair_handle_event``, runs the return's reactions after
    ``completed``). ``started``: on the bench. ``completed``: the repaired unit ships back
    to the customer in a new shipment (a new unit on a new line points at the
    original, as a replacement does; its stock enters reserved at the repair
    location and leaves with the shipment), and the original unit is settled
    as repaired."""
    # (the actor is already on duty for the warehouse: flows.quality)
    with transaction.atomic(
        savepoint=False
    ):  # inside its flow's transaction: no savepoint (no extra queries)
        row = (
            RepairOrder.objects.select_related("return_item__return_request")
            .filter(pk=repair_id)
            .first()
        )
        if row is None:
            raise NotFound(f"Repair order {repair_id} does not exist.")
        return_request = return_get_for_update(row.return_item.return_request.rma)
        repair = RepairOrder.objects.select_for_update(of=("self",)).get(pk=repair_id)
        item = ReturnItem.objects.select_related("unit__line", "unit__sku").get(
            pk=repair.return_item_id
        )
        if type == "started":
            if repair.state != RepairState.OPEN:
                raise Conflict(
                    f"Repair {repair_id} is {repair.state}; it cannot start.",
                    code="invalid_state",
                    extra={"state": repair.state},
                )
            repair.start(notes)
            repair.save()
            return_event(
                return_request,
                QualityEventType.REPAIR_STARTED,
                actor=actor,
                message=notes or "Repair started",
                payload={"unit": item.unit_id, "repair": repair.pk},
            )
            return repair, return_request
        if type != "completed":
            raise ApplicationError(
                f"type: unknown repair event {type!r}; use started or completed.",
                extra={"field": "type"},
            )
        if repair.state == RepairState.RETURNED:
            raise Conflict(
                f"Repair {repair_id} is already returned to the customer.",
                code="invalid_state",
                extra={"state": repair.state},
            )
        original = (
            Unit.objects.select_for_update(of=("self",)).select_related("line").get(pk=item.unit_id)
        )
        if original.state != UnitState.IN_REPAIR:
            raise Conflict(
                f"Unit {original.pk} is {original.state}, not in repair.",
                code="invalid_state",
                extra={"unit": original.pk, "state": original.state},
            )
        location_id = original.location_id
        order = return_request.order
        position = (Line.objects.filter(order=order).aggregate(m=Max("position"))["m"] or 0) + 1
        price = original.line.unit_price
        line = Line.objects.create(
            order=order,
            position=position,
            sku_id=original.sku_id,
            quantity=1,
            unit_price=price,
            tax_rate=original.line.tax_rate,
            discount=max(price - original.net_paid, Decimal("0")),
            replacement_for=original,
        )
        unit = Unit.objects.create(
            order=order,
            line=line,
            sku_id=original.sku_id,
            index=1,
            net_paid=original.net_paid,
            tax_amount=original.tax_amount,
        )
        stock_move_many(
            [Move(original.sku_id, location_id, 1, None, Bucket.RESERVED)],
            reason="repair_returned",
            reference=return_request.rma,
        )
        from inventory.models import Location

        units_transition(
            [unit],
            "allocate",
            args=(Location.objects.get(pk=location_id),),
            fields=("location_id",),
            actor=actor,
            message=f"repaired unit {original.pk} going back ({return_request.rma})",
        )
        shipment = shipment_create(
            order=order,
            unit_ids=[unit.pk],
            actor=actor,
            kind=ShipmentKind.REPLACEMENT,
            serials={unit.pk: original.serial} if original.serial else None,
        )
        units_transition(
            [original],
            "send_back_repaired",
            actor=actor,
            message=f"repaired and shipped back in shipment {shipment.pk}",
            payload={"rma": return_request.rma},
        )
        ReturnItem.objects.filter(pk=item.pk).update(replacement_unit=unit)
        repair.send_back(shipment, notes)
        repair.save()
        return_event(
            return_request,
            QualityEventType.REPAIR_COMPLETED,
            actor=actor,
            message=f"Unit {original.pk} repaired and shipped back in shipment {shipment.pk}",
            payload={"unit": original.pk, "repair": repair.pk, "shipment": shipment.pk},
        )
        return repair, return_request


def defect_pattern_create(
    *,
    outcome: str,
    sku: str = "",
    serial_from: str = "",
    serial_to: str = "",
    batch: str = "",
    defect_type: str = "",
    note: str = "",
    source: str = "api",
) -> DefectPattern:
    if outcome not in Outcome.values or outcome == Outcome.REVIEW:
        allowed = [o for o in Outcome.values if o != Outcome.REVIEW]
        raise ApplicationError(
            f"outcome: must be one of {', '.join(allowed)}.",
            extra={"field": "outcome", "allowed": allowed},
        )
    if bool(serial_from) != bool(serial_to):
        raise ApplicationError(
            "serial_to: a serial range needs both serial_from and serial_to.",
            extra={"field": "serial_to" if serial_from else "serial_from"},
        )
    if serial_from and serial_from > serial_to:
        raise ApplicationError(
            "serial_to: must not sort before serial_from.", extra={"field": "serial_to"}
        )
    sku_row = None
    if sku:
        sku_row = SKU.objects.filter(code=sku).first()
        if sku_row is None:
            raise ApplicationError(
                f"sku: unknown SKU {sku!r}.", code="unknown_sku", extra={"field": "sku"}
            )
    type_row = None
    if defect_type:
        type_row = DefectType.objects.filter(code=defect_type).first()
        if type_row is None:
            raise ApplicationError(
                f"defect_type: unknown defect type {defect_type!r}.",
                code="unknown_defect_type",
                extra={"field": "defect_type"},
            )
    if not (sku_row or serial_from or batch or type_row):
        raise ApplicationError(
            "sku: a pattern needs at least one of sku, serial range, batch or defect_type.",
            extra={"field": "sku"},
        )
    return DefectPattern.objects.create(
        sku=sku_row,
        serial_from=serial_from,
        serial_to=serial_to,
        batch=batch,
        defect_type=type_row,
        outcome=outcome,
        note=note,
        source=source,
    )
