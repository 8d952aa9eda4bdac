"""What prepaid tenders give back for units cancelled before they shipped."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orders.models import Order, Payment, Unit
from orders.states import PaymentMethod
from returns.models import ReturnPolicy

from ..loyalty import loyalty_mark, loyalty_tenders
from ..pricing import Breakdown, split_tenders, tenders_in_policy_order
from .returns_money import tenders_promised

ZERO = Decimal("0.00")


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
    tenders, points = loyalty_tenders(
        order, tenders_in_policy_order(prepaid, policy, tenders_promised(order)), units
    )
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
    return CancellationBreakdown(loyalty_mark(breakdown, tenders, points), amounts)
