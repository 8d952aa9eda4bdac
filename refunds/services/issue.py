"""Issuing a refund: the money moves through a gateway per tender, with the
ledger rows, store credit, the credit note, the units settled and the
customer told. ``flows.refunds`` calls these and runs the return's reactions.

Each tender has its own gateway state (``RefundTender.state``): ``pending``
until a gateway accepted it, ``processing`` while the gateway works on it,
``processed`` once it reports the money returned (the ledger row is written
then), ``failed`` when it refused or reported a failure. The refund's state
derives from its tenders: ``issued`` when every tender is processed (then the
credit note, the units and the customer's message), ``processing`` while any
is accepted but not processed, ``failed`` when any failed. A bank/UPI tender
(cash on delivery) goes to no gateway: it opens a ``Payout`` and the refund
waits in ``awaiting_payout`` until finance records the UTR
(``refunds.services.payouts``), which processes the tender and finalizes.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from oms.errors import Conflict, NotFound
from orders.events import Event, EventActor, timeline_record
from orders.messaging import message_enqueue
from orders.models import LedgerEntry, Order, Payment, Unit
from orders.services import new_reference, payment_refund_record, units_transition
from orders.states import UnitState

from ..events import RefundEventType
from ..gateways import (
    FAILED,
    PROCESSED,
    PROCESSING,
    GatewayDeclined,
    GatewayError,
    GatewayResult,
    gateway_for,
    gateway_named,
    uses_provider,
)
from ..loyalty import loyalty_adjust
from ..models import CreditNote, Refund, RefundTender, StoreCredit, WalletEntry
from ..states import RefundState, TenderState
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
    """Move the money of a pending, processing or failed refund through its
    gateways. Idempotent: an issued refund is left alone (False); a tender
    already processed is not sent again, one already accepted is asked for
    its status, and every call carries the tender's key, so a task that runs
    twice moves money once. A gateway that refuses (4xx) fails its tender
    and the refund with the gateway's reason; one that times out raises
    ``GatewayError`` (the transaction rolls back; the task retries with the
    same keys). True when the refund was issued by this call; the return's
    reactions follow in ``flows.refunds.refund_issue``."""
    refund = _lock(refund_id)
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
    for tender in tenders:
        payment = payments[tender.payment_id]
        if tender.state == TenderState.PROCESSED:
            continue
        if tender.instrument == PAYOUT_INSTRUMENT:
            # No gateway pays a bank/UPI refund: finance does (refunds.Payout).
            payouts.append(
                payout_open(refund=refund, tender=tender, return_request=ret, actor=actor)
            )
            continue
        if tender.state == TenderState.PROCESSING:
            result = _ask(tender, payment)
        else:
            _check_cap(tender, payment)
            gateway = gateway_for(tender.instrument, payment)
            tender.gateway = gateway.name
            try:
                result = gateway.refund(
                    idempotency_key=tender.idempotency_key,
                    payment=payment,
                    instrument=tender.instrument,
                    amount=tender.amount,
                    details={},
                    currency=order.currency,
                    receipt=f"oms-refund-{refund.pk}",
                )
            except GatewayDeclined as exc:
                result = GatewayResult("", status=FAILED, failure_reason=str(exc))
        tender_report(refund, order, tender, payment, result, actor)
    if payouts:
        refund_await_payout(refund, payouts, actor)
        return refund, False
    return refund, refund_settle(refund, order, tenders, actor)


def _ask(tender: RefundTender, payment: Payment) -> GatewayResult:
    """The gateway's current word on a tender it accepted (unchanged when the
    gateway cannot be asked)."""
    gateway = gateway_for(tender.instrument, payment)
    if gateway.name != tender.gateway:
        gateway = gateway_named(tender.gateway)
    fetch = getattr(gateway, "fetch", None)
    if gateway.name != tender.gateway or fetch is None:
        return GatewayResult(tender.gateway_reference, status=PROCESSING)
    try:
        return fetch(tender.gateway_reference)
    except GatewayDeclined as exc:
        return GatewayResult(tender.gateway_reference, status=FAILED, failure_reason=str(exc))


def _check_cap(tender: RefundTender, payment: Payment) -> None:
    """Nothing goes back beyond what the tender captured, counting what its
    gateway is still processing for other refunds (not in the ledger yet)."""
    in_flight = Decimal("0")
    if uses_provider(tender.instrument, payment):
        in_flight = RefundTender.objects.filter(
            payment=payment, state=TenderState.PROCESSING
        ).exclude(pk=tender.pk).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    if tender.amount > payment.refundable - in_flight:
        raise Conflict(
            f"Tender {payment.method} can give back at most {payment.refundable - in_flight}.",
            code="refund_exceeds_captured",
        )


def tender_report(
    refund: Refund,
    order: Order,
    tender: RefundTender,
    payment: Payment,
    result: GatewayResult,
    actor: EventActor,
) -> bool:
    """Apply what the gateway said about one tender (its response, a status
    read or a webhook), under the order's lock. The ledger row is written
    when the money is reported returned, once. False when nothing changed."""
    fields: dict = {}
    if result.reference and result.reference != tender.gateway_reference:
        fields["gateway_reference"] = result.reference
    if result.bank_reference and result.bank_reference != tender.bank_reference:
        fields["bank_reference"] = result.bank_reference
    if tender.state == TenderState.PROCESSED:
        pass  # settled: only a later bank reference is news
    elif result.status == PROCESSED:
        fields["state"] = TenderState.PROCESSED
        fields["failure_reason"] = ""
        reference = result.reference or tender.gateway_reference
        payment_refund_record(
            order=order,
            payment=payment,
            amount=tender.amount,
            ledger_kind=INSTRUMENT_LEDGER.get(tender.instrument, LedgerEntry.Kind.REFUND),
            reference=reference,
            actor=actor,
            message=f"{tender.amount} {order.currency} back via {tender.instrument}",
            payload={"refund": refund.pk, "reference": reference},
        )
    elif result.status == FAILED:
        if tender.state != TenderState.FAILED or tender.failure_reason != result.failure_reason:
            fields["state"] = TenderState.FAILED
            fields["failure_reason"] = result.failure_reason[:500]
            # The next submission is a new refund at the gateway: a new key.
            fields["attempt"] = tender.attempt + 1
            fields["gateway_reference"] = ""
    elif tender.state != TenderState.PROCESSING:
        fields["state"] = TenderState.PROCESSING
        fields["failure_reason"] = ""
    if not fields:
        return False
    fields.setdefault("gateway", tender.gateway)
    for name, value in fields.items():
        setattr(tender, name, value)
    RefundTender.objects.filter(pk=tender.pk).update(**fields)
    return True


def refund_settle(
    refund: Refund, order: Order, tenders: list[RefundTender], actor: EventActor
) -> bool:
    """The refund's state from its tenders'. True when it became issued."""
    states = {t.state for t in tenders}
    if states == {TenderState.PROCESSED}:
        refund_finalize(refund, order, tenders, actor)
        return True
    failed = [t for t in tenders if t.state == TenderState.FAILED]
    before = refund.state
    if failed:
        reason = "; ".join(t.failure_reason for t in failed)[:500]
        if refund.state == RefundState.FAILED and refund.failure_reason == reason:
            return False
        refund.fail(reason)
        refund.attempts += 1
        refund.save()
        timeline_record(
            order=order,
            actor=actor,
            event=Event("refund", refund.pk, RefundEventType.FAILED, before, refund.state, reason),
        )
        return False
    if refund.state != RefundState.PROCESSING:
        refund.accept()
        refund.attempts += 1
        refund.save()
        timeline_record(
            order=order,
            actor=actor,
            event=Event(
                "refund",
                refund.pk,
                RefundEventType.PROCESSING,
                before,
                refund.state,
                f"Refund of {refund.amount} {refund.currency} accepted by the gateway",
                {"tenders": [_tender_row(t) for t in tenders]},
            ),
        )
    return False


def _tender_row(t: RefundTender) -> dict:
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
            {"credit_note": note.number, "tenders": [_tender_row(t) for t in tenders]},
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


def refund_lock(refund_id: int) -> Refund:
    """The refund, with its order locked first (see ``_lock``)."""
    return _lock(refund_id)


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
    if refund.state in (RefundState.ISSUED, RefundState.AWAITING_PAYOUT):
        raise Conflict(
            f"Refund {refund_id} is already issued."
            if refund.state == RefundState.ISSUED
            else f"Refund {refund_id} waits for finance to pay its payout (see /payouts/).",
            code="invalid_state",
            extra={"state": refund.state},
        )
