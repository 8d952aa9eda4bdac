"""Money given back against one tender."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ..events import Event, EventActor, timeline_record
from ..models import (
    LedgerEntry,
    Order,
    Payment,
)


def payment_refund_record(
    *,
    order: Order,
    payment: Payment,
    amount: Decimal,
    ledger_kind: str,
    reference: str,
    actor: EventActor,
    message: str,
    payload: dict,
    event_type: str = "payment.refunded",
    occurred_at: datetime | None = None,
    source: str = "",
    external_id: str = "",
) -> None:
    """Money given back against one tender: the payment's transition, its
    ledger row and its timeline row, in the caller's transaction. Refund
    issuance and platform refunds reconciled by intake both go through here."""
    before = payment.state
    payment.record_refund(amount)
    payment.save()
    LedgerEntry.objects.create(
        order=order,
        kind=ledger_kind,
        amount=amount,
        currency=order.currency,
        payment=payment,
        reference=reference[:100],
    )
    timeline_record(
        order=order,
        actor=actor,
        occurred_at=occurred_at,
        source=source,
        external_id=external_id,
        event=Event("payment", payment.pk, event_type, before, payment.state, message, payload),
    )
