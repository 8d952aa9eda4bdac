"""The refund's part of the storefront webhooks (orders.webhooks)."""

from __future__ import annotations

from orders.messaging import webhook_enqueue, webhook_wanted

from .models import CreditNote, Refund


def refund_data(refund: Refund, note: CreditNote) -> dict:
    return {
        "id": refund.pk,
        "rma": refund.return_request.rma if refund.return_request_id else None,
        "kind": refund.kind,
        "amount": refund.amount,
        "currency": refund.currency,
        "method": refund.method,
        "credit_note": note.number,
        "issued_at": refund.issued_at,
        "units": [
            {"id": item.unit_id, "kind": item.kind, "amount": item.amount, "tax": item.tax}
            for item in refund.items.order_by("unit_id", "pk")
        ],
    }


def refund_issued_webhook(refund: Refund, note: CreditNote) -> None:
    """``refund.issued``, in the transaction that issued it."""
    if webhook_wanted(refund.order, "refund.issued"):
        webhook_enqueue(order=refund.order, type="refund.issued", data=refund_data(refund, note))
