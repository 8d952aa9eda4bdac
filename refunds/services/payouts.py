"""Finance pays the bank/UPI payouts of refunds: ``payout_pay`` records the
bank's UTR (the tender is then refunded on the ledger and, with its last
payout, the refund is issued and the customer told with the UTR);
``payout_fail`` records a payout the bank returned and asks the customer for
correct details; ``payout_details_correct`` puts the same payout back in
finance's worklist with the new details. Each keeps its history
(``PayoutAttempt``) and a timeline row, with the details masked."""

from __future__ import annotations

import re

from django.utils import timezone

from oms.errors import ApplicationError, Conflict, NotFound
from orders.events import Event, EventActor, timeline_record
from orders.messaging import message_enqueue
from orders.models import LedgerEntry, Payment
from orders.services import payment_refund_record
from returns.models import Return
from returns.payout_details import payout_mask_text, payout_rail

from ..events import RefundEventType
from ..models import Payout, PayoutAttempt, Refund
from ..states import PayoutState, RefundState, TenderState
from .finalize import refund_finalize
from .issue import refund_lock

# A bank's reference for the transfer: a 12-digit RRN (IMPS, UPI), a 16-character
# NEFT UTR or a 22-character RTGS UTR (both start with the bank's 4-letter code).
UTR = re.compile(r"^(\d{12}|[A-Z]{4}[A-Z0-9]{12}|[A-Z]{4}[A-Z0-9]{18})$")


def utr_clean(raw: str) -> str:
    utr = "".join(str(raw or "").split()).upper()
    if not UTR.match(utr):
        raise ApplicationError(
            "utr: give the bank's reference: a 12-digit IMPS/UPI RRN, or a 16- (NEFT) or "
            "22-character (RTGS) UTR starting with the bank's code.",
            code="invalid_utr",
            extra={"field": "utr"},
        )
    return utr


def _lock(payout_id: int) -> tuple[Payout, Refund]:
    """The order, then the refund (``refund_lock``), then the payout."""
    refund_id = Payout.objects.filter(pk=payout_id).values_list("refund_id", flat=True).first()
    if refund_id is None:
        raise NotFound(f"Payout {payout_id} does not exist.")
    refund = refund_lock(refund_id)
    payout = (
        Payout.objects.select_for_update(of=("self",))
        .select_related("refund_tender")
        .get(pk=payout_id)
    )
    return payout, refund


def _not_pending(payout: Payout) -> Conflict:
    return Conflict(
        f"Payout {payout.reference} is {payout.state}, not pending.",
        code="invalid_state",
        extra={"state": payout.state},
    )


def _history(payout: Payout, outcome: str, actor: EventActor, at, **fields) -> None:
    PayoutAttempt.objects.create(
        payout=payout,
        outcome=outcome,
        details_masked=payout_mask_text(payout.details)[:200],
        actor=actor.label[:150],
        at=at,
        **fields,
    )


def _timeline(payout: Payout, type_: str, before: str, message: str, actor, **payload) -> None:
    timeline_record(
        order=payout.refund.order_id,
        actor=actor,
        event=Event(
            "payout",
            payout.pk,
            type_,
            before,
            payout.state,
            message[:500],
            {"payout": payout.reference, "refund": payout.refund_id, **payload},
        ),
    )


def payout_pay(*, payout_id: int, utr: str, actor: EventActor) -> tuple[Payout, bool]:
    """Record a pending payout as paid with the bank's UTR. Idempotent: the
    same UTR again changes nothing (False); another UTR, or a payout that is
    not pending, is a 409. True when this issued the refund."""
    utr = utr_clean(utr)
    payout, refund = _lock(payout_id)
    if payout.state == PayoutState.PAID and payout.utr == utr:
        return payout, False
    if payout.state != PayoutState.PENDING:
        raise _not_pending(payout)
    other = Payout.objects.filter(utr=utr).exclude(pk=payout.pk).values_list("reference").first()
    if other:
        raise Conflict(
            f"UTR {utr} is already recorded for payout {other[0]}.",
            code="utr_already_used",
            extra={"field": "utr"},
        )
    tender = payout.refund_tender
    payment = Payment.objects.select_for_update(of=("self",)).get(pk=tender.payment_id)
    if payout.amount > payment.refundable:
        raise Conflict(
            f"Tender {payment.method} can give back at most {payment.refundable}.",
            code="refund_exceeds_captured",
        )
    now = timezone.now()
    payout.pay(utr, now)
    payout.save()
    tender.gateway, tender.gateway_reference = "payout", utr
    tender.state, tender.processed_at = TenderState.PROCESSED, now
    tender.save(update_fields=["gateway", "gateway_reference", "state", "processed_at"])
    order = refund.order
    payment_refund_record(
        order=order,
        payment=payment,
        amount=payout.amount,
        ledger_kind=LedgerEntry.Kind.PAYOUT,
        reference=utr,
        actor=actor,
        message=f"{payout.amount} {order.currency} paid out to "
        f"{payout_mask_text(payout.details)} (UTR {utr})",
        payload={"refund": refund.pk, "payout": payout.reference, "utr": utr},
    )
    _history(payout, PayoutAttempt.Outcome.PAID, actor, now, utr=utr)
    _timeline(
        payout,
        RefundEventType.PAYOUT_PAID,
        PayoutState.PENDING,
        f"Payout {payout.reference} paid, UTR {utr}",
        actor,
        utr=utr,
    )
    if (
        refund.state != RefundState.AWAITING_PAYOUT
        or refund.payouts.exclude(state=PayoutState.PAID).exists()
    ):
        return payout, False
    refund_finalize(refund, order, list(refund.tenders.order_by("pk")), actor, utr=utr)
    return payout, True


def payout_fail(*, payout_id: int, reason: str, actor: EventActor) -> tuple[Payout, bool]:
    """The bank returned a pending payout (wrong details): it waits for the
    customer's correction, and the customer is asked for it. Idempotent on
    the same reason (False)."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ApplicationError(
            "reason: say why the bank returned it.", code="invalid", extra={"field": "reason"}
        )
    payout, refund = _lock(payout_id)
    if payout.state == PayoutState.FAILED and payout.failure_reason == reason[:500]:
        return payout, False
    if payout.state != PayoutState.PENDING:
        raise _not_pending(payout)
    now = timezone.now()
    payout.fail(reason, now)
    payout.save()
    _history(payout, PayoutAttempt.Outcome.FAILED, actor, now, reason=reason[:500])
    _timeline(
        payout,
        RefundEventType.PAYOUT_FAILED,
        PayoutState.PENDING,
        f"Payout {payout.reference} returned by the bank: {reason}",
        actor,
        reason=reason[:500],
    )
    order = refund.order
    rma = refund.return_request.rma if refund.return_request is not None else ""
    where = f", open return {rma}" if rma else ""
    message_enqueue(
        order=order,
        template="payout_failed",
        subject=f"Please check your bank details for your refund of {payout.amount} {payout.currency}",
        body=f"We tried to pay your refund of {payout.amount} {payout.currency} for order "
        f"{order.number} to your {payout_mask_text(payout.details)}, but the bank returned it "
        f"({reason}). Please sign in to our returns portal with your order number{where} and "
        "choose 'Correct payout details'. We'll pay the same refund again as soon as you do.",
    )
    return payout, True


def payout_details_correct(
    *, return_request: Return, details: dict, actor: EventActor
) -> list[Payout]:
    """New details (already checked by ``payout_details_clean``) for the
    return's failed payouts: each goes back to pending in finance's worklist;
    no new refund. Sending the same details again changes nothing. 409 when
    no payout of the return waits for a correction."""
    payouts = list(
        Payout.objects.select_for_update(of=("self",))
        .select_related("refund")
        .filter(refund__return_request=return_request)
        .order_by("pk")
    )
    failed = [p for p in payouts if p.state == PayoutState.FAILED]
    if not failed:
        pending = [p for p in payouts if p.state == PayoutState.PENDING]
        if pending and all(p.details == details for p in pending):
            return pending  # a retried correction
        raise Conflict(
            f"No payout of return {return_request.rma} is waiting for new details.",
            code="invalid_state",
        )
    now = timezone.now()
    for payout in failed:
        payout.correct(details)
        payout.rail = payout_rail(details)
        payout.save()
        _history(payout, PayoutAttempt.Outcome.CORRECTED, actor, now)
        _timeline(
            payout,
            RefundEventType.PAYOUT_CORRECTED,
            PayoutState.FAILED,
            f"Payout {payout.reference} details corrected to {payout_mask_text(details)}; "
            "back in finance's worklist",
            actor,
        )
    return failed
