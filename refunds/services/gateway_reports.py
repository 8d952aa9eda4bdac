"""What a payment gateway reports about a refund after the fact (its
webhooks, or a status read): stored once per event, applied to the tender it
names, and the refund's state derived again. ``flows.refunds`` runs the
return's reactions when the refund becomes issued."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from oms.money import to_minor
from orders.events import EventActor
from orders.models import Payment

from ..gateways import GatewayResult
from ..models import GatewayWebhook, Refund, RefundTender
from ..states import RefundState
from .issue import _lock, refund_settle, tender_report

TENDER_IN_KEY = re.compile(r"^oms-refund-\d+-t(\d+)(?:-a\d+)?$")


def gateway_webhook_store(
    *, gateway: str, event_id: str, event_type: str, body: bytes, headers: dict
) -> tuple[GatewayWebhook, bool]:
    """The raw event, once per (gateway, event id). True when it still needs
    applying: new, or stored before but not applied (an error interrupted)."""
    try:
        with transaction.atomic():
            row = GatewayWebhook.objects.create(
                gateway=gateway,
                event_id=event_id[:150],
                event_type=event_type[:100],
                body=body,
                headers=headers,
            )
        return row, True
    except IntegrityError:
        row = GatewayWebhook.objects.get(gateway=gateway, event_id=event_id[:150])
        return row, row.processed_at is None


def gateway_webhook_done(row: GatewayWebhook, outcome: str, refund_id: str = "") -> None:
    GatewayWebhook.objects.filter(pk=row.pk).update(
        outcome=outcome[:500], processed_at=timezone.now(), gateway_refund_id=refund_id[:100]
    )


def _tender_for(gateway: str, result: GatewayResult, key: str) -> RefundTender | None:
    if result.reference:
        found = RefundTender.objects.filter(
            gateway=gateway, gateway_reference=result.reference
        ).first()
        if found:
            return found
    match = TENDER_IN_KEY.match(key or "")
    if match:
        return RefundTender.objects.filter(pk=int(match.group(1)), gateway=gateway).first()
    return None


def refund_gateway_report(
    *, gateway: str, result: GatewayResult, key: str, amount_minor: int | None, actor: EventActor
) -> tuple[Refund | None, bool, str]:
    """Apply a gateway's report on one of its refunds, in the caller's
    transaction. Returns the refund (None when it is not ours), whether it
    became issued now, and what happened in words. A report that changes
    nothing (a redelivery, an older status) changes nothing."""
    tender = _tender_for(gateway, result, key)
    if tender is None:
        return None, False, f"no refund of ours has {gateway} refund {result.reference or key}"
    refund = _lock(tender.refund_id)
    tender = RefundTender.objects.get(pk=tender.pk)
    order = refund.order
    if amount_minor is not None and amount_minor != to_minor(tender.amount, order.currency):
        return (
            refund,
            False,
            (
                f"ignored: {gateway} refund {result.reference} is for {amount_minor} minor units, "
                f"tender {tender.pk} for {tender.amount} {order.currency}"
            ),
        )
    payment = Payment.objects.select_for_update(of=("self",)).get(pk=tender.payment_id)
    changed = tender_report(refund, order, tender, payment, result, actor)
    if not changed:
        return refund, False, f"no change: tender {tender.pk} already {tender.state}"
    if refund.state == RefundState.ISSUED:
        return refund, False, f"tender {tender.pk}: bank reference {tender.bank_reference}"
    tenders = list(refund.tenders.order_by("pk"))
    issued = refund_settle(refund, order, tenders, actor)
    return refund, issued, f"tender {tender.pk} {tender.state}; refund {refund.state}"
