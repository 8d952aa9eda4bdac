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
from orders.models import LedgerEntry, Order, Payment
from orders.services import payment_refund_record

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
from ..models import Refund, RefundTender
from ..states import RefundState, TenderState
from .finalize import refund_finalize, tender_row
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


def refund_issue_money(
    refund_id: int, actor: EventActor, *, refused_read_fails: bool = True
) -> tuple[Refund, bool]:
    """Move the money of a pending, processing or failed refund through its
    gateways. Idempotent: an issued refund is left alone (False); a tender
    already processed is not sent again, one already accepted is asked for
    its status, and every call carries the tender's key, so a task that runs
    twice moves money once. A gateway that refuses (4xx) fails its tender
    and the refund with the gateway's reason; one that times out raises
    ``GatewayError`` (the transaction rolls back; the task retries with the
    same keys). True when the refund was issued by this call; the return's
    reactions follow in ``flows.refunds.refund_issue``.
    ``refused_read_fails=False`` (the unattended poll): a gateway that
    refuses to say how an accepted refund stands (a 4xx on the status read:
    rotated keys, a rate limit) fails nothing; it raises ``GatewayError`` and
    the tender keeps its gateway refund id, to be asked again."""
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
            result = _ask(tender, payment, refused_read_fails=refused_read_fails)
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


def _ask(
    tender: RefundTender, payment: Payment, *, refused_read_fails: bool = True
) -> GatewayResult:
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
        if not refused_read_fails:
            raise GatewayError(f"{gateway.name} refused the status read: {exc}") from exc
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
        fields["processed_at"] = timezone.now()
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
                {"tenders": [tender_row(t) for t in tenders]},
            ),
        )
    return False


def refund_lock(refund_id: int) -> Refund:
    """The refund, with its order locked first (see ``_lock``)."""
    return _lock(refund_id)


def _lock(refund_id: int) -> Refund:
    """The order's lock first, as every other writer of its money takes it
    (see returns.services.common.return_get_for_update): without it, issuing
    (refund → payments → order) deadlocks with a QC making another refund of
    the same order due (order → payments). When orders has its ``order_lock``
    helper, the two lines locking the order become a call to it."""
    # One statement finds and locks the order (FOR UPDATE OF the order only).
    if not list(
        Order.objects.select_for_update(of=("self",))
        .filter(refunds__pk=refund_id)
        .values_list("pk", flat=True)
    ):
        raise NotFound(f"Refund {refund_id} does not exist.")
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("order__channel", "return_request")
        .defer("order__raw")
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
