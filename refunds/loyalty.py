"""Loyalty points given back by refunds (seed 004, issue 12).

Each unit carries its share of the order's earned and redeemed points, split
at intake by largest remainder over net paid (``orders.loyalty``). A refund of
units (returned, kept, refunded at pickup, cancelled) reverses their earned
points and gives back their redeemed points, as points, exactly: a unit's
points move once (``LoyaltyUnitReversal``), so all refunds of an order
together move exactly the order's points.

The redeemed points are also a tender (``loyalty_points``) worth
``redeemed / rate``. A refund takes from it the money value of the points it
gives back, counted cumulatively over the order
(``value(before + points) − value(before)``), so the rounding never drifts and
the whole order gives back exactly the tender's amount.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from oms.money import round_money
from orders.events import Event, EventActor, timeline_record
from orders.messaging import webhook_enqueue, webhook_wanted
from orders.models import Order, Unit
from orders.states import PaymentMethod

from .models import LoyaltyAdjustment, LoyaltyUnitReversal, Refund
from .pricing import Breakdown, Tender
from .states import RefundKind

LOYALTY = PaymentMethod.LOYALTY_POINTS
# Refund kinds that give a unit's whole net paid back: its points go back too.
FULL_KINDS = (RefundKind.RETURN, RefundKind.KEEP_IT, RefundKind.INSTANT, RefundKind.CANCELLATION)


def points_value(points: int, rate: Decimal, currency: str) -> Decimal:
    return round_money(Decimal(points) / rate, currency)


def points_money(before: int, points: int, rate: Decimal, currency: str) -> Decimal:
    """The money value of ``points`` given back after ``before`` points were:
    the difference of the cumulative values, so the parts add up exactly."""
    return points_value(before + points, rate, currency) - points_value(before, rate, currency)


def _points_promised(order: Order, exclude: list[int]) -> int:
    """Redeemed points of the order's units already in a refund of a full kind."""
    return (
        Unit.objects.filter(order=order, loyalty_redeemed__gt=0, refund_items__kind__in=FULL_KINDS)
        .exclude(pk__in=exclude)
        .distinct()
        .aggregate(s=Sum("loyalty_redeemed"))["s"]
        or 0
    )


def loyalty_tenders(
    order: Order, tenders: list[Tender], units: list[Unit]
) -> tuple[list[Tender], int]:
    """The tenders with the loyalty tender first, worth exactly the money of
    the redeemed points ``units`` give back, and those points. No query for
    an order without redeemed points."""
    if not order.loyalty_redeemed or order.loyalty_rate is None:
        return tenders, 0
    points_tender = next((t for t in tenders if t.method == LOYALTY), None)
    if points_tender is None:
        return tenders, 0
    points = sum(u.loyalty_redeemed for u in units)
    before = _points_promised(order, [u.pk for u in units]) if points else 0
    money = points_money(before, points, order.loyalty_rate, order.currency)
    money = max(min(money, points_tender.refundable), Decimal("0"))
    others = [t for t in tenders if t is not points_tender]
    return [Tender(points_tender.payment_id, LOYALTY, money), *others], points


def loyalty_mark(breakdown: Breakdown, tenders: list[Tender], points: int) -> Breakdown:
    """Redeemed points go back as points whatever the refund method."""
    if not tenders or tenders[0].method != LOYALTY:
        return breakdown
    for row in breakdown.tenders:
        if row["payment"] == tenders[0].payment_id:
            row["method"] = LOYALTY
            row["points"] = points
    return breakdown


def loyalty_adjust(refund: Refund, actor: EventActor) -> LoyaltyAdjustment | None:
    """Reverse the earned and give back the redeemed points of the refund's
    units (those not reversed before), in the issuing transaction, with a
    timeline row and the ``loyalty.adjusted`` webhook. None for an order
    without loyalty (no query) or a refund that moves no points."""
    order = refund.order
    if not order.has_loyalty or refund.kind not in FULL_KINDS:
        return None
    units = list(
        Unit.objects.filter(refund_items__refund=refund, loyalty_reversal__isnull=True)
        .distinct()
        .order_by("pk")
    )
    earned = sum(u.loyalty_earned for u in units)
    redeemed = sum(u.loyalty_redeemed for u in units)
    if not units or not (earned or redeemed):
        return None
    adjustment = LoyaltyAdjustment.objects.create(
        order=order,
        refund=refund,
        earned_reversed=earned,
        redeemed_returned=redeemed,
        units=[
            {"unit": u.pk, "earned": u.loyalty_earned, "redeemed": u.loyalty_redeemed}
            for u in units
        ],
    )
    LoyaltyUnitReversal.objects.bulk_create(
        [LoyaltyUnitReversal(adjustment=adjustment, unit=u) for u in units]
    )
    totals = order_loyalty(order)
    timeline_record(
        order=order,
        actor=actor,
        event=Event(
            "loyalty",
            adjustment.pk,
            "loyalty.adjusted",
            "",
            "",
            f"Loyalty: {earned} earned point(s) reversed, {redeemed} redeemed point(s) "
            f"given back (refund {refund.pk})",
            {"refund": refund.pk, "earned_reversed": earned, "redeemed_returned": redeemed},
        ),
    )
    if webhook_wanted(order, "loyalty.adjusted"):
        webhook_enqueue(
            order=order,
            type="loyalty.adjusted",
            data={
                "refund": refund.pk,
                "rma": refund.return_request.rma if refund.return_request_id else None,
                "customer": {"email": order.email},
                "earned_reversed": earned,
                "redeemed_returned": redeemed,
                "units": adjustment.units,
                "order_totals": totals,
            },
        )
    return adjustment


def order_loyalty(order: Order) -> dict | None:
    """The order's points and what its refunds moved; None (no query) for an
    order without loyalty."""
    if not order.has_loyalty:
        return None
    rows = list(
        LoyaltyAdjustment.objects.filter(order=order)
        .order_by("pk")
        .values("refund_id", "earned_reversed", "redeemed_returned", "created_at")
    )
    earned_reversed = sum(r["earned_reversed"] for r in rows)
    redeemed_returned = sum(r["redeemed_returned"] for r in rows)
    return {
        "earned": order.loyalty_earned,
        "redeemed": order.loyalty_redeemed,
        "points_per_unit_currency": str(order.loyalty_rate),
        "redeemed_value": str(
            points_value(order.loyalty_redeemed, order.loyalty_rate, order.currency)
        ),
        "earned_reversed": earned_reversed,
        "redeemed_returned": redeemed_returned,
        "earned_kept": order.loyalty_earned - earned_reversed,
        "adjustments": [
            {
                "refund": r["refund_id"],
                "earned_reversed": r["earned_reversed"],
                "redeemed_returned": r["redeemed_returned"],
                "at": r["created_at"],
            }
            for r in rows
        ],
    }
