"""``qc_result``: grade, dispose and route each inspected unit."""

from __future__ import annotations

from collections import defaultdict

from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.errors import ApplicationError, Conflict
from orders.events import EventActor
from orders.models import Unit
from orders.services import units_transition
from orders.states import PaymentMethod, UnitState

from ...events import ReturnEventType, return_event
from ...messages import notify
from ...models import Return, ReturnItem
from ...states import Disposition, Resolution, ReturnType
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


def _qc_result(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(ret, "qc_result")
    if not data.results:
        raise ApplicationError("results: give at least one QC result.", extra={"field": "results"})
    items = {i.unit_id: i for i in return_items(ret, lock_units=True)}
    cod_refusal = (
        ret.type == ReturnType.DOORSTEP_REFUSAL
        and ret.order.payments.filter(method=PaymentMethod.COD).exists()
    )
    by_method: dict[str, list[Unit]] = defaultdict(list)
    moves: dict[tuple[int, int, str | None], int] = defaultdict(int)
    seen: set[int] = set()
    for n, result in enumerate(data.results):
        f = f"results[{n}]"
        item = items.get(result.unit)
        if item is None:
            raise ApplicationError(
                f"{f}.unit: unit {result.unit} is not in return {ret.rma}.",
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
        disposition = _disposition(f, item, result)
        item.qc_passed, item.grade, item.disposition, item.qc_notes = (
            result.passed,
            result.grade,
            disposition,
            result.notes,
        )
        moves[(item.unit.sku_id, item.unit.location_id, DISPOSITION_BUCKET[disposition])] += 1
        if not result.passed:
            by_method["fail_qc"].append(item.unit)
        elif cod_refusal:
            by_method["pass_qc_uncharged"].append(item.unit)
        elif item.resolution == Resolution.REPAIR:
            by_method["pass_qc_for_repair"].append(item.unit)
        elif item.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT):
            by_method["pass_qc_for_exchange"].append(item.unit)
        else:
            by_method["pass_qc_for_refund"].append(item.unit)
    ReturnItem.objects.bulk_update(
        [items[u] for u in seen], ["qc_passed", "grade", "disposition", "qc_notes"]
    )
    stock_move_many(
        [Move(s, loc, n, Bucket.PENDING_INSPECTION, to) for (s, loc, to), n in moves.items()],
        reason="qc_disposition",
        reference=ret.rma,
    )
    for method, units in by_method.items():
        units_transition(
            units, method, actor=actor, message=method.replace("_", " "), payload={"rma": ret.rma}
        )
    # An exchange already shipped (exchange-first) is settled once QC passes.
    done_early = [
        items[u.pk].unit
        for u in by_method.get("pass_qc_for_exchange", [])
        if items[u.pk].dispatched
    ]
    units_transition(
        done_early, "mark_replaced", actor=actor, message="replacement already dispatched"
    )
    failed_exchanges = [items[u.pk] for u in by_method.get("fail_qc", [])]
    shipped_anyway = [i for i in failed_exchanges if i.dispatched]
    if shipped_anyway:
        return_event(
            ret,
            ReturnEventType.EXCHANGE_FAILED_AFTER_DISPATCH,
            actor=actor,
            message=(
                f"{len(shipped_anyway)} unit(s) failed QC after their replacement shipped: an agent must "
                "charge the customer or recover the replacement"
            ),
            payload={"units": [i.unit_id for i in shipped_anyway]},
        )
    release_reservations(failed_exchanges, reference=ret.rma)
    passed = sum(len(v) for k, v in by_method.items() if k != "fail_qc")
    failed = len(by_method.get("fail_qc", []))
    return_event(
        ret,
        ReturnEventType.QC_RESULT,
        actor=actor,
        message=f"QC: {passed} passed, {failed} failed",
        payload={
            "results": [
                {
                    "unit": u,
                    "passed": items[u].qc_passed,
                    "grade": items[u].grade,
                    "disposition": items[u].disposition,
                }
                for u in sorted(seen)
            ]
        },
    )
    notify(ret, "qc_outcome", passed=passed, failed=failed)


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
