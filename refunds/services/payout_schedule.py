"""A refund to a bank account or UPI id is not paid by a gateway: issuing it
opens one ``Payout`` per bank/UPI tender for finance to pay, and the refund
waits in ``awaiting_payout``. The customer is told a payout is scheduled,
never that it was issued (that comes with the UTR, ``payouts.payout_pay``)."""

from __future__ import annotations

from decimal import Decimal

from orders.events import Event, EventActor, timeline_record
from orders.messaging import message_enqueue
from orders.services import new_reference
from returns.models import Return
from returns.payout_details import payout_mask_text, payout_rail

from ..events import RefundEventType
from ..models import Payout, Refund, RefundTender

PAYOUT_INSTRUMENT = "bank_transfer"


def payout_open(
    *, refund: Refund, tender: RefundTender, return_request: Return | None, actor: EventActor
) -> Payout:
    """The payout of one bank/UPI tender, once (a retried task finds it)."""
    existing = Payout.objects.filter(refund_tender=tender).first()
    if existing is not None:
        return existing
    details = dict(return_request.payout_details) if return_request else {}
    payout = Payout.objects.create(
        refund_tender=tender,
        refund=refund,
        reference=new_reference("PO", 10),
        rail=payout_rail(details),
        amount=tender.amount,
        currency=refund.currency,
        details=details,
    )
    timeline_record(
        order=refund.order_id,
        actor=actor,
        event=Event(
            "payout",
            payout.pk,
            RefundEventType.PAYOUT_SCHEDULED,
            "",
            payout.state,
            f"Payout {payout.reference} of {payout.amount} {payout.currency} to "
            f"{payout_mask_text(details)} scheduled",
            {"refund": refund.pk, "payout": payout.reference},
        ),
    )
    return payout


def refund_await_payout(refund: Refund, payouts: list[Payout], actor: EventActor) -> None:
    """The refund waits for finance; the customer hears a payout is scheduled."""
    before = refund.state
    refund.await_payout()
    refund.attempts += 1
    refund.save()
    total = sum((p.amount for p in payouts), Decimal("0"))
    timeline_record(
        order=refund.order_id,
        actor=actor,
        event=Event(
            "refund",
            refund.pk,
            RefundEventType.AWAITING_PAYOUT,
            before,
            refund.state,
            f"Refund of {refund.amount} {refund.currency} waits for finance to pay "
            f"{total} {refund.currency} by bank/UPI",
            {"payouts": [p.reference for p in payouts]},
        ),
    )
    order = refund.order
    to = payout_mask_text(payouts[0].details)
    message_enqueue(
        order=order,
        template="refund_payout_scheduled",
        subject=f"Your refund of {refund.amount} {refund.currency} is approved",
        body=f"Your refund of {refund.amount} {refund.currency} for order {order.number} is "
        f"approved, and a payout of {total} {refund.currency} to your {to} is scheduled. "
        "We'll email you again with the bank reference (UTR) as soon as it is paid.",
    )
