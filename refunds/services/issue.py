"""Issuing a refund: the money moves through a gateway per tender, with the
ledger rows, store credit, the credit note, the units settled and the
customer told. ``flows.refunds`` calls these and runs the return's reactions."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from oms.errors import Conflict, NotFound
from orders.events import Event, EventActor, timeline_record
from orders.messaging import message_enqueue
from orders.models import LedgerEntry, Order, Payment, Unit
from orders.services import new_reference, payment_refund_record, units_transition
from orders.states import UnitState

from ..events import RefundEventType
from ..gateways import GatewayError, gateway_for
from ..loyalty import loyalty_adjust
from ..models import CreditNote, Refund, RefundTender, StoreCredit, WalletEntry
from ..states import RefundState
from ..wallet import wallet_credit
from ..webhooks import refund_issued_webhook
from .credit_notes import credit_note_create
from .payout_schedule import PAYOUT_INSTRUMENT, payout_open, refund_await_payout

INSTRUMENT_LEDGER = {
    "store_credit": LedgerEntry.Kind.STORE_CREDIT,
    "bank_transfer": LedgerEntry.Kind.PAYOUT,
}


def refund_issue_failed(*, refund_id: int, actor: EventActor, exc: GatewayError) -> None:
    """Record a gateway failure on a refund not issued yet (its own
    transaction: the issuing one rolled back)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update(of=("self",)).get(pk=refund_id)
        if refund.state != RefundState.ISSUED:
            before = refund.state
            refund.fail(str(exc))
            refund.attempts += 1
            refund.save()
            timeline_record(
                order=refund.order_id,
                actor=actor,
                event=Event(
                    "refund",
                    refund.pk,
                    RefundEventType.FAILED,
                    before,
                    refund.state,
                    f"Gateway failed: {exc}"[:500],
                ),
            )


def refund_issue_money(refund_id: int, actor: EventActor) -> tuple[Refund, bool]:
    """Move the money of a pending (or failed) refund through the gateway.
    Idempotent: an issued refund is left alone (False), and gateway calls are
    keyed per tender, so a task that runs twice moves money once. The return's
    reactions follow in ``flows.refunds.refund_issue``."""
    refund = refund_lock(refund_id)
    if refund.state in (RefundState.ISSUED, RefundState.AWAITING_PAYOUT):
        return refund, False
    order = refund.order
    payments = {
        p.pk: p
        for p in Payment.objects.select_for_update(of=("self",)).filter(order=order).order_by("pk")
    }
    tenders = list(refund.tenders.order_by("pk"))
    ret = refund.return_request
    payouts = []
    references: list[str] = []
    for tender in tenders:
        payment = payments[tender.payment_id]
        if tender.instrument == PAYOUT_INSTRUMENT:
            # No gateway pays a bank/UPI refund: finance does (refunds.Payout).
            payouts.append(
                payout_open(refund=refund, tender=tender, return_request=ret, actor=actor)
            )
            continue
        if tender.amount > payment.refundable:
            raise Conflict(
                f"Tender {payment.method} can give back at most {payment.refundable}.",
                code="refund_exceeds_captured",
            )
        gateway = gateway_for(tender.instrument)
        result = gateway.refund(
            idempotency_key=f"{refund.idempotency_key}-t{tender.pk}",
            payment=payment,
            instrument=tender.instrument,
            amount=tender.amount,
            details={},
        )
        RefundTender.objects.filter(pk=tender.pk).update(
            gateway=gateway.name, gateway_reference=result.reference
        )
        references.append(result.reference)
        payment_refund_record(
            order=order,
            payment=payment,
            amount=tender.amount,
            ledger_kind=INSTRUMENT_LEDGER.get(tender.instrument, LedgerEntry.Kind.REFUND),
            reference=result.reference,
            actor=actor,
            message=f"{tender.amount} {order.currency} back via {tender.instrument}",
            payload={"refund": refund.pk, "reference": result.reference},
        )
    if payouts:
        refund_await_payout(refund, payouts, actor)
        return refund, False
    refund_settle(refund, tenders, actor, references=references)
    return refund, True


def refund_settle(
    refund: Refund,
    tenders: list[RefundTender],
    actor: EventActor,
    *,
    utr: str = "",
    references: list[str] | tuple[str, ...] = (),
) -> None:
    """The money of every tender has moved: store credit on the wallet, the
    loyalty points given back, the refund issued, its credit note, its units
    refunded, the timeline, the customer and the channel told. ``utr``: the
    bank reference of a bank/UPI payout."""
    order = refund.order
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
            {
                "credit_note": note.number,
                "tenders": [{"instrument": t.instrument, "amount": str(t.amount)} for t in tenders],
            },
        ),
    )
    _notify(refund, order, note, utr=utr, references=references, credit=credit)


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
    references=(),
    credit: WalletEntry | None = None,
) -> None:
    """Tell the customer (message) and the channel (webhook): the refund
    reference(s), the store credit added and the new balance (never a bank's
    delay), and the return's status page. A bank/UPI payout is told only
    once paid, with the bank's UTR."""
    from returns.messages import status_link

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
            f"{also} Credit note {note.number}."
            + (f" Refund reference: {', '.join(references)}." if references else "")
            + follow,
        )
        refund_issued_webhook(refund, note)
        return
    how = {
        "original": "to your original payment method",
        "store_credit": "as store credit",
    }.get(refund.method, "")
    message_enqueue(
        order=order,
        template="refund_issued",
        subject=f"Your refund of {refund.amount} {refund.currency} is on its way",
        body=f"We've issued a refund of {refund.amount} {refund.currency} {how} for order {order.number}. "
        f"Credit note {note.number}."
        + (f" Refund reference: {', '.join(references)}." if references else "")
        + " Banks usually show it within 5–7 working days."
        + follow,
    )
    refund_issued_webhook(refund, note)


def refund_lock(refund_id: int) -> Refund:
    """The order's lock first, as every other writer of its money takes it
    (see returns.services.common.return_get_for_update): without it, issuing
    (refund → payments → order) deadlocks with a QC making another refund of
    the same order due (order → payments). When orders has its ``order_lock``
    helper, the two lines locking the order become a call to it."""
    order_id = Refund.objects.filter(pk=refund_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    list(Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True))
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("order", "return_request")
        .filter(pk=refund_id)
        .first()
    )
    if refund is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    return refund


def refund_retry_check(*, refund_id: int) -> None:
    """A refund can be retried unless it is issued (409) or missing (404)."""
    refund = Refund.objects.filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    if refund.state in (RefundState.ISSUED, RefundState.AWAITING_PAYOUT):
        raise Conflict(
            f"Refund {refund_id} is already issued."
            if refund.state == RefundState.ISSUED
            else f"Refund {refund_id} waits for finance to pay its payout (see /payouts/).",
            code="invalid_state",
            extra={"state": refund.state},
        )
