"""Reads for refunds and the order's money ledger."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from oms.money import round_money
from orders.models import LedgerEntry, Order, Payment

from .models import Refund


def refund_list(*, order: str | None = None, state: str | None = None):
    qs = (
        Refund.objects.select_related("order", "return_request", "credit_note")
        .prefetch_related("tenders")
        .order_by("-created_at", "-pk")
    )
    if order:
        qs = qs.filter(order__number=order)
    if state:
        qs = qs.filter(state=state)
    return qs


def order_ledger(order: Order) -> dict:
    """captured − refunded − credit issued − paid out = retained, from the
    ledger, checked against the tenders' own counters to the paisa."""
    totals = {k: Decimal("0.00") for k in LedgerEntry.Kind.values}
    for row in LedgerEntry.objects.filter(order=order).values("kind").annotate(total=Sum("amount")):
        # SQLite sums decimals without their scale ("200", not "200.00").
        totals[row["kind"]] = round_money(row["total"], order.currency)
    captured = totals["capture"] + totals["cod_collection"]
    collected = totals["exchange_collection"]
    refunded, credit, payout = totals["refund"], totals["store_credit"], totals["payout"]
    retained = captured + collected - refunded - credit - payout
    payments = Payment.objects.filter(order=order).aggregate(
        c=Sum("captured_amount"), r=Sum("refunded_amount")
    )
    # Exchange differences are collected as tenders of their own; only a
    # collection without a tender row sits outside the payments' counters.
    outside = LedgerEntry.objects.filter(
        order=order, kind=LedgerEntry.Kind.EXCHANGE_COLLECTION, payment__isnull=True
    ).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    tender_retained = round_money(
        (payments["c"] or Decimal("0")) - (payments["r"] or Decimal("0")) + outside,
        order.currency,
    )
    return {
        "currency": order.currency,
        "captured": str(captured),
        "exchange_collected": str(collected),
        "refunded": str(refunded),
        "credit_issued": str(credit),
        "paid_out": str(payout),
        "retained": str(retained),
        "tenders_retained": str(tender_retained),
        "balanced": retained == tender_retained,
        "entries": [
            {
                "kind": e.kind,
                "amount": str(e.amount),
                "payment": e.payment_id,
                "reference": e.reference,
                "at": e.created_at.isoformat(),
            }
            for e in LedgerEntry.objects.filter(order=order).order_by("pk")
        ],
    }


def refund_open_for_return(ret) -> bool:
    """True while a refund of this return is due but not issued."""
    return Refund.objects.filter(
        return_request=ret, state__in=["pending", "failed", "processing"]
    ).exists()


def refunds_by_return(ret_ids: list[int]) -> dict[int, list[Refund]]:
    out: dict[int, list[Refund]] = defaultdict(list)
    for r in (
        Refund.objects.filter(return_request_id__in=ret_ids)
        .select_related("credit_note")
        .prefetch_related("tenders")
    ):
        out[r.return_request_id].append(r)
    return out


# The read models' name for the same read.
refunds_for_returns = refunds_by_return
