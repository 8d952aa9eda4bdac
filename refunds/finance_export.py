"""Finance's daily export: one CSV of the day's money going back, in the
brand's calendar day (``oms.dates.day_bounds``), that reconciles to the ledger.

The export is a list of ``Section``s. Each yields rows in the one column set
(``COLUMNS``), says which rows count towards its total, and may name the
ledger kinds its total must equal for the day; the closing ``reconciliation``
rows compare them, per currency. A new kind of money (store-credit movements,
recoveries) is one more ``Section`` in ``SECTIONS``: refunds per tender,
credit notes, payouts, recoveries opened / collected / written off (each
reconciled to its ledger kind) and store-credit movements (the wallet's own
ledger).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q, Sum

from oms.dates import day_bounds, local
from oms.money import round_money
from orders.models import LedgerEntry

from .models import CreditNote, PayoutAttempt, Recovery, Refund, RefundTender, WalletEntry
from .states import TenderState

COLUMNS = [
    "section",
    "at",
    "order",
    "rma",
    "refund",
    "document",
    "kind",
    "instrument",
    "state",
    "amount",
    "tax",
    "currency",
    "reference",
    "ledger_amount",
]
ZERO = Decimal("0.00")
PAYOUT_INSTRUMENT = "bank_transfer"


@dataclass(frozen=True)
class Section:
    name: str
    rows: Callable[[datetime, datetime], Iterable[dict]]
    # The ledger kinds whose sum over the day equals this section's total.
    ledger_kinds: tuple[str, ...] = ()
    counts: Callable[[dict], bool] = field(default=lambda row: True)


def _rma(refund: Refund) -> str:
    ret = refund.return_request
    return ret.rma if ret is not None else ""


def _refund_tender_rows(start: datetime, end: datetime) -> Iterable[dict]:
    """Money given back per tender, when it moved, as the ledger counts it: a
    gateway or store-credit tender when it was processed (a split refund's
    tenders may move on different days, before the refund is issued), a
    bank/UPI tender when its payout was paid (the UTR is the reference)."""
    tenders = (
        RefundTender.objects.filter(
            (
                ~Q(instrument=PAYOUT_INSTRUMENT)
                & Q(state=TenderState.PROCESSED)
                & Q(processed_at__gte=start, processed_at__lt=end)
            )
            | Q(payout__paid_at__gte=start, payout__paid_at__lt=end)
        )
        .select_related("refund__order", "refund__return_request", "refund__credit_note", "payout")
        .order_by("pk")
    )
    for t in tenders:
        refund = t.refund
        paid = getattr(t, "payout", None)
        note = getattr(refund, "credit_note", None)
        yield {
            "at": paid.paid_at if paid else t.processed_at,
            "order": refund.order.number,
            "rma": _rma(refund),
            "refund": refund.pk,
            "document": note.number if note else "",
            "kind": refund.kind,
            "instrument": t.instrument,
            "state": "paid" if paid else refund.state,
            "amount": t.amount,
            "currency": refund.currency,
            "reference": t.gateway_reference,
        }


def _credit_note_rows(start: datetime, end: datetime) -> Iterable[dict]:
    notes = (
        CreditNote.objects.filter(issued_at__gte=start, issued_at__lt=end)
        .select_related("refund__order", "refund__return_request")
        .order_by("issued_at", "pk")
    )
    for n in notes:
        yield {
            "at": n.issued_at,
            "order": n.refund.order.number,
            "rma": _rma(n.refund),
            "refund": n.refund_id,
            "document": n.number,
            "kind": n.refund.kind,
            "instrument": n.refund.method,
            "state": "issued",
            "amount": n.total,
            "tax": n.tax_total,
            "currency": n.currency,
        }


def _payout_rows(start: datetime, end: datetime) -> Iterable[dict]:
    """What happened to payouts that day: paid (counted), returned by the
    bank, re-queued with corrected details. Details masked: this file travels."""
    attempts = (
        PayoutAttempt.objects.filter(at__gte=start, at__lt=end)
        .select_related("payout__refund__order", "payout__refund__return_request")
        .order_by("at", "pk")
    )
    for a in attempts:
        p = a.payout
        yield {
            "at": a.at,
            "order": p.refund.order.number,
            "rma": _rma(p.refund),
            "refund": p.refund_id,
            "document": p.reference,
            "kind": a.outcome,
            "instrument": p.rail,
            "state": p.state,
            "amount": p.amount,
            "currency": p.currency,
            "reference": a.utr or a.reason or a.details_masked,
        }


def _recovery_rows(event: str, stamp: str) -> Callable[[datetime, datetime], Iterable[dict]]:
    """Recoveries (amounts customers owe back) ``event`` that day: opened,
    collected or written off, each on the order's ledger once."""

    def rows(start: datetime, end: datetime) -> Iterable[dict]:
        recoveries = (
            Recovery.objects.filter(**{f"{stamp}__gte": start, f"{stamp}__lt": end})
            .select_related("order", "return_request")
            .order_by(stamp, "pk")
        )
        for r in recoveries:
            yield {
                "at": getattr(r, stamp),
                "order": r.order.number,
                "rma": r.return_request.rma,
                "refund": r.refund_id or "",
                "document": f"recovery {r.pk}",
                "kind": r.reason,
                "instrument": r.method,
                "state": event,
                "amount": r.amount,
                "currency": r.currency,
                "reference": r.reference or r.note,
            }

    return rows


def _wallet_rows(start: datetime, end: datetime) -> Iterable[dict]:
    """Store-credit movements (the wallets' own append-only ledger): credits
    positive, redemptions, order payments and expiries negative."""
    entries = (
        WalletEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("wallet__customer", "order")
        .order_by("created_at", "pk")
    )
    for e in entries:
        yield {
            "at": e.created_at,
            "order": e.order.number if e.order is not None else "",
            "refund": e.refund_id or "",
            "document": e.wallet.customer.email,
            "kind": e.kind,
            "instrument": "store_credit",
            "state": f"balance {e.balance_after}",
            "amount": e.amount,
            "currency": e.currency,
            "reference": e.reference,
        }


SECTIONS: list[Section] = [
    Section(
        "refunds",
        _refund_tender_rows,
        ledger_kinds=(
            LedgerEntry.Kind.REFUND,
            LedgerEntry.Kind.STORE_CREDIT,
            LedgerEntry.Kind.PAYOUT,
        ),
    ),
    Section("credit_notes", _credit_note_rows),
    Section(
        "payouts",
        _payout_rows,
        ledger_kinds=(LedgerEntry.Kind.PAYOUT,),
        counts=lambda row: row["kind"] == PayoutAttempt.Outcome.PAID,
    ),
    Section(
        "recoveries_opened",
        _recovery_rows("opened", "created_at"),
        ledger_kinds=(LedgerEntry.Kind.RECOVERY_OPENED,),
    ),
    Section(
        "recoveries_collected",
        _recovery_rows("collected", "collected_at"),
        ledger_kinds=(LedgerEntry.Kind.RECOVERY_COLLECTED,),
    ),
    Section(
        "recoveries_written_off",
        _recovery_rows("written_off", "written_off_at"),
        ledger_kinds=(LedgerEntry.Kind.RECOVERY_WRITTEN_OFF,),
    ),
    Section("store_credit", _wallet_rows),
]


def _ledger_totals(kinds: tuple[str, ...], start: datetime, end: datetime) -> dict[str, Decimal]:
    rows = (
        LedgerEntry.objects.filter(kind__in=kinds, created_at__gte=start, created_at__lt=end)
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    return {r["currency"]: round_money(r["total"], r["currency"]) for r in rows}


def finance_export(day: date, sections: list[Section] | None = None) -> dict:
    """``{"rows": [...], "checks": [...]}`` for the brand's ``day``: every
    section's rows, then one check per (section with ledger kinds, currency):
    the section's total, the ledger's, and whether they are equal."""
    start, end = day_bounds(day)
    rows: list[dict] = []
    checks: list[dict] = []
    for section in sections if sections is not None else SECTIONS:
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for row in section.rows(start, end):
            rows.append({"section": section.name, **row})
            if section.counts(row):
                totals[row["currency"]] += row["amount"]
        if section.ledger_kinds:
            ledger = _ledger_totals(section.ledger_kinds, start, end)
            for currency in sorted(set(totals) | set(ledger)):
                ours = round_money(totals.get(currency, ZERO), currency)
                theirs = ledger.get(currency, ZERO)
                checks.append(
                    {
                        "section": section.name,
                        "currency": currency,
                        "amount": ours,
                        "ledger_amount": theirs,
                        "balanced": ours == theirs,
                    }
                )
    return {"rows": rows, "checks": checks}


def finance_export_csv_rows(day: date) -> list[list]:
    data = finance_export(day)
    out: list[list] = [list(COLUMNS)]
    for row in data["rows"]:
        at = row.get("at")
        out.append(
            [
                row["section"],
                local(at).isoformat() if at else "",
                row.get("order", ""),
                row.get("rma", ""),
                row.get("refund", ""),
                row.get("document", ""),
                row.get("kind", ""),
                row.get("instrument", ""),
                row.get("state", ""),
                f"{row['amount']:.2f}",
                f"{row['tax']:.2f}" if row.get("tax") is not None else "",
                row["currency"],
                row.get("reference", ""),
                "",
            ]
        )
    for check in data["checks"]:
        out.append(
            [
                "reconciliation",
                day.isoformat(),
                "",
                "",
                "",
                check["section"],
                "ledger",
                "",
                "balanced" if check["balanced"] else "difference",
                f"{check['amount']:.2f}",
                "",
                check["currency"],
                "",
                f"{check['ledger_amount']:.2f}",
            ]
        )
    return out
