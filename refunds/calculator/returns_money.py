"""The refunds of a return: the quote, the estimate and the refund when due
(see ``refunds.calculator``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from django.db import connection
from django.db.models import BooleanField, OuterRef, Subquery, Sum
from django.db.models.expressions import RawSQL

from oms.money import round_money
from oms.prepared import ids_match, ids_param, prepared
from orders.models import Order, Payment, Unit
from orders.states import PaymentMethod, UnitState
from returns.models import Return, ReturnItem, ReturnPolicy
from returns.states import NO_PICKUP, Resolution, ReturnType

from ..loyalty import loyalty_mark, loyalty_tenders
from ..models import Refund, RefundItem, RefundTender
from ..pricing import (
    BatchItem,
    Breakdown,
    MoneyState,
    ReturnTerms,
    Tender,
    batch_price,
    tenders_in_policy_order,
)
from ..states import REFUND_UNSETTLED, RefundKind, TenderState

ZERO = Decimal("0.00")
# Refunds whose money has not moved yet: what they will take is promised.
PROMISING = REFUND_UNSETTLED
# The units whose redeemed loyalty points a refund gives back.
LOYALTY_RESOLUTIONS = (Resolution.REFUND, Resolution.KEEP)


class Plan(Protocol):
    """What the calculator reads of ``returns.services.Plan`` (a return
    checked but not written yet)."""

    order: Order
    policy: ReturnPolicy
    items: list[Any]  # returns.services.PlannedItem
    type: str
    payments: list[Payment]
    units: list[Unit]


def tenders_promised(order: Order) -> dict[int, Decimal]:
    """Per payment, what pending or failed refunds have already promised."""
    rows = (
        RefundTender.objects.filter(refund__order=order, refund__state__in=PROMISING)
        .exclude(state=TenderState.PROCESSED)  # its money is in the payment's refunded
        .values("payment_id")
        .annotate(total=Sum("amount"))
    )
    return {r["payment_id"]: r["total"] for r in rows}


def tax_share(unit: Unit, amount: Decimal, currency: str = "INR") -> Decimal:
    """The tax inside ``amount`` of the unit's net paid, pro rata."""
    if not unit.net_paid:
        return Decimal("0.00")
    return round_money(unit.tax_amount * amount / unit.net_paid, currency)


def refund_money_rows(order: Order) -> list[tuple]:
    """The order's refunds as ``refund_due_breakdown`` reads them: (pk, state,
    shipping, fees, return id, tender's payment, amount, state), one row per
    tender (a refund without tenders: one row, tender columns None)."""
    return _refund_money_rows(order.pk)


@prepared
def _refund_money_rows(order_id):
    return Refund.objects.filter(order_id=order_id).values_list(
        "pk",
        "state",
        "shipping_amount",
        "fees_amount",
        "return_request_id",
        "tenders__payment_id",
        "tenders__amount",
        "tenders__state",
    )


# The item kinds ``refunds.services.due`` asks whether a unit is covered by.
COVERED_KINDS = (
    RefundKind.RETURN,
    RefundKind.KEEP_IT,
    RefundKind.PARTIAL_CREDIT,
    RefundKind.EXCHANGE_DIFFERENCE,
)


def refund_unit_rows(order: Order, unit_ids: list[int]) -> tuple[list[tuple], set[tuple[int, str]]]:
    """In one query: every unit of the order as ``refund_due_breakdown`` reads
    it (pk, state, net paid), and which of ``unit_ids`` a refund item of each
    kind in ``COVERED_KINDS`` already covers, as (unit, kind) pairs."""
    ids = sorted(set(unit_ids)) or [0]
    if ids_match(connection) is None:
        rows = list(_unit_rows_query(order.pk, f"IN ({', '.join(['%s'] * len(ids))})", ids))
    else:  # the ids as one parameter: one statement for any number of them
        rows = _unit_rows(order.pk, ids_param(connection, ids))
    units: list[tuple] = []
    covered: set[tuple[int, str]] = set()
    for pk, state, net_paid, *marks in rows:
        units.append((pk, state, net_paid))
        covered |= {(pk, kind) for kind, mark in zip(COVERED_KINDS, marks, strict=True) if mark}
    return units, covered


@prepared
def _unit_rows(order_id, ids):
    match = ids_match(connection)
    if match is None:  # refund_unit_rows asks only where there is one
        raise ValueError(f"no id-list parameter on {connection.vendor}")
    return _unit_rows_query(order_id, match, [ids])


def _unit_rows_query(order_id, match: str, ids: list):
    # Raw SQL: the same EXISTS per kind, restricted to the units asked about,
    # without compiling four Case/When/Exists trees.
    unit = connection.ops.quote_name(Unit._meta.db_table)
    item = connection.ops.quote_name(RefundItem._meta.db_table)
    flags = {
        f"covered_{n}": RawSQL(  # noqa: S611 - quoted table names, every value bound
            f"CASE WHEN {unit}.id {match} THEN EXISTS (SELECT 1 FROM {item} ri "  # noqa: S608 - quoted names, bound values
            f"WHERE ri.unit_id = {unit}.id AND ri.kind = %s) ELSE false END",
            [*ids, kind],
            output_field=BooleanField(),
        )
        for n, kind in enumerate(COVERED_KINDS)
    }
    return (
        Unit.objects.filter(order_id=order_id)
        .annotate(**flags)
        .values_list("pk", "state", "net_paid", *flags)
    )


def refund_due_breakdown(
    ret: Return,
    order: Order,
    items: list[ReturnItem],
    payments: list[Payment],
    return_items: list[ReturnItem] | None = None,
    *,
    rows: list[tuple] | None = None,
    units: list[tuple] | None = None,
) -> Breakdown:
    """What a batch of a return's items refunds now (``batch_price`` on the
    money state read from the database). ``return_items``: all the return's
    items (a merchant-fault one waives the return-shipping fee). ``rows``:
    ``refund_money_rows(order)`` and ``units`` the order's units of
    ``refund_unit_rows`` when the caller has just read them."""
    if rows is None:
        rows = refund_money_rows(order)
    promised: dict[int, Decimal] = defaultdict(Decimal)
    shipping: dict[int, Decimal] = {}
    fees: dict[int, Decimal] = {}
    for pk, state, ship, fee, return_id, payment_id, amount, tender_state in rows:
        shipping[pk] = ship
        if return_id == ret.pk:
            fees[pk] = fee
        if state in PROMISING and payment_id is not None and tender_state != TenderState.PROCESSED:
            promised[payment_id] += amount
    if units is None:
        units = list(Unit.objects.filter(order=order).values_list("pk", "state", "net_paid"))
    terms = _terms(order, ret.policy, ret.type, ret.refund_method, return_items or items)
    refusal_cod = _refusal_cod(ret.type, payments)
    # Redeemed loyalty points go back first, as points (refunds.loyalty).
    tenders, points = loyalty_tenders(
        order,
        _tenders(payments, ret.policy, promised, refusal_cod),
        [i.unit for i in items if i.resolution in LOYALTY_RESOLUTIONS],
    )
    state = MoneyState(
        tenders=tenders,
        shipping_refunded=sum(shipping.values(), ZERO),
        fees_taken=sum(fees.values(), ZERO),
    )
    if refusal_cod:
        state.overpaid = _overpaid(
            order, payments, promised, units, {i.unit_id for i in items}, state.shipping_refunded
        )
    breakdown = batch_price(
        terms,
        [_batch_item(i, i.unit, i.fees_waived) for i in items],
        state,
        {pk: st for pk, st, _ in units},
    )
    return loyalty_mark(breakdown, tenders, points)


def _terms(order: Order, policy: ReturnPolicy, type_: str, method: str, items) -> ReturnTerms:
    return ReturnTerms(
        currency=order.currency,
        return_type=type_,
        refund_method=method,
        restocking_fee=policy.restocking_fee,
        return_shipping_fee=policy.return_shipping_fee,
        partial_credit_percent=policy.partial_credit_percent,
        shipping_charge=order.shipping_amount,
        any_merchant_fault=any(i.reason.merchant_fault for i in items),
    )


def _batch_item(item: Any, unit: Unit, fees_waived: bool = False) -> BatchItem:
    return BatchItem(
        unit.pk,
        unit.net_paid,
        unit.tax_amount,
        item.resolution,
        item.reason.merchant_fault,
        fees_waived,
        item.price_difference,
    )


def _refusal_cod(type_: str, payments: list[Payment]) -> bool:
    return type_ == ReturnType.DOORSTEP_REFUSAL and any(
        p.method == PaymentMethod.COD for p in payments
    )


def _tenders(
    payments: list[Payment], policy: ReturnPolicy, promised: dict[int, Decimal], refusal_cod: bool
) -> list[Tender]:
    """A refusal on a cash-on-delivery order gives back through the prepaid
    tenders only: cash collected at the door never covered the refused units."""
    if refusal_cod:
        payments = [p for p in payments if p.method != PaymentMethod.COD]
    return tenders_in_policy_order(payments, policy, promised)


def _overpaid(
    order: Order,
    payments: list[Payment],
    promised: dict[int, Decimal],
    units: list[tuple[int, str, Decimal]],
    refused: set[int],
    shipping_refunded: Decimal,
) -> Decimal:
    """What the order's tenders (cash collected included) hold beyond what
    the customer still owes for everything but the refused units: the prepaid
    overpayment a refusal on a part-cash order gives back (issue 12, leak 8)."""
    retained = sum(
        (
            max(p.captured_amount - p.refunded_amount - promised.get(p.pk, ZERO), ZERO)
            for p in payments
        ),
        ZERO,
    )
    refunded = dict(
        RefundItem.objects.filter(refund__order=order)
        .values("unit_id")
        .annotate(s=Sum("amount"))
        .values_list("unit_id", "s")
    )
    owed = sum(
        (
            max(net - refunded.get(pk, ZERO), ZERO)
            for pk, st, net in units
            if pk not in refused and st not in (UnitState.CANCELLED, UnitState.NOT_CHARGED)
        ),
        ZERO,
    )
    if owed > 0:
        owed += max(order.shipping_amount - shipping_refunded, ZERO)
    return max(retained - owed, ZERO)


def order_payments(order: Order) -> list[Payment]:
    """The order's payments for a quote, each annotated with ``promised``
    (what pending or failed refunds will take from it) and the order's
    ``shipping_refunded``: the money state of a quote in one query.

    It runs on every quote and every return created: compiled once per
    process (``oms.prepared``), as compiling the two subqueries cost more
    than running them."""
    rows = _order_payments(order.pk)
    for p in rows:
        p.promised = _money(p.promised)
        p.shipping_refunded = _money(p.shipping_refunded)
    return rows


@prepared
def _order_payments(order_id):
    promised = (
        RefundTender.objects.filter(payment_id=OuterRef("pk"), refund__state__in=PROMISING)
        .exclude(state=TenderState.PROCESSED)
        .order_by()
        .values("payment_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    shipping = (
        Refund.objects.filter(order_id=OuterRef("order_id"))
        .order_by()
        .values("order_id")
        .annotate(s=Sum("shipping_amount"))
        .values("s")
    )
    return (
        Payment.objects.filter(order_id=order_id)
        .annotate(promised=Subquery(promised), shipping_refunded=Subquery(shipping))
        .order_by("position")
    )


def _money(value: object) -> Decimal:
    """A SUM as the database returns it (Decimal on PostgreSQL, a number on
    SQLite, None over no rows) as an amount."""
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(ZERO)


# The state each unit of a return is in when its refunds fall due: at approval
# (keep-it and partial credit) and after QC (everything else).
AT_APPROVAL: dict[str, str] = dict.fromkeys(NO_PICKUP, UnitState.KEPT)
AFTER_QC: dict[str, str] = {
    Resolution.REFUND: UnitState.PENDING_REFUND,
    Resolution.KEEP: UnitState.KEPT,
    Resolution.PARTIAL_CREDIT: UnitState.KEPT,
    Resolution.EXCHANGE: UnitState.REPLACED,
    Resolution.REPLACEMENT: UnitState.REPLACED,
    Resolution.REPAIR: UnitState.IN_REPAIR,
}


def refund_quote(plan: Plan, refund_method: str) -> dict:
    """The refunds a planned return will make if every unit passes QC and
    nothing else changes: the batches ``refunds.services.due`` creates, each
    priced by ``batch_price``. ``plan.payments`` come from ``order_payments``."""
    payments = plan.payments
    promised = {p.pk: getattr(p, "promised", ZERO) for p in payments}
    shipping_refunded = getattr(payments[0], "shipping_refunded", ZERO) if payments else ZERO
    units = [(u.pk, u.state, u.net_paid) for u in plan.units]
    items = [(p, p.unit) for p in plan.items]
    return _simulate(
        plan.order,
        plan.policy,
        plan.type,
        refund_method,
        items,
        payments,
        promised,
        shipping_refunded,
        units,
    ).as_dict()


def refund_estimate(ret: Return) -> dict:
    """``refund_quote`` for a return written by returns alone (a doorstep
    refusal, opened by the delivery report)."""
    order = ret.order
    payments = order_payments(order)
    promised = {p.pk: getattr(p, "promised", ZERO) for p in payments}
    shipping_refunded = getattr(payments[0], "shipping_refunded", ZERO) if payments else ZERO
    units = list(Unit.objects.filter(order=order).values_list("pk", "state", "net_paid"))
    items = [(i, i.unit) for i in ret.items.select_related("unit", "reason").order_by("pk")]
    return _simulate(
        order,
        ret.policy,
        ret.type,
        ret.refund_method,
        items,
        payments,
        promised,
        shipping_refunded,
        units,
    ).as_dict()


def _simulate(
    order: Order,
    policy: ReturnPolicy,
    type_: str,
    method: str,
    items: list[tuple[Any, Unit]],
    payments: list[Payment],
    promised: dict[int, Decimal],
    shipping_refunded: Decimal,
    units: list[tuple[int, str, Decimal]],
) -> Breakdown:
    terms = _terms(order, policy, type_, method, [i for i, _ in items])
    batch = [_batch_item(i, u) for i, u in items]
    refusal_cod = _refusal_cod(type_, payments)
    state = MoneyState(_tenders(payments, policy, promised, refusal_cod), shipping_refunded, ZERO)
    if refusal_cod:
        state.overpaid = _overpaid(
            order, payments, promised, units, {b.unit_id for b in batch}, shipping_refunded
        )
    now = {pk: st for pk, st, _ in units}
    approved = now | {
        b.unit_id: AT_APPROVAL.get(b.resolution, UnitState.RETURN_REQUESTED) for b in batch
    }
    after_qc = now | {b.unit_id: AFTER_QC.get(b.resolution, UnitState.RETURNED) for b in batch}
    batches = [
        ([b for b in batch if b.resolution == Resolution.KEEP], approved),
        ([b for b in batch if b.resolution == Resolution.PARTIAL_CREDIT], approved),
        ([b for b in batch if b.resolution not in NO_PICKUP], after_qc),
    ]
    out = Breakdown(currency=order.currency)
    unit_by_id = {u.pk: u for _, u in items}
    amounts = {b.unit_id: ZERO for b in batch}
    tenders: dict[int, dict] = {}
    for group, states in batches:
        if not group:
            continue
        loyal, points = loyalty_tenders(
            order,
            state.tenders,
            [unit_by_id[g.unit_id] for g in group if g.resolution in LOYALTY_RESOLUTIONS],
        )
        b = loyalty_mark(
            batch_price(terms, group, replace(state, tenders=loyal), states), loyal, points
        )
        out.collect += b.collect
        out.notes += [n for n in b.notes if n not in out.notes]
        out.capped = out.capped or b.capped
        if b.total <= 0:
            continue
        out.items += b.items
        out.restocking_fee += b.restocking_fee
        out.return_shipping_fee += b.return_shipping_fee
        out.shipping += b.shipping
        out.exchange_difference += b.exchange_difference
        out.total += b.total
        for u in b.units:
            amounts[u["unit"]] += Decimal(u["amount"])
        for t in b.tenders:
            tenders.setdefault(t["payment"], {**t, "amount": ZERO})["amount"] += Decimal(
                t["amount"]
            )
        taken = {t["payment"]: Decimal(t["amount"]) for t in b.tenders}
        state = replace(
            state,
            tenders=[
                replace(t, refundable=t.refundable - taken.get(t.payment_id, ZERO))
                for t in state.tenders
            ],
            shipping_refunded=state.shipping_refunded + b.shipping,
            fees_taken=state.fees_taken + b.fees,
        )
    out.units = [{"unit": pk, "amount": str(a)} for pk, a in amounts.items()]
    out.tenders = [{**t, "amount": str(t["amount"])} for t in tenders.values()]
    return out
