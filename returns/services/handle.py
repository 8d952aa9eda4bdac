"""``return_event_handle``: the one place events move a return and its units.

The courier webhook, the warehouse's QC screen, the console and the SLA
sweeper all call it. An event that does not fit the current state is refused
with 409 and changes nothing; a redelivered event (same ``event_id``) is
ignored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max

from inventory.models import Location
from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.errors import ApplicationError, Conflict
from oms.roles import WAREHOUSE
from orders.events import EventActor
from orders.models import LedgerEntry, Line, Payment, Unit
from orders.services import event_claim, shipment_create, units_transition
from orders.states import PaymentMethod, ShipmentKind, UnitState

from ..events import ReturnEventType, return_event
from ..messages import notify
from ..models import Return, ReturnItem
from ..states import NO_PICKUP, Disposition, EventKind, Resolution, ReturnState, ReturnType
from . import resolve
from .common import (
    release_reservations,
    require_open,
    return_get_for_update,
    return_items,
    transition,
)
from .create import keep_units_on_approval

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


@dataclass
class QcResult:
    unit: int
    passed: bool
    grade: str = ""
    disposition: str = ""
    notes: str = ""


@dataclass
class ReturnEventData:
    type: str
    location: str | None = None
    units: list[int] | None = None
    results: list[QcResult] = field(default_factory=list)
    amount: Decimal | None = None
    reason: str = ""
    event_id: str = ""
    method: str = ""


# Events that are the warehouse's duty; anyone else recording them is marked
# on the timeline as acting for the warehouse.
WAREHOUSE_EVENTS = {EventKind.RECEIVED, EventKind.QC_RESULT}


def return_event_actor(data: ReturnEventData, actor: EventActor) -> EventActor:
    """The actor an event is recorded under (acting for the warehouse when
    the event is the warehouse's duty)."""
    if data.type in WAREHOUSE_EVENTS:
        actor = actor.on_duty(WAREHOUSE)
    return actor


def return_event_claim(ret: Return, data: ReturnEventData) -> bool:
    """False for a redelivered event (same ``event_id``): ignore it."""
    return event_claim(source=f"return:{ret.rma}", external_id=data.event_id)


def return_event_handle(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    """Apply one event to a locked return (``return_get_for_update``). The
    reactions follow in ``flows.reactions.return_changed``."""
    handler = HANDLERS.get(data.type)
    if handler is None:
        raise ApplicationError(f"type: unknown event type {data.type!r}.", extra={"field": "type"})
    handler(ret, data, actor)


def _units_in(
    items: list[ReturnItem], states: set[str], wanted: list[int] | None, action: str
) -> list[ReturnItem]:
    chosen = [
        i for i in items if i.unit.state in states and (wanted is None or i.unit_id in wanted)
    ]
    if wanted is not None:
        known = {i.unit_id for i in items}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ApplicationError(
                f"units: {unknown} are not in this return.",
                extra={"field": "units", "units": unknown},
            )
        wrong = [i for i in items if i.unit_id in wanted and i.unit.state not in states]
        if wrong:
            raise Conflict(
                f"Unit {wrong[0].unit_id} is {wrong[0].unit.state}; '{action}' does not apply.",
                code="invalid_state",
                extra={"unit": wrong[0].unit_id, "state": wrong[0].unit.state},
            )
    if not chosen:
        raise Conflict(f"No unit of this return is waiting for '{action}'.", code="invalid_state")
    return chosen


def _sku_counts(items: list[ReturnItem]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for i in items:
        counts[i.unit.sku_id] += 1
    return counts


def _pickup_completed(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(ret, "pickup_completed")
    items = [i for i in return_items(ret, lock_units=True) if i.resolution not in NO_PICKUP]
    chosen = _units_in(items, {UnitState.RETURN_REQUESTED}, data.units, "pickup_completed")
    stock_move_many(
        [
            Move(s, ret.location_id, n, None, Bucket.IN_TRANSIT)
            for s, n in _sku_counts(chosen).items()
        ],
        reason="return_picked_up",
        reference=ret.rma,
    )
    units_transition(
        [i.unit for i in chosen],
        "pick_up",
        actor=actor,
        message=f"picked up ({ret.rma})",
        payload={"rma": ret.rma},
    )
    return_event(
        ret,
        ReturnEventType.PICKUP_COMPLETED,
        actor=actor,
        message=f"{len(chosen)} unit(s) picked up",
        payload={"units": [i.unit_id for i in chosen]},
    )
    if ret.state == ReturnState.APPROVED and not any(
        i.unit.state == UnitState.RETURN_REQUESTED for i in items
    ):
        transition(ret, "mark_in_transit", actor=actor)
    notify(ret, "pickup_done")


def _pickup_failed(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(ret, "pickup_failed")
    if ret.state != ReturnState.APPROVED:
        raise Conflict(
            f"Return {ret.rma} is {ret.state}; there is no pickup to fail.",
            code="invalid_state",
            extra={"state": ret.state},
        )
    Return.objects.filter(pk=ret.pk).update(pickup_attempts=F("pickup_attempts") + 1)
    ret.pickup_attempts += 1
    return_event(
        ret,
        ReturnEventType.PICKUP_FAILED,
        actor=actor,
        message=f"Pickup attempt {ret.pickup_attempts} failed"
        + (f": {data.reason}" if data.reason else ""),
        payload={"attempt": ret.pickup_attempts, "reason": data.reason},
    )
    notify(ret, "pickup_failed")


def _received(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(ret, "received")
    if not data.location:
        raise ApplicationError(
            "location: the receiving location is required.", extra={"field": "location"}
        )
    location = Location.objects.filter(code=data.location).first()
    if location is None:
        raise ApplicationError(
            f"location: unknown location {data.location!r}.", extra={"field": "location"}
        )
    items = [i for i in return_items(ret, lock_units=True) if i.resolution not in NO_PICKUP]
    chosen = _units_in(
        items, {UnitState.RETURN_IN_TRANSIT, UnitState.RETURN_REQUESTED}, data.units, "received"
    )
    moves = []
    for (sku_id, from_bucket), n in _group(chosen).items():
        if from_bucket:
            moves.append(Move(sku_id, ret.location_id, n, Bucket.IN_TRANSIT, None))
        moves.append(Move(sku_id, location.pk, n, None, Bucket.PENDING_INSPECTION))
    stock_move_many(moves, reason="return_received", reference=ret.rma)
    units_transition(
        [i.unit for i in chosen],
        "receive",
        args=(location,),
        fields=("location_id",),
        actor=actor,
        message=f"received at {location.code}",
        payload={"rma": ret.rma, "location": location.code},
    )
    return_event(
        ret,
        ReturnEventType.RECEIVED,
        actor=actor,
        message=f"{len(chosen)} unit(s) received at {location.code}",
        payload={"units": [i.unit_id for i in chosen], "location": location.code},
    )
    waiting = {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT}
    if not any(i.unit.state in waiting for i in items):
        transition(ret, "mark_received", actor=actor)
    notify(ret, "received")


def _group(items: list[ReturnItem]) -> dict[tuple[int, bool], int]:
    out: dict[tuple[int, bool], int] = defaultdict(int)
    for i in items:
        out[(i.unit.sku_id, i.unit.state == UnitState.RETURN_IN_TRANSIT)] += 1
    return out


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
            "return.exchange_failed_after_dispatch",
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


def _exchange_dispatched(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(ret, "exchange_dispatched")
    early_ok = ret.policy.exchange_dispatch_before_receipt
    allowed = {UnitState.PENDING_EXCHANGE}
    if early_ok:
        allowed |= {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED}
    items = [
        i
        for i in return_items(ret, lock_units=True)
        if i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT) and not i.dispatched
    ]
    if not items:
        raise Conflict(
            "No exchange on this return is waiting to be dispatched.", code="invalid_state"
        )
    chosen = _units_in(items, allowed, data.units, "exchange_dispatched")
    owed = sum(
        (
            i.price_difference
            for i in chosen
            if i.price_difference > 0 and not i.difference_collected
        ),
        Decimal("0"),
    )
    if owed > 0:
        raise Conflict(
            f"Collect {owed} {ret.order.currency} from the customer before dispatching the exchange.",
            code="difference_not_collected",
            extra={"amount": str(owed)},
        )
    order = ret.order
    position = Line.objects.filter(order=order).aggregate(m=Max("position"))["m"] or 0
    new_units = []
    for item in chosen:
        if item.reserved_at_id is None:
            raise Conflict(
                f"The replacement for unit {item.unit_id} is no longer reserved.",
                code="insufficient_stock",
            )
        position += 1
        sku = item.exchange_sku
        original = item.unit
        net = original.net_paid + (
            item.price_difference
            if item.price_difference > 0
            else -min(-item.price_difference, original.net_paid)
        )
        price = sku.price if item.resolution == Resolution.EXCHANGE else original.line.unit_price
        tax = (
            (original.tax_amount * net / original.net_paid).quantize(Decimal("0.01"))
            if original.net_paid
            else Decimal("0")
        )
        line = Line.objects.create(
            order=order,
            position=position,
            sku=sku,
            quantity=1,
            unit_price=price,
            tax_rate=sku.tax_rate,
            discount=max(price - net, Decimal("0")),
            replacement_for=original,
        )
        new_units.append(
            Unit.objects.create(
                order=order, line=line, sku=sku, index=1, net_paid=net, tax_amount=tax
            )
        )
    for item, unit in zip(chosen, new_units, strict=True):
        units_transition(
            [unit],
            "allocate",
            args=(item.reserved_at,),
            fields=("location_id",),
            actor=actor,
            message=f"replacement reserved for {ret.rma}",
        )
    by_location: dict[int, list[Unit]] = defaultdict(list)
    for item, unit in zip(chosen, new_units, strict=True):
        by_location[item.reserved_at_id].append(unit)
    shipments = [
        shipment_create(
            order=order, unit_ids=[u.pk for u in us], actor=actor, kind=ShipmentKind.REPLACEMENT
        )
        for us in by_location.values()
    ]
    for item, unit in zip(chosen, new_units, strict=True):
        ReturnItem.objects.filter(pk=item.pk).update(replacement_unit=unit)
        item.replacement_unit = unit
    settled = [i.unit for i in chosen if i.unit.state == UnitState.PENDING_EXCHANGE]
    units_transition(
        settled, "mark_replaced", actor=actor, message=f"replacement dispatched ({ret.rma})"
    )
    return_event(
        ret,
        ReturnEventType.EXCHANGE_DISPATCHED,
        actor=actor,
        message=f"{len(chosen)} replacement(s) shipped in shipment(s) {', '.join(str(s.pk) for s in shipments)}",
        payload={
            "shipments": [s.pk for s in shipments],
            "replacements": {str(i.unit_id): u.pk for i, u in zip(chosen, new_units, strict=True)},
        },
    )
    notify(ret, "exchange_dispatched")


def _difference_collected(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(ret, "difference_collected")
    items = [i for i in return_items(ret) if i.price_difference > 0 and not i.difference_collected]
    owed = sum((i.price_difference for i in items), Decimal("0"))
    if not items:
        raise Conflict("Nothing is waiting to be collected on this return.", code="invalid_state")
    if data.amount is None or data.amount != owed:
        raise ApplicationError(
            f"amount: {owed} is owed for the dearer variant(s), not {data.amount}.",
            extra={"field": "amount", "owed": str(owed)},
        )
    ReturnItem.objects.filter(pk__in=[i.pk for i in items]).update(difference_collected=True)
    # The collection is a tender of the order like any other, so a later
    # refund (the replacement returned, or the exchange converted) can give
    # it back through the same per-tender caps.
    method = data.method or PaymentMethod.UPI
    if method not in (PaymentMethod.CARD, PaymentMethod.UPI, PaymentMethod.WALLET):
        raise ApplicationError(
            "method: the difference is collected by card, upi or wallet.", extra={"field": "method"}
        )
    position = (Payment.objects.filter(order=ret.order).aggregate(m=Max("position"))["m"] or 0) + 1
    payment = Payment.objects.create(
        order=ret.order,
        position=position,
        method=method,
        amount=owed,
        captured_amount=owed,
        gateway="exchange-difference",
        reference=ret.rma,
    )
    LedgerEntry.objects.create(
        order=ret.order,
        kind=LedgerEntry.Kind.EXCHANGE_COLLECTION,
        amount=owed,
        currency=ret.order.currency,
        payment=payment,
        reference=ret.rma,
    )
    return_event(
        ret,
        ReturnEventType.DIFFERENCE_COLLECTED,
        actor=actor,
        message=f"Collected {owed} {ret.order.currency}",
        payload={"amount": str(owed)},
    )


def _cancelled(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    if ret.state not in (ReturnState.APPROVED, ReturnState.PENDING_REVIEW):
        raise Conflict(
            f"Return {ret.rma} is {ret.state}; only a return not yet picked up can be cancelled.",
            code="invalid_state",
            extra={"state": ret.state},
        )
    items = return_items(ret, lock_units=True)
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
    _close_unstarted(ret, items, actor, "cancel", why=data.reason or "cancelled")
    return_event(
        ret,
        ReturnEventType.CANCELLED,
        actor=actor,
        message=data.reason or "Cancelled",
        payload={"reason": data.reason},
    )
    notify(ret, "cancelled")


def _close_unstarted(
    ret: Return, items: list[ReturnItem], actor: EventActor, method: str, *args, why: str
) -> None:
    release_reservations(items, reference=ret.rma)
    units_transition(
        [i.unit for i in items], "cancel_return", actor=actor, message=f"{ret.rma} {why}"
    )
    ReturnItem.objects.filter(return_request=ret).update(is_open=False)
    from django.utils import timezone

    transition(ret, method, *(args or (timezone.now(),)), actor=actor, message=why)


HANDLERS = {
    EventKind.PICKUP_COMPLETED: _pickup_completed,
    EventKind.PICKUP_FAILED: _pickup_failed,
    EventKind.RECEIVED: _received,
    EventKind.QC_RESULT: _qc_result,
    EventKind.EXCHANGE_DISPATCHED: _exchange_dispatched,
    EventKind.DIFFERENCE_COLLECTED: _difference_collected,
    EventKind.CANCELLED: _cancelled,
    EventKind.CONVERT_TO_KEEP: resolve.convert_to_keep,
    EventKind.CONVERT_TO_REFUND: resolve.convert_to_refund,
    EventKind.EXCHANGE_RELOCATED: lambda ret, data, actor: _relocate(ret, data, actor),
}


def _relocate(ret: Return, data: ReturnEventData, actor: EventActor) -> None:
    if not resolve.exchange_relocate(ret, data, actor):
        raise Conflict(
            "No other location or allowed variant has stock for this exchange.",
            code="insufficient_stock",
        )


def return_review_approve(*, rma: str, actor: EventActor, note: str = "") -> Return:
    from django.utils import timezone

    with transaction.atomic(
        savepoint=False
    ):  # inside its flow's transaction: no savepoint (no extra queries)
        ret = return_get_for_update(rma)
        if ret.state != ReturnState.PENDING_REVIEW:
            raise Conflict(
                f"Return {rma} is {ret.state}, not waiting for review.",
                code="invalid_state",
                extra={"state": ret.state},
            )
        transition(
            ret,
            "approve",
            actor.user,
            note,
            timezone.now(),
            actor=actor,
            message=note or "Approved in review",
        )
        return_event(ret, ReturnEventType.APPROVED, actor=actor, message=note or "Approved")
        notify(ret, "return_approved")
        keep_units_on_approval(ret, return_items(ret, lock_units=True), actor)
        return ret


def return_review_reject(*, rma: str, actor: EventActor, note: str = "") -> Return:
    from django.utils import timezone

    with transaction.atomic():
        ret = return_get_for_update(rma)
        if ret.state != ReturnState.PENDING_REVIEW:
            raise Conflict(
                f"Return {rma} is {ret.state}, not waiting for review.",
                code="invalid_state",
                extra={"state": ret.state},
            )
        items = return_items(ret, lock_units=True)
        _close_unstarted(
            ret, items, actor, "reject", actor.user, note, timezone.now(), why="rejected in review"
        )
        return_event(ret, ReturnEventType.REJECTED, actor=actor, message=note or "Rejected")
        notify(ret, "return_rejected", note=note)
        return ret
