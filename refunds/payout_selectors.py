"""Reads for finance's payouts: the worklist, and the bank bulk-upload file.
Full details: only finance's API and console call these."""

from __future__ import annotations

from decimal import Decimal

from oms.errors import ApplicationError

from .models import CreditNote, Payout
from .states import PayoutRail, PayoutState

IMPS_LIMIT = Decimal("500000.00")  # IMPS takes up to 5 lakh per transfer; NEFT above

BANK_FILE_COLUMNS = [
    "payment_mode",
    "amount",
    "currency",
    "beneficiary_name",
    "beneficiary_account_number",
    "beneficiary_ifsc",
    "beneficiary_vpa",
    "payout_reference",
    "narration",
    "beneficiary_email",
    "order",
    "rma",
]


def payout_state_check(state: str | None) -> str | None:
    """None: any state; otherwise one of PayoutState (an empty ?state= is a 400)."""
    if state is not None and state not in PayoutState.values:
        raise ApplicationError(
            f"state: must be one of {', '.join(PayoutState.values)}.",
            code="invalid",
            extra={"field": "state"},
        )
    return state


def payout_list(*, state: str | None = None):
    qs = (
        Payout.objects.select_related("refund__order__customer", "refund__return_request")
        .prefetch_related("attempts")
        .order_by("created_at", "pk")
    )
    state = payout_state_check(state)
    return qs.filter(state=state) if state else qs


def payout_get(payout_id: int) -> Payout | None:
    return payout_list().filter(pk=payout_id).first()


def payout_mode(payout: Payout) -> str:
    if payout.rail == PayoutRail.UPI:
        return "UPI"
    return "IMPS" if payout.amount <= IMPS_LIMIT else "NEFT"


def payout_bank_rows(payouts) -> list[list]:
    """One row per payout in a bank bulk-payout layout (NEFT / IMPS / UPI):
    the header, then the rows; our payout reference comes back on the bank's
    statement with the UTR finance records."""
    rows: list[list] = [list(BANK_FILE_COLUMNS)]
    for p in payouts:
        d = p.details or {}
        order = p.refund.order
        rows.append(
            [
                payout_mode(p),
                f"{p.amount:.2f}",
                p.currency,
                d.get("account_name") or order.customer.name,
                d.get("account_number", ""),
                d.get("ifsc", ""),
                d.get("upi_id", ""),
                p.reference,
                f"Refund {order.number}"[:30],
                order.email,
                order.number,
                p.refund.return_request.rma if p.refund.return_request_id else "",
            ]
        )
    return rows


def credit_note_list(*, order: str | None = None):
    qs = CreditNote.objects.select_related("refund__order", "refund__return_request").order_by(
        "-issued_at", "-pk"
    )
    return qs.filter(refund__order__number=order) if order else qs


def payouts_for_return(return_request) -> list[Payout]:
    return list(Payout.objects.filter(refund__return_request=return_request).order_by("pk"))
