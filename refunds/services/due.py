"""Refunds created when due: a reaction to every return change
(``flows.reactions.return_changed``).

Gates (DOMAIN.md, Deferred refunds): a return's refund falls due only when
none of its units is still on the way or waiting for QC and every exchange on
it is final. Keep-it units are refunded at approval, as the policy allows.
Amounts come from ``refunds.calculator``, rows from ``refunds.builder``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from oms.prepared import prepared
from orders.events import Event, EventActor, timeline_flush, timeline_record
from orders.models import Order, Payment, TimelineEvent
from orders.services import units_transition
from orders.states import UnitState
from returns.models import Return, ReturnItem
from returns.selectors import return_items_read
from returns.states import NO_PICKUP, Resolution, ReturnType

from ..builder import RefundItemRow, refund_row_create
from ..calculator import refund_due_breakdown, refund_money_rows, refund_unit_rows
from ..events import RefundEventType
from ..models import Refund, RefundItem
from ..states import RefundKind, RefundState

WAITING = {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED}


@dataclass
class DueRefunds:
    """What ``refund_create_due_held`` did: the refunds it created, and the
    ids of the return's refunds before them when it read them (None when
    nothing was due, so it did not)."""

    created: list[Refund] = field(default_factory=list)
    before: list[int] | None = None
    # The order's units as just read (pk, state, net paid), until a step
    # moves one: the next refund priced uses them instead of reading them.
    units: list[tuple] | None = field(default=None, repr=False)


def refund_create_due(ret: Return, actor: EventActor) -> list[Refund]:
    """Reaction to every return change: create the refunds that are now due."""
    (order,) = _order_locked(ret.order_id)
    items = return_items_read(ret, related=("unit__line",))
    return _create_due(ret, order, items, actor, DueRefunds()).created


@prepared
def _order_locked(order_id):
    return Order.objects.select_for_update(of=("self",)).filter(pk=order_id).order_by()


def refund_create_due_held(ret: Return, actor: EventActor, items: list[ReturnItem]) -> DueRefunds:
    """``refund_create_due`` for a change whose transaction holds the return
    (``return_get_for_update``: its order locked and loaded) and its items
    (``return_items(..., lock_units=True)``, units current): neither is read
    or locked again, and the units it settles are those objects."""
    return _create_due(ret, ret.order, items, actor, DueRefunds())


def _create_due(
    ret: Return, order: Order, items: list[ReturnItem], actor: EventActor, out: DueRefunds
) -> DueRefunds:
    # The order's units and what refunds already cover, in one read; the
    # first refund priced goes on these unit states unless a step below
    # moves units first (then it reads them again).
    units, covered = refund_unit_rows(order, [i.unit_id for i in items])
    out.units = units
    created = out.created
    keep = [
        i
        for i in items
        if i.resolution == Resolution.KEEP
        and i.unit.state == UnitState.KEPT
        and (i.unit_id, RefundKind.KEEP_IT) not in covered
    ]
    if keep:
        created += _create(ret, order, keep, RefundKind.KEEP_IT, actor, items, out)
    credit = [
        i
        for i in items
        if i.resolution == Resolution.PARTIAL_CREDIT
        and i.unit.state == UnitState.KEPT
        and (i.unit_id, RefundKind.PARTIAL_CREDIT) not in covered
    ]
    if credit:
        created += _create(ret, order, credit, RefundKind.PARTIAL_CREDIT, actor, items, out)
    physical = [i for i in items if i.resolution not in NO_PICKUP]
    instant = _instant_due(ret, physical, covered)
    if instant:
        created += _create(ret, order, instant, RefundKind.INSTANT, actor, items, out)
        covered |= {(i.unit_id, RefundKind.RETURN) for i in instant}
    if _settle_refunded_early(ret, physical, covered, actor):
        out.units = None
    if any(i.unit.state in WAITING for i in physical):
        return out
    if any(
        i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT)
        and not i.dispatched
        and i.unit.state not in (UnitState.RETURN_REJECTED, UnitState.RETURNED_TO_CUSTOMER)
        for i in physical
    ):
        return out
    due = [
        i
        for i in physical
        if i.resolution == Resolution.REFUND
        and i.unit.state == UnitState.PENDING_REFUND
        and (i.unit_id, RefundKind.RETURN) not in covered
    ]
    due += [
        i
        for i in physical
        if i.resolution == Resolution.EXCHANGE
        and i.price_difference < 0
        and i.unit.state == UnitState.REPLACED
        and (i.unit_id, RefundKind.EXCHANGE_DIFFERENCE) not in covered
    ]
    if due:
        created += _create(ret, order, due, RefundKind.RETURN, actor, items, out)
    return out


def _create(
    ret: Return,
    order: Order,
    items: list[ReturnItem],
    kind: str,
    actor: EventActor,
    return_items: list[ReturnItem],
    out: DueRefunds,
) -> list[Refund]:
    payments = _payments_locked(order.pk)
    rows = refund_money_rows(order)
    units, out.units = out.units, None  # pricing or settling may change them
    breakdown = refund_due_breakdown(
        ret, order, items, payments, return_items, rows=rows, units=units
    )
    # The return's refunds so far (this change's included): read with the money.
    mine = list(dict.fromkeys(r[0] for r in rows if r[4] == ret.pk))
    if out.before is None:
        out.before = [pk for pk in mine if pk not in {r.pk for r in out.created}]
    if breakdown.total <= 0:
        _settle_without_money(ret, items, actor, breakdown.as_dict())
        return []
    amounts = {u["unit"]: Decimal(u["amount"]) for u in breakdown.units}
    n = len(mine) + 1
    refund = refund_row_create(
        order=order,
        return_request=ret,
        kind=kind,
        method=ret.refund_method,
        breakdown=breakdown,
        items=[
            RefundItemRow(
                i.unit,
                RefundKind.EXCHANGE_DIFFERENCE
                if i.resolution == Resolution.EXCHANGE
                # An instant refund pays for the returned unit: the same item
                # kind as the refund after QC, so it can never be paid twice.
                else (RefundKind.RETURN if kind == RefundKind.INSTANT else kind),
                amounts[i.unit_id],
            )
            for i in items
        ],
        idempotency_key=f"{ret.rma}-{n}",
        actor=actor,
        timeline_payload={"rma": ret.rma},
    )
    return [refund]


@prepared
def _payments_locked(order_id):
    return (
        Payment.objects.select_for_update(of=("self",))
        .filter(order_id=order_id)
        .order_by("position")
    )


def _instant_due(ret: Return, physical: list[ReturnItem], covered: set) -> list[ReturnItem]:
    """Policy may refund low-risk, low-value returns as soon as the courier has
    the units (instead of after QC): pure refund returns only, risk below half
    the threshold, value up to ``instant_refund_max``."""
    policy = ret.policy
    if policy.instant_refund_max <= 0 or ret.risk_score >= policy.risk_threshold / 2:
        return []
    if ret.type not in (ReturnType.PARTIAL_RETURN,) or any(
        i.resolution != Resolution.REFUND for i in physical
    ):
        return []
    picked = [
        i
        for i in physical
        if i.unit.state in (UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED)
        and (i.unit_id, RefundKind.RETURN) not in covered
    ]
    if not picked:
        return []
    if sum((i.unit.net_paid for i in physical), Decimal("0")) > policy.instant_refund_max:
        return []
    return picked


def _settle_refunded_early(
    ret: Return, physical: list[ReturnItem], covered: set, actor: EventActor
) -> bool:
    """Units refunded instantly settle when they pass QC; a unit that fails QC
    after its instant refund is noted (``flows.return_events`` opens the
    recovery for the money). True when a unit moved."""
    early = [i for i in physical if (i.unit_id, RefundKind.RETURN) in covered]
    if not early:
        return False
    issued = set(
        RefundItem.objects.filter(
            unit_id__in=[i.unit_id for i in early],
            kind=RefundKind.RETURN,
            refund__state=RefundState.ISSUED,
        ).values_list("unit_id", flat=True)
    )
    settle = [
        i.unit for i in early if i.unit.state == UnitState.PENDING_REFUND and i.unit_id in issued
    ]
    units_transition(
        settle,
        "mark_refunded",
        actor=actor,
        message="refunded at pickup (instant refund)",
        payload={"rma": ret.rma},
    )
    failed = [
        i
        for i in early
        if i.unit.state in (UnitState.RETURN_REJECTED, UnitState.RETURNED_TO_CUSTOMER)
    ]
    if not failed:
        return bool(settle)
    timeline_flush()  # rows kept by a batched change are read below
    flagged = set(
        TimelineEvent.objects.filter(
            order_id=ret.order_id, type=RefundEventType.INSTANT_QC_FAILED
        ).values_list("entity_id", flat=True)
    )
    for item in failed:
        if str(item.unit_id) in flagged:
            continue
        timeline_record(
            order=ret.order_id,
            actor=actor,
            event=Event(
                "unit",
                item.unit_id,
                RefundEventType.INSTANT_QC_FAILED,
                message=(
                    f"Unit {item.unit_id} failed QC after an instant refund: the customer owes it back "
                    "(a recovery is opened)"
                ),
                payload={"rma": ret.rma},
            ),
        )
    return bool(settle)


def _settle_without_money(
    ret: Return, items: list[ReturnItem], actor: EventActor, breakdown: dict
) -> None:
    units = [i.unit for i in items if i.unit.state == UnitState.PENDING_REFUND]
    units_transition(
        units,
        "mark_refunded",
        actor=actor,
        message="nothing to refund after fees",
        payload={"rma": ret.rma, "breakdown": breakdown},
    )
    timeline_record(
        order=ret.order_id,
        actor=actor,
        event=Event(
            "refund",
            ret.rma,
            RefundEventType.NOTHING_DUE,
            message="Nothing to refund",
            payload=breakdown,
        ),
    )
