"""``qc_result``: grade, dispose and route each inspected unit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.errors import ApplicationError, Conflict
from oms.prepared import update_rows
from orders.events import EventActor
from orders.models import Unit
from orders.services import shipment_send_back, units_transition
from orders.states import PaymentMethod, UnitState

from ...events import ReturnEventType, return_event
from ...messages import notify
from ...models import Return, ReturnItem
from ...states import Disposition, RefundMethod, Resolution, ReturnType
from ..common import release_reservations, require_open, return_items
from .data import QcResult, ReturnEventData

DISPOSITION_BUCKET = {
    Disposition.RESTOCK: Bucket.SELLABLE,
    Disposition.REFURBISH: Bucket.REFURBISH,
    Disposition.QUARANTINE: Bucket.QUARANTINE,
    Disposition.LIQUIDATE: Bucket.LIQUIDATION,
    Disposition.DISPOSE: None,
    Disposition.RETURN_TO_VENDOR: None,
    Disposition.RETURN_TO_CUSTOMER: None,
    Disposition.REPAIR: None,  # the customer's unit leaves stock for the repair bench
}
DEFECT_DISPOSITIONS = {Disposition.QUARANTINE, Disposition.RETURN_TO_VENDOR, Disposition.DISPOSE}


def _qc_result(
    return_request: Return,
    data: ReturnEventData,
    actor: EventActor,
    held: list[ReturnItem] | None = None,
) -> None:
    """``held``: the return's items the caller loaded with ``return_items(...,
    lock_units=True)`` in this transaction (read here when not given); they
    are kept current, so the reactions can go on with them."""
    require_open(return_request, "qc_result")
    if not data.results:
        raise ApplicationError("results: give at least one QC result.", extra={"field": "results"})
    if held is None:
        held = return_items(return_request, lock_units=True)
    items = {i.unit_id: i for i in held}
    checked = _qc_validate(return_request, data, items)
    _qc_record(return_request, checked)
    by_method = _qc_route(return_request, checked)
    for method, units in by_method.items():
        name = method.__name__
        units_transition(
            units,
            name,
            actor=actor,
            message=name.replace("_", " "),
            payload={"rma": return_request.rma},
        )
    _qc_settle_exchanges(return_request, items, by_method, actor)
    _qc_send_back(return_request, by_method.get(Unit.fail_qc, []), actor)
    passed = sum(len(v) for k, v in by_method.items() if k is not Unit.fail_qc)
    failed = len(by_method.get(Unit.fail_qc, []))
    return_event(
        return_request,
        ReturnEventType.QC_RESULT,
        actor=actor,
        message=f"QC: {passed} passed, {failed} failed",
        payload={
            "results": [
                {
                    "unit": item.unit_id,
                    "passed": item.qc_passed,
                    "grade": item.grade,
                    "disposition": item.disposition,
                }
                for item in sorted((c[0] for c in checked), key=lambda i: i.unit_id)
            ]
        },
    )
    notify(return_request, "qc_outcome", passed=passed, failed=failed)


def _qc_validate(
    return_request: Return, data: ReturnEventData, items: dict[int, ReturnItem]
) -> list[tuple[ReturnItem, QcResult, str]]:
    """Each result's item and disposition, in input order; the first bad
    result refuses the whole event before anything is written."""
    checked = []
    seen: set[int] = set()
    for n, result in enumerate(data.results):
        f = f"results[{n}]"
        item = items.get(result.unit)
        if item is None:
            raise ApplicationError(
                f"{f}.unit: unit {result.unit} is not in return {return_request.rma}.",
                extra={"field": f"{f}.unit"},
            )
        if result.unit in seen:
            raise ApplicationError(
                f"{f}.unit: unit {result.unit} has two results.", extra={"field": f"{f}.unit"}
            )
        seen.add(result.unit)
        if item.unit.state != UnitState.RETURNED:
            raise Conflict(
                f"Unit {item.unit_id} is {item.unit.state}; QC needs it received first.",
                code="invalid_state",
                extra={"unit": item.unit_id, "state": item.unit.state},
            )
        checked.append((item, result, _disposition(f, item, result)))
    return checked


def _qc_record(return_request: Return, checked: list[tuple[ReturnItem, QcResult, str]]) -> None:
    """Store the grades and dispositions, and move the stock out of inspection."""
    moves: dict[tuple[int, int, str | None], int] = defaultdict(int)
    for item, result, disposition in checked:
        item.qc_passed, item.grade, item.disposition, item.qc_notes = (
            result.passed,
            result.grade,
            disposition,
            result.notes,
        )
        moves[(item.unit.sku_id, item.unit.location_id, DISPOSITION_BUCKET[disposition])] += 1
    update_rows(
        sorted((c[0] for c in checked), key=lambda i: i.unit_id),
        ["qc_passed", "grade", "disposition", "qc_notes"],
    )
    stock_move_many(
        [Move(s, loc, n, Bucket.PENDING_INSPECTION, to) for (s, loc, to), n in moves.items()],
        reason="qc_disposition",
        reference=return_request.rma,
        # A refused move (stock not in inspection) refuses the whole QC
        # result: no caller catches it and goes on, so no savepoint of its own.
        savepoint=False,
    )


def _qc_route(
    return_request: Return, checked: list[tuple[ReturnItem, QcResult, str]]
) -> dict[Callable[..., object], list[Unit]]:
    """The unit transition each inspected unit takes, in input order."""
    # A refusal on an all-cash order was never paid for; part prepaid, part
    # cash: the units go on to a refund of what the prepaid tenders overpaid.
    cod_refusal = (
        return_request.type == ReturnType.DOORSTEP_REFUSAL
        and return_request.refund_method != RefundMethod.ORIGINAL
        and return_request.order.payments.filter(method=PaymentMethod.COD).exists()
    )
    by_method: dict[Callable[..., object], list[Unit]] = defaultdict(list)
    for item, result, _ in checked:
        if not result.passed:
            by_method[Unit.fail_qc].append(item.unit)
        elif cod_refusal:
            by_method[Unit.pass_qc_uncharged].append(item.unit)
        elif item.resolution == Resolution.REPAIR:
            by_method[Unit.pass_qc_for_repair].append(item.unit)
        elif item.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT):
            by_method[Unit.pass_qc_for_exchange].append(item.unit)
        else:
            by_method[Unit.pass_qc_for_refund].append(item.unit)
    return by_method


def _qc_send_back(return_request: Return, failed: list[Unit], actor: EventActor) -> None:
    """Units that failed QC go back to the customer in a shipment of their
    own; its delivery (posted, or the courier's tracking) closes each unit."""
    if not failed:
        return
    shipments = shipment_send_back(order=return_request.order, units=failed, actor=actor)
    return_event(
        return_request,
        ReturnEventType.SENT_BACK,
        actor=actor,
        message=f"{len(failed)} unit(s) that failed QC sent back in shipment(s) "
        + ", ".join(str(s.pk) for s in shipments),
        payload={"shipments": [s.pk for s in shipments], "units": [u.pk for u in failed]},
    )


def _qc_settle_exchanges(
    return_request: Return,
    items: dict[int, ReturnItem],
    by_method: dict[Callable[..., object], list[Unit]],
    actor: EventActor,
) -> None:
    """An exchange already shipped (exchange-first) is settled once QC
    passes; a failed one gives its reservation back, and one whose
    replacement already shipped is noted (``flows.return_events`` opens the
    recovery for it)."""
    done_early = [
        items[u.pk].unit
        for u in by_method.get(Unit.pass_qc_for_exchange, [])
        if items[u.pk].dispatched
    ]
    units_transition(
        done_early, "mark_replaced", actor=actor, message="replacement already dispatched"
    )
    failed_exchanges = [items[u.pk] for u in by_method.get(Unit.fail_qc, [])]
    shipped_anyway = [i for i in failed_exchanges if i.dispatched]
    if shipped_anyway:
        return_event(
            return_request,
            ReturnEventType.EXCHANGE_FAILED_AFTER_DISPATCH,
            actor=actor,
            message=(
                f"{len(shipped_anyway)} unit(s) failed QC after their replacement shipped: "
                "the customer owes the replacement (a recovery is opened)"
            ),
            payload={"units": [i.unit_id for i in shipped_anyway]},
        )
    release_reservations(failed_exchanges, reference=return_request.rma)


def _disposition(f: str, item: ReturnItem, result: QcResult) -> str:
    disposition = result.disposition
    if disposition and disposition not in Disposition.values:
        raise ApplicationError(
            f"{f}.disposition: must be one of {', '.join(Disposition.values)}.",
            extra={"field": f"{f}.disposition"},
        )
    if not result.passed:
        disposition = disposition or Disposition.RETURN_TO_CUSTOMER
        if disposition != Disposition.RETURN_TO_CUSTOMER:
            raise ApplicationError(
                f"{f}.disposition: a unit that failed QC goes back to the customer.",
                extra={"field": f"{f}.disposition"},
            )
        return disposition
    if item.resolution == Resolution.REPAIR:
        if disposition not in ("", Disposition.REPAIR):
            raise ApplicationError(
                f"{f}.disposition: a unit accepted for repair goes to the repair bench (repair).",
                extra={"field": f"{f}.disposition"},
            )
        return Disposition.REPAIR
    if disposition == Disposition.REPAIR:
        raise ApplicationError(
            f"{f}.disposition: repair is only for a unit resolved as repair.",
            extra={"field": f"{f}.disposition"},
        )
    if item.reason.defect:
        disposition = disposition or Disposition.QUARANTINE
        if disposition not in DEFECT_DISPOSITIONS:
            raise ApplicationError(
                f"{f}.disposition: a {item.reason.code} unit can only be quarantined, returned to the vendor or disposed of; "
                "it never goes back on sale.",
                code="defect_never_sellable",
                extra={"field": f"{f}.disposition"},
            )
        return disposition
    if disposition == Disposition.RETURN_TO_CUSTOMER:
        raise ApplicationError(
            f"{f}.disposition: a unit that passed QC stays with us.",
            extra={"field": f"{f}.disposition"},
        )
    return disposition or Disposition.RESTOCK
