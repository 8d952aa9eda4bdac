"""The one refund calculator (DOMAIN.md, Money).

Every amount refunds pays out is worked out here: the refund of a return when
it falls due (keep-it, partial credit, instant, after QC, exchange
difference) and the refund of units cancelled before they shipped. The
arithmetic itself is ``returns.pricing`` (pure functions over plain values,
shared with the estimate a return stores at creation); this module reads the
money state it needs (tenders in the policy's order, capped at captured −
refunded − promised to pending refunds; shipping and fees already refunded)
and feeds it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import Sum

from oms.money import round_money
from orders.models import Order, Payment, Unit
from orders.states import PaymentMethod, UnitState
from returns.models import Return, ReturnItem, ReturnPolicy
from returns.pricing import (
    Breakdown,
    PricedUnit,
    Tender,
    price_return,
    split_tenders,
    tenders_in_policy_order,
)
from returns.states import NO_PICKUP, Resolution, ReturnType

from .models import Refund, RefundTender
from .states import RefundState, TenderState

__all__ = [
    "WITH_CUSTOMER",
    "Breakdown",
    "CancellationBreakdown",
    "PricedUnit",
    "Tender",
    "cancellation_breakdown",
    "price_return",
    "refund_due_breakdown",
    "refund_quote",
    "split_tenders",
    "tax_share",
    "tenders_in_policy_order",
    "tenders_promised",
]

ZERO = Decimal("0.00")


class Plan(Protocol):
    """What the calculator reads of ``returns.services.Plan`` (a return
    checked but not written yet)."""

    order: Order
    policy: ReturnPolicy
    items: list[Any]  # returns.services.PlannedItem
    type: str
    payments: list[Payment]
    breakdown: dict


# Unit states in which a unit is still with the customer: while one is, a
# return does not refund the order's shipping (unless the fault is ours).
WITH_CUSTOMER = {
    UnitState.ORDERED,
    UnitState.ALLOCATED,
    UnitState.SHIPPED,
    UnitState.DELIVERED,
    UnitState.RETURN_REJECTED,
    UnitState.KEPT,
    UnitState.IN_REPAIR,
    UnitState.REPAIRED,
}


def tenders_promised(order: Order) -> dict[int, Decimal]:
    """Per payment, what refunds not issued yet have promised and not yet
    given back (a tender processed is in the payment's refunded amount)."""
    rows = (
        RefundTender.objects.filter(
            refund__order=order,
            refund__state__in=[RefundState.PENDING, RefundState.FAILED, RefundState.PROCESSING],
        )
        .exclude(state=TenderState.PROCESSED)
        .values("payment_id")
        .annotate(total=Sum("amount"))
    )
    return {r["payment_id"]: r["total"] for r in rows}


def tax_share(unit: Unit, amount: Decimal, currency: str = "INR") -> Decimal:
    """The tax inside ``amount`` of the unit's net paid, pro rata."""
    if not unit.net_paid:
        return Decimal("0.00")
    return round_money(unit.tax_amount * amount / unit.net_paid, currency)


def refund_due_breakdown(
    ret: Return, order: Order, items: list[ReturnItem], payments: list[Payment]
) -> Breakdown:
    """What a batch of a return's items refunds now. Fees are waived for
    merchant-fault reasons and items converted to a refund; the
    return-shipping fee is taken once per return; the order's shipping comes
    back once, when nothing stays with the customer (or the fault is ours)."""
    policy = ret.policy
    refunding_ids = {i.unit_id for i in items if i.resolution == Resolution.REFUND}
    others = (
        Unit.objects.filter(order=order)
        .exclude(pk__in=refunding_ids)
        .values_list("state", flat=True)
    )
    stays = any(s in WITH_CUSTOMER for s in others) or any(i.resolution in NO_PICKUP for i in items)
    replaced_any = Unit.objects.filter(order=order, state=UnitState.REPLACED).exists()
    shipping_refunded = Refund.objects.filter(order=order).aggregate(s=Sum("shipping_amount"))[
        "s"
    ] or Decimal("0")
    merchant_fault = any(
        i.reason.merchant_fault
        for i in items
        if i.resolution in (Resolution.REFUND, Resolution.KEEP)
    )
    fees_taken = Refund.objects.filter(return_request=ret).aggregate(s=Sum("fees_amount"))[
        "s"
    ] or Decimal("0")
    needs_pickup = ret.type != ReturnType.DOORSTEP_REFUSAL and any(
        i.resolution == Resolution.REFUND for i in items
    )
    return price_return(
        currency=order.currency,
        units=[
            PricedUnit(
                i.unit_id,
                i.unit.net_paid,
                i.unit.tax_amount,
                i.resolution,
                i.reason.merchant_fault or i.fees_waived,
                i.price_difference,
            )
            for i in items
        ],
        restocking_fee=policy.restocking_fee,
        return_shipping_fee=policy.return_shipping_fee if fees_taken == 0 else Decimal("0"),
        needs_pickup=needs_pickup,
        charge_fees=ret.type != ReturnType.DOORSTEP_REFUSAL,
        shipping_charge=order.shipping_amount,
        shipping_due=order.shipping_amount > 0
        and shipping_refunded == 0
        and (merchant_fault or not (stays or replaced_any)),
        tenders=tenders_in_policy_order(payments, policy, tenders_promised(order)),
        refund_method=ret.refund_method,
        partial_credit_percent=policy.partial_credit_percent,
    )


@dataclass(frozen=True)
class CancellationBreakdown:
    breakdown: Breakdown
    amounts: dict[int, Decimal]  # unit id → amount, in unit id order


def cancellation_breakdown(
    *,
    order: Order,
    policy: ReturnPolicy,
    payments: list[Payment],
    units: list[Unit],
    prepaid_due: Decimal,
    items_value: Decimal,
    reason: str,
    cod_reduction: Decimal,
) -> CancellationBreakdown | None:
    """What prepaid tenders give back for units cancelled before shipping
    (and the shipping charge when nothing ships any more). Units are covered
    in id order at their stored net paid, then shipping; when cash on
    delivery absorbed part of the value, the units covered last (or the
    shipping) carry less or nothing. None when nothing is due."""
    if prepaid_due <= 0:
        return None
    prepaid = [p for p in payments if p.method != PaymentMethod.COD]
    tenders = tenders_in_policy_order(prepaid, policy, tenders_promised(order))
    available = sum((t.refundable for t in tenders), ZERO)
    total = min(prepaid_due, available)
    if total <= 0:
        return None
    notes = [f"Cancelled before shipping: {reason}" if reason else "Cancelled"]
    if cod_reduction:
        notes.append(
            f"{cod_reduction} {order.currency} taken off the cash due at delivery instead."
        )
    if total < prepaid_due:
        notes.append(f"Capped at {available}: the most the order's tenders can still give back.")

    items_left = min(total, items_value)
    shipping = total - items_left
    amounts: dict[int, Decimal] = {}
    for unit in sorted(units, key=lambda u: u.pk):
        take = min(unit.net_paid, items_left)
        items_left -= take
        if take > 0:
            amounts[unit.pk] = take
    breakdown = Breakdown(
        currency=order.currency,
        items=total - shipping,
        shipping=shipping,
        total=total,
        capped=total < prepaid_due,
        tenders=split_tenders(total, tenders, "original"),
        units=[{"unit": pk, "amount": str(amount)} for pk, amount in amounts.items()],
        notes=notes,
    )
    return CancellationBreakdown(breakdown, amounts)


def refund_quote(plan: Plan, refund_method: str) -> dict:
    """The refund a planned return will make if every unit passes QC, by the
    rules of the refund when it falls due: on top of the plan's estimate, the
    order's shipping is not offered again once a refund (an earlier return's,
    or a cancellation's) has given it back. Reads the database only when the
    estimate includes shipping."""
    quoted = plan.breakdown
    if Decimal(quoted.get("shipping", "0")) <= 0:
        return quoted
    shipping_refunded = Refund.objects.filter(order=plan.order).aggregate(s=Sum("shipping_amount"))[
        "s"
    ] or Decimal("0")
    if shipping_refunded == 0:
        return quoted
    return _price_plan(plan, refund_method, shipping_due=False).as_dict()


def _price_plan(plan: Plan, refund_method: str, *, shipping_due: bool) -> Breakdown:
    refusal = plan.type == ReturnType.DOORSTEP_REFUSAL
    cod_refusal = refusal and any(p.method == PaymentMethod.COD for p in plan.payments)
    return price_return(
        currency=plan.order.currency,
        units=[
            PricedUnit(
                p.unit.pk,
                p.unit.net_paid,
                p.unit.tax_amount,
                p.resolution,
                p.reason.merchant_fault,
                p.price_difference,
            )
            for p in plan.items
        ],
        restocking_fee=plan.policy.restocking_fee,
        return_shipping_fee=plan.policy.return_shipping_fee,
        needs_pickup=not refusal and any(p.resolution not in NO_PICKUP for p in plan.items),
        charge_fees=not refusal,
        shipping_charge=plan.order.shipping_amount,
        shipping_due=shipping_due,
        tenders=tenders_in_policy_order(plan.payments, plan.policy),
        refund_method=refund_method,
        partial_credit_percent=plan.policy.partial_credit_percent,
        nothing_to_refund_reason="Cash on delivery: refused items were never paid for; nothing to refund."
        if cod_refusal
        else "",
    )
