"""Recoveries: money a customer owes back (issue 12, leak 1).

A unit fails QC after its money or its replacement already left: an instant
refund paid at pickup, or an exchange-first replacement already shipped. The
unit goes back to the customer, so the money or the replacement is owed. The
QC flow (``flows.return_events``) opens one recovery per such unit in the QC
transaction, with a ledger row, and starts settling it:

- charged through the gateway of the order's online tender when that gateway
  can charge (``can_charge``; a job runs the charge after commit);
- otherwise a payment link is sent: made by the tender's gateway when it can
  (Razorpay or Stripe Payment Links, a job after commit; the link's paid
  webhook collects it), else the brand's payment page; finance can also mark
  it collected with the payment's reference;
- the customer's next order (same customer) takes an open, linked recovery
  over: it is applied to that order and collected with it;
- or a supervisor writes it off with a reason.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from oms.errors import ApplicationError, Conflict, NotFound
from oms.jobs import job_enqueue
from oms.money import to_minor
from orders.events import Event, EventActor, timeline_record
from orders.messaging import message_enqueue
from orders.models import LedgerEntry, Order, Payment
from orders.states import PaymentMethod, UnitState
from returns.models import Return, ReturnItem

from ..events import RefundEventType
from ..gateways import GatewayDeclined, GatewayError, GatewayResult, gateway_for, gateway_named
from ..models import Recovery, RefundItem
from ..states import RecoveryMethod, RecoveryReason, RecoveryState, RefundKind
from ..tasks import recovery_charge_task, recovery_link_cancel_task, recovery_link_task
from .recovery_messages import recovery_message

CHARGEABLE = (PaymentMethod.CARD, PaymentMethod.UPI, PaymentMethod.WALLET)


def recoveries_open_for_failed_qc(ret: Return, actor: EventActor) -> list[Recovery]:
    """Open a recovery for each unit of ``ret`` that failed QC after its
    refund was paid or its replacement shipped (once per unit), with its
    ledger row and the customer's message, in the caller's transaction."""
    items = [
        i
        for i in ReturnItem.objects.filter(
            return_request=ret, unit__state=UnitState.RETURN_REJECTED
        ).select_related("unit", "replacement_unit")
        if not Recovery.objects.filter(unit_id=i.unit_id).exists()
    ]
    if not items:
        return []
    refunded = {
        ri.unit_id: ri
        for ri in RefundItem.objects.filter(
            unit_id__in=[i.unit_id for i in items], kind=RefundKind.RETURN
        ).select_related("refund")
    }
    order = ret.order
    opened = []
    for item in items:
        row = _recovery_terms(item, refunded.get(item.unit_id))
        if row is None:
            continue
        reason, amount, refund, replacement = row
        recovery = Recovery.objects.create(
            order=order,
            return_request=ret,
            unit=item.unit,
            customer_id=order.customer_id,
            refund=refund,
            replacement_unit=replacement,
            amount=amount,
            currency=order.currency,
            reason=reason,
        )
        LedgerEntry.objects.create(
            order=order,
            kind=LedgerEntry.Kind.RECOVERY_OPENED,
            amount=amount,
            currency=order.currency,
            reference=f"recovery:{recovery.pk}",
        )
        _event(
            recovery,
            actor,
            RefundEventType.RECOVERY_OPENED,
            f"Customer owes {amount} {order.currency}: unit {item.unit_id} failed QC "
            f"({recovery.get_reason_display().lower()})",
            {"rma": ret.rma, "unit": item.unit_id, "amount": str(amount), "reason": reason},
        )
        _settle_start(recovery, actor)
        opened.append(recovery)
    return opened


def _recovery_terms(item: ReturnItem, refunded: RefundItem | None):
    """(reason, amount, refund, replacement) owed for a failed unit, or None."""
    if refunded is not None and refunded.amount > 0:
        return RecoveryReason.INSTANT_REFUND_QC_FAILED, refunded.amount, refunded.refund, None
    replacement = item.replacement_unit
    if replacement is None:
        return None
    # The customer keeps the original (theirs, paid) and the replacement: they
    # owe the replacement less any difference they already paid for it.
    paid = item.price_difference if item.difference_collected and item.price_difference > 0 else 0
    amount = replacement.net_paid - Decimal(paid)
    if amount <= 0:
        return None
    return RecoveryReason.EXCHANGE_QC_FAILED, amount, None, replacement


def _chargeable_tender(order_id: int) -> Payment | None:
    return (
        Payment.objects.filter(order_id=order_id, method__in=CHARGEABLE, captured_amount__gt=0)
        .order_by("position", "pk")
        .first()
    )


def _tender_gateway(order_id: int):
    tender = _chargeable_tender(order_id)
    return tender, (gateway_for(tender.method, tender) if tender is not None else None)


def _settle_start(recovery: Recovery, actor: EventActor) -> None:
    """Charge through the tender's gateway when it can, or have it make a
    payment link (each a job after commit: no gateway call under the QC
    transaction), else send the brand's payment page now."""
    _tender, gateway = _tender_gateway(recovery.order_id)
    if gateway is not None and getattr(gateway, "can_charge", False):
        job_enqueue(recovery_charge_task, recovery.pk)
        return
    if gateway is not None and getattr(gateway, "can_link", False):
        job_enqueue(recovery_link_task, recovery.pk)
        return
    _link_send(recovery, actor, why="")


def _link_send(
    recovery: Recovery, actor: EventActor, *, why: str, url: str = "", gateway_link: str = ""
) -> None:
    """Record the link (the gateway's ``url``, else the brand's payment page
    with a reference of ours) and tell the customer."""
    if not url:
        token = f"REC{recovery.pk}-{secrets.token_hex(6).upper()}"
        url = settings.OMS_RECOVERY_PAYMENT_LINK_URL.format(
            reference=token, amount=recovery.amount, currency=recovery.currency
        )
    recovery.payment_link = url[:500]
    recovery.gateway_link = gateway_link
    recovery.method = RecoveryMethod.PAYMENT_LINK
    recovery.save(update_fields=["payment_link", "gateway_link", "method", "updated_at"])
    _event(
        recovery,
        actor,
        RefundEventType.RECOVERY_LINK_SENT,
        f"Payment link sent for {recovery.amount} {recovery.currency}"
        + (f" ({why})" if why else ""),
        {"link": recovery.payment_link, "why": why, "gateway_link": gateway_link},
    )
    _message(recovery, "recovery_link")


def _link_close_later(recovery: Recovery) -> None:
    """A recovery settled otherwise (written off, or paid another way): its
    gateway link is cancelled after commit, so it cannot be paid as well."""
    if recovery.gateway_link:
        job_enqueue(recovery_link_cancel_task, recovery.pk)


def recovery_link_cancel(recovery_id: int, actor: EventActor) -> bool:
    """The after-commit job: cancel a settled recovery's gateway link. A
    gateway that refuses (the link was paid meanwhile, or is gone) is noted
    on the timeline; the payment, if any, arrives by webhook as a late one."""
    recovery = Recovery.objects.select_related("order").get(pk=recovery_id)
    if recovery.state == RecoveryState.OPEN or not recovery.gateway_link:
        return False
    name, link = recovery.gateway_link.split(":", 1)
    gateway = gateway_named(name)
    try:
        gateway.payment_link_cancel(link)
    except GatewayDeclined as exc:
        _event(
            recovery,
            actor,
            RefundEventType.RECOVERY_LINK_FAILED,
            f"{name} did not cancel payment link {link}: {exc}"[:500],
            {"gateway": name, "link": link},
        )
        return False
    _event(
        recovery,
        actor,
        RefundEventType.RECOVERY_LINK_CANCELLED,
        f"Payment link {link} cancelled at {name}",
        {"gateway": name, "link": link},
    )
    return True


def recovery_link_create(recovery_id: int, actor: EventActor, *, give_up: bool = False) -> Recovery:
    """The after-commit job: the tender's gateway makes the payment link
    (idempotent by the recovery's key, so a job that ran twice sends one).
    A gateway that refuses falls back to the brand's page; one that cannot
    answer raises ``GatewayError`` and the job runs again."""
    recovery = _lock(recovery_id)
    if recovery.state != RecoveryState.OPEN or recovery.method:
        return recovery
    _tender, gateway = _tender_gateway(recovery.order_id)
    if gateway is None or not getattr(gateway, "can_link", False):
        _link_send(recovery, actor, why="")
        return recovery
    if give_up:  # the gateway did not answer through every retry
        _link_send(recovery, actor, why=f"{gateway.name} did not answer")
        return recovery
    order = recovery.order
    customer = order.customer
    try:
        link = gateway.payment_link(
            key=f"oms-recovery-{recovery.pk}",
            amount=recovery.amount,
            currency=recovery.currency,
            description=f"Return {recovery.return_request.rma}: amount owed",
            customer={
                "name": customer.name,
                "email": order.email or customer.email,
                "contact": order.phone,
            },
        )
    except GatewayDeclined as exc:
        _event(
            recovery,
            actor,
            RefundEventType.RECOVERY_LINK_FAILED,
            f"{gateway.name} did not make a payment link: {exc}"[:500],
            {"gateway": gateway.name},
        )
        _link_send(recovery, actor, why=f"{gateway.name} could not make a link")
        return recovery
    _link_send(
        recovery, actor, why="", url=link.url, gateway_link=f"{gateway.name}:{link.reference}"
    )
    return recovery


def recovery_link_paid(
    *, gateway: str, link: str, payment: str, amount_minor: int | None, actor: EventActor
) -> tuple[Recovery | None, str]:
    """A gateway says its payment link was paid: the recovery it was made
    for is collected, with the gateway's payment id as the reference. Once:
    a recovery already collected is left alone. Returns it and the outcome."""
    recovery_id = (
        Recovery.objects.filter(gateway_link=f"{gateway}:{link}")
        .values_list("pk", flat=True)
        .first()
    )
    if recovery_id is None:
        return None, f"ignored: no recovery has the payment link {link}"
    recovery = _lock(recovery_id)
    reference = f"{gateway}:{payment or link}"
    if recovery.state == RecoveryState.COLLECTED and recovery.reference == reference[:150]:
        return recovery, f"recovery {recovery.pk} already collected"
    if recovery.state != RecoveryState.OPEN:
        # paid after it was written off or settled another way: money finance
        # gives back, on the order's timeline for them
        text = (
            f"Payment {reference} on the link of recovery {recovery.pk}, which is already "
            f"{recovery.get_state_display().lower()}: give it back to the customer"
        )
        _event(
            recovery,
            actor,
            RefundEventType.RECOVERY_PAID_LATE,
            text,
            {"gateway": gateway, "payment": payment, "link": link, "amount_minor": amount_minor},
        )
        return recovery, text
    owed = to_minor(recovery.amount, recovery.currency)
    if amount_minor is not None and amount_minor < owed:
        return recovery, f"ignored: {amount_minor} paid of {owed} owed (minor units)"
    _collect(recovery, actor, method=RecoveryMethod.PAYMENT_LINK, reference=reference)
    return recovery, f"recovery {recovery.pk} collected"


def recovery_charge(recovery_id: int, actor: EventActor) -> Recovery:
    """The after-commit charge: through the gateway of the order's online
    tender, idempotent by the recovery's key; a refusal falls back to a link."""
    recovery = _lock(recovery_id)
    if recovery.state != RecoveryState.OPEN or recovery.method:
        return recovery
    tender = _chargeable_tender(recovery.order_id)
    gateway = gateway_for(tender.method, tender) if tender is not None else None
    if tender is None or gateway is None or not getattr(gateway, "can_charge", False):
        _link_send(recovery, actor, why="the payment method cannot be charged")
        return recovery
    try:
        result: GatewayResult = gateway.charge(
            idempotency_key=f"recovery-{recovery.pk}",
            payment=tender,
            amount=recovery.amount,
            description=f"Return {recovery.return_request.rma}: amount owed",
        )
    except GatewayError as exc:
        _event(
            recovery,
            actor,
            RefundEventType.RECOVERY_CHARGE_FAILED,
            f"Charge through {gateway.name} failed: {exc}"[:500],
            {"gateway": gateway.name},
        )
        _link_send(recovery, actor, why="the charge failed")
        return recovery
    _collect(
        recovery,
        actor,
        method=RecoveryMethod.GATEWAY,
        reference=f"{gateway.name}:{result.reference}",
    )
    return recovery


def recovery_collect(*, recovery_id: int, reference: str, actor: EventActor) -> Recovery:
    """Finance records the payment (payment link, or with the next order).
    The same reference again is a no-op; another one is a conflict."""
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError(
            "reference: give the payment's reference.", extra={"field": "reference"}
        )
    recovery = _lock(recovery_id)
    if recovery.state == RecoveryState.COLLECTED and recovery.reference == reference[:150]:
        return recovery
    _require_open(recovery)
    method = RecoveryMethod.NEXT_ORDER if recovery.applied_order_id else RecoveryMethod.PAYMENT_LINK
    _collect(recovery, actor, method=method, reference=reference)
    return recovery


def recovery_write_off(*, recovery_id: int, reason: str, actor: EventActor) -> Recovery:
    """A supervisor gives the amount up, saying why. Repeating it is a no-op."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "reason: say why the amount is written off.", extra={"field": "reason"}
        )
    recovery = _lock(recovery_id)
    if recovery.state == RecoveryState.WRITTEN_OFF:
        return recovery
    _require_open(recovery)
    recovery.write_off(reason=reason, at=timezone.now(), by=actor.label)
    recovery.save()
    LedgerEntry.objects.create(
        order_id=recovery.order_id,
        kind=LedgerEntry.Kind.RECOVERY_WRITTEN_OFF,
        amount=recovery.amount,
        currency=recovery.currency,
        reference=f"recovery:{recovery.pk}",
    )
    _event(
        recovery,
        actor,
        RefundEventType.RECOVERY_WRITTEN_OFF,
        f"Written off {recovery.amount} {recovery.currency}: {reason}"[:500],
        {"reason": reason},
        before=RecoveryState.OPEN,
    )
    _message(recovery, "recovery_written_off")
    _link_close_later(recovery)
    return recovery


def recoveries_apply_to_order(order: Order, actor: EventActor) -> list[Recovery]:
    """The rule for the next order: when a customer who owes a recovery
    (open, waiting on its payment link) places another order, each such
    recovery is applied to that order, oldest first: recorded on both orders'
    timelines, and the customer is told it will be collected with it. It stays
    open (in the queue, "on the next order") until finance records the
    payment with its reference. Charges in flight are left alone."""
    recoveries = list(
        Recovery.objects.select_for_update(of=("self",))
        .filter(
            customer_id=order.customer_id,
            state=RecoveryState.OPEN,
            method=RecoveryMethod.PAYMENT_LINK,
            applied_order__isnull=True,
        )
        .exclude(order_id=order.pk)
        .select_related("order", "return_request")
        .order_by("created_at", "pk")
    )
    for recovery in recoveries:
        recovery.applied_order = order
        recovery.method = RecoveryMethod.NEXT_ORDER
        recovery.save(update_fields=["applied_order", "method", "updated_at"])
        text = (
            f"Recovery of {recovery.amount} {recovery.currency} (return "
            f"{recovery.return_request.rma}) applied to order {order.number}"
        )
        _event(recovery, actor, RefundEventType.RECOVERY_APPLIED, text, {"order": order.number})
        timeline_record(
            order=order,
            actor=actor,
            event=Event(
                "recovery",
                recovery.pk,
                RefundEventType.RECOVERY_APPLIED,
                message=text,
                payload={"from_order": recovery.order.number, "amount": str(recovery.amount)},
            ),
        )
        _message(recovery, "recovery_next_order", order=order)
    return recoveries


def _collect(recovery: Recovery, actor: EventActor, *, method: str, reference: str) -> None:
    recovery.collect(how=method, reference=reference, at=timezone.now(), by=actor.label)
    recovery.save()
    LedgerEntry.objects.create(
        order_id=recovery.order_id,
        kind=LedgerEntry.Kind.RECOVERY_COLLECTED,
        amount=recovery.amount,
        currency=recovery.currency,
        reference=f"recovery:{recovery.pk}:{reference}"[:100],
    )
    _event(
        recovery,
        actor,
        RefundEventType.RECOVERY_COLLECTED,
        f"Collected {recovery.amount} {recovery.currency} ({recovery.get_method_display().lower()})",
        {"method": method, "reference": reference},
        before=RecoveryState.OPEN,
    )
    _message(recovery, "recovery_collected")
    if method != RecoveryMethod.PAYMENT_LINK or not reference.startswith(
        recovery.gateway_link.split(":", 1)[0] + ":"
    ):
        _link_close_later(recovery)


def _lock(recovery_id: int) -> Recovery:
    """The order first, as every writer of an order's money locks it."""
    order_id = Recovery.objects.filter(pk=recovery_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound(f"Recovery {recovery_id} does not exist.")
    list(Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True))
    return (
        Recovery.objects.select_for_update(of=("self",))
        .select_related("order", "return_request")
        .get(pk=recovery_id)
    )


def _require_open(recovery: Recovery) -> None:
    if recovery.state != RecoveryState.OPEN:
        raise Conflict(
            f"Recovery {recovery.pk} is already {recovery.get_state_display().lower()}.",
            code="invalid_state",
            extra={"state": recovery.state},
        )


def _event(recovery, actor, type_, message, payload, *, before="") -> None:
    timeline_record(
        order=recovery.order_id,
        actor=actor,
        event=Event(
            "recovery",
            recovery.pk,
            type_,
            before,
            recovery.state,
            message[:500],
            {**payload, "recovery": recovery.pk},
        ),
    )


def _message(recovery: Recovery, template: str, **ctx) -> None:
    subject, body = recovery_message(recovery, template, **ctx)
    message_enqueue(order=recovery.order, template=template, subject=subject, body=body)
