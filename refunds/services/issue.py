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
    refund = _lock(refund_id)
    if refund.state == RefundState.ISSUED:
        return refund, False
    order = refund.order
    payments = {
        p.pk: p
        for p in Payment.objects.select_for_update(of=("self",)).filter(order=order).order_by("pk")
    }
    tenders = list(refund.tenders.order_by("pk"))
    ret = refund.return_request
    details = ret.payout_details if ret else {}
    for tender in tenders:
        payment = payments[tender.payment_id]
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
            details=details if tender.instrument == "bank_transfer" else {},
        )
        RefundTender.objects.filter(pk=tender.pk).update(
            gateway=gateway.name, gateway_reference=result.reference
        )
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
    _notify(refund, order, note, credit)
    return refund, True


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
    refund: Refund, order: Order, note: CreditNote, credit: WalletEntry | None = None
) -> None:
    """Tell the customer (message) and the channel (webhook). Store credit is
    there at once: the message gives the amount credited and the new balance,
    never a bank's delay."""
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
            f"{also} Credit note {note.number}.",
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
        f"Credit note {note.number}. Banks usually show it within 5–7 working days.",
    )
    refund_issued_webhook(refund, note)


def _lock(refund_id: int) -> Refund:
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
    if refund.state == RefundState.ISSUED:
        raise Conflict(
            f"Refund {refund_id} is already issued.",
            code="invalid_state",
            extra={"state": refund.state},
        )
