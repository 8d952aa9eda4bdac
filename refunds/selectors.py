"""Reads for refunds and the order's money ledger."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from oms.money import round_money
from oms.prepared import prepared
from orders.models import LedgerEntry, Order, Payment

from .models import Recovery, Refund, RefundTender
from .states import REFUND_UNSETTLED


def refund_list(*, order: str | None = None, state: str | None = None):
    qs = (
        Refund.objects.select_related(
            "order", "return_request", "credit_note", "loyalty_adjustment"
        )
        .prefetch_related("tenders", "wallet_entries")
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
    # Recoveries: opened is a receivable (owed, not cash); collected is cash in.
    owed, recovered = totals["recovery_opened"], totals["recovery_collected"]
    written_off = totals["recovery_written_off"]
    retained = captured + collected + recovered - refunded - credit - payout
    payments = Payment.objects.filter(order=order).aggregate(
        c=Sum("captured_amount"), r=Sum("refunded_amount")
    )
    # Exchange differences are collected as tenders of their own; only a
    # collection without a tender row sits outside the payments' counters.
    # A recovery collected is cash in on no tender of the order (a charge, a
    # payment link, the next order), so it sits outside the counters too.
    outside = LedgerEntry.objects.filter(
        order=order,
        kind__in=[LedgerEntry.Kind.EXCHANGE_COLLECTION, LedgerEntry.Kind.RECOVERY_COLLECTED],
        payment__isnull=True,
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
        "recovery_owed": str(owed),
        "recovery_collected": str(recovered),
        "recovery_written_off": str(written_off),
        "recovery_open": str(owed - recovered - written_off),
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
    return Refund.objects.filter(return_request=ret, state__in=REFUND_UNSETTLED).exists()


def refund_open_return_ids(return_ids: list[int]) -> set[int]:
    """``refund_open_for_return`` for many returns in one query: the ids of
    those with a refund due but not issued."""
    return set(
        Refund.objects.filter(return_request_id__in=return_ids, state__in=REFUND_UNSETTLED)
        .order_by()
        .values_list("return_request_id", flat=True)
        .distinct()
    )


def refunds_by_return(ret_ids: list[int]) -> dict[int, list[Refund]]:
    out: dict[int, list[Refund]] = defaultdict(list)
    for r in (
        Refund.objects.filter(return_request_id__in=ret_ids)
        .select_related("credit_note")
        .prefetch_related("tenders")
    ):
        out[r.return_request_id].append(r)
    return out


@prepared
def _return_refunds(return_id):
    return Refund.objects.filter(return_request_id=return_id).select_related("credit_note")


@prepared
def _return_tenders(return_id):
    return RefundTender.objects.filter(refund__return_request_id=return_id).order_by(
        "refund_id", "pk"
    )


def refunds_of_return(return_id: int) -> list[Refund]:
    """``refunds_by_return([return_id])[return_id]``, read by statements
    compiled once (oms.prepared): the refunds with their credit notes, newest
    first, and, when there are any, their tenders in one more statement, put
    where ``refund.tenders.all()`` finds them."""
    refunds = _return_refunds(return_id)
    if refunds:
        by_refund: dict[int, list[RefundTender]] = defaultdict(list)
        for tender in _return_tenders(return_id):
            by_refund[tender.refund_id].append(tender)
        for refund in refunds:
            tenders = by_refund.get(refund.pk, [])
            for tender in tenders:
                tender.refund = refund  # what the prefetch sets on each
            qs = refund.tenders.all()
            qs._result_cache = tenders
            qs._prefetch_done = True
            refund._prefetched_objects_cache = {"tenders": qs}
    return refunds


def refunds_read(ids: list[int]) -> list[Refund]:
    """These refunds as ``refunds_by_return`` loads them (credit note and
    tenders), newest first."""
    return list(
        Refund.objects.filter(pk__in=ids).select_related("credit_note").prefetch_related("tenders")
    )


# The read models' name for the same read.
refunds_for_returns = refunds_by_return


def recovery_list(*, state: str | None = None, order: str | None = None):
    """Finance's and CX's queue, oldest first."""
    qs = Recovery.objects.select_related(
        "order", "return_request", "customer", "applied_order"
    ).order_by("created_at", "pk")
    if state:
        qs = qs.filter(state=state)
    if order:
        qs = qs.filter(order__number=order)
    return qs


def wallet_statement(customer, *, limit: int = 50, offset: int = 0) -> dict:
    """A customer's store credit: balance, currency and entries newest first
    (``limit`` of them from ``offset``), with the entry count."""
    from .models import Wallet, WalletEntry

    wallet = Wallet.objects.filter(customer=customer).first()
    if wallet is None:
        currency = (
            Order.objects.filter(customer=customer)
            .order_by("-placed_at")
            .values_list("currency", flat=True)
            .first()
        )
        return {
            "balance": "0.00",
            "currency": currency or "INR",
            "count": 0,
            "entries": [],
        }
    entries = WalletEntry.objects.filter(wallet=wallet).order_by("-created_at", "-pk")
    return {
        "balance": str(wallet.balance),
        "currency": wallet.currency,
        "count": entries.count(),
        "entries": [
            {
                "id": e.pk,
                "kind": e.kind,
                "amount": str(e.amount),
                "balance_after": str(e.balance_after),
                "reference": e.reference,
                "reason": e.reason,
                "refund": e.refund_id,
                "order": e.order.number if e.order_id else None,
                "expires_at": e.expires_at,
                "created_at": e.created_at,
            }
            for e in entries.select_related("order")[offset : offset + limit]
        ],
    }


def wallet_balance(customer_id: int) -> tuple[Decimal, str] | None:
    from .models import Wallet

    row = Wallet.objects.filter(customer_id=customer_id).values_list("balance", "currency").first()
    return (row[0], row[1]) if row else None
