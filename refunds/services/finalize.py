"""Finalizing an issued refund: once every tender's money has moved, the
store credit on the wallet, loyalty points given back, the refund issued with
its credit note, its units refunded, the timeline, and the customer and the
channel told. Called by ``refunds.services.issue`` (gateway tenders) and
``refunds.services.payouts`` (a bank/UPI payout paid)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from orders.events import Event, EventActor, timeline_record
from orders.messaging import message_enqueue
from orders.models import Order, Unit
from orders.services import new_reference, units_transition
from orders.states import UnitState

from ..events import RefundEventType
from ..loyalty import loyalty_adjust
from ..models import CreditNote, Refund, RefundTender, StoreCredit, WalletEntry
from ..wallet import wallet_credit
from ..webhooks import refund_issued_webhook
from .credit_notes import credit_note_create


def tender_row(t: RefundTender) -> dict:
    row = {"instrument": t.instrument, "amount": str(t.amount)}
    if t.gateway_reference and t.gateway not in ("", "offline"):
        row.update(gateway=t.gateway, reference=t.gateway_reference)
        if t.bank_reference:
            row["bank_reference"] = t.bank_reference
    return row


def refund_finalize(
    refund: Refund, order: Order, tenders: list[RefundTender], actor, *, utr: str = ""
) -> None:
    """Every tender's money has moved: store credit on the wallet, loyalty
    points given back, the refund issued, its credit note, its units
    refunded, the timeline, the customer and the channel told. ``utr``: the
    bank reference of a bank/UPI payout (its message says paid, with it)."""
    credit = _store_credit(refund, order, tenders, actor)
    loyalty_adjust(refund, actor)
    before = refund.state
    refund.issue(timezone.now())
    refund.attempts += 1
    refund.save()
    note = credit_note_create(refund)
    units = list(
        Unit.objects.select_for_update(of=("self",))
        .filter(refund_items__refund=refund, state=UnitState.PENDING_REFUND)
        .order_by("pk")
    )
    units_transition(
        units,
        "mark_refunded",
        actor=actor,
        message=f"refunded ({note.number})",
        payload={"refund": refund.pk},
    )
    timeline_record(
        order=order,
        actor=actor,
        event=Event(
            "refund",
            refund.pk,
            RefundEventType.ISSUED,
            before,
            refund.state,
            f"Refund of {refund.amount} {refund.currency} issued; credit note {note.number}",
            {"credit_note": note.number, "tenders": [tender_row(t) for t in tenders]},
        ),
    )
    _notify(refund, order, note, utr=utr, tenders=tenders, credit=credit)


def _store_credit(
    refund: Refund, order: Order, tenders: list[RefundTender], actor: EventActor
) -> WalletEntry | None:
    """The refund's store credit: a code the customer can quote
    (``StoreCredit``) and the money, a credit on the customer's wallet that
    expires per the return's policy version (refunds.wallet)."""
    credit_total = sum((t.amount for t in tenders if t.instrument == "store_credit"), Decimal("0"))
    if not credit_total:
        return None
    code = new_reference("SC", 10)
    StoreCredit.objects.create(
        customer_id=order.customer_id,
        refund=refund,
        code=code,
        amount=credit_total,
        currency=order.currency,
    )
    ret = refund.return_request
    return wallet_credit(
        customer_id=order.customer_id,
        currency=order.currency,
        amount=credit_total,
        kind=WalletEntry.Kind.REFUND,
        actor=f"{actor.kind}:{actor.label}",
        reason=f"Refund {refund.pk} of order {order.number}",
        reference=code,
        refund=refund,
        order=order,
        policy=ret.policy if ret else None,
        idempotency_key=f"refund-{refund.pk}",
    )


def _notify(
    refund: Refund,
    order: Order,
    note: CreditNote,
    *,
    utr: str = "",
    tenders: list[RefundTender] = (),  # type: ignore[assignment]
    credit: WalletEntry | None = None,
) -> None:
    """Tell the customer (message) and the channel (webhook): the refund
    reference(s), the store credit added and the new balance (never a bank's
    delay), and the return's status page. A bank/UPI payout is told only
    once paid, with the bank's UTR."""
    from returns.messages import status_link

    references = "".join(
        f" Refund reference {t.gateway_reference}"
        + (f", bank reference (ARN/RRN) {t.bank_reference}" if t.bank_reference else "")
        + "."
        for t in tenders
        if t.gateway_reference
    )
    follow = (
        f"\n\nFollow your return: {status_link(refund.return_request.rma)}"
        if refund.return_request_id
        else ""
    )
    if utr:
        message_enqueue(
            order=order,
            template="refund_issued",
            subject=f"Your refund of {refund.amount} {refund.currency} has been paid",
            body=f"We've paid your refund of {refund.amount} {refund.currency} for order "
            f"{order.number} to your bank account / UPI. Bank reference (UTR): {utr}. "
            f"Credit note {note.number}. It usually shows in your account the same day; "
            "if it doesn't, give your bank the UTR." + follow,
        )
        refund_issued_webhook(refund, note)
        return
    if credit is not None:
        rest = refund.amount - credit.amount
        also = (
            f" The other {rest} {refund.currency} goes back to your original payment method."
            if rest > 0
            else ""
        )
        message_enqueue(
            order=order,
            template="refund_issued_store_credit",
            subject=f"{credit.amount} {credit.currency} store credit added to your account",
            body=f"We've added {credit.amount} {credit.currency} to your store credit for order "
            f"{order.number} (code {credit.reference}). Your store credit balance is now "
            f"{credit.balance_after} {credit.currency}, ready to spend on your next order."
            f"{also} Credit note {note.number}.{references}" + follow,
        )
        refund_issued_webhook(refund, note)
        return
    how = {
        "original": "to your original payment method",
        "store_credit": "as store credit",
        "bank_transfer": "to your bank account / UPI",
    }.get(refund.method, "")
    message_enqueue(
        order=order,
        template="refund_issued",
        subject=f"Your refund of {refund.amount} {refund.currency} is on its way",
        body=f"We've issued a refund of {refund.amount} {refund.currency} {how} for order {order.number}. "
        f"Credit note {note.number}.{references} Banks usually show it within 5–7 working days."
        + follow,
    )
    refund_issued_webhook(refund, note)
