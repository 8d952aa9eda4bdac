"""Refunds the storefront made itself, reconciled against our units and tenders."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from oms.money import allocate, from_minor, to_minor
from orders.events import Event, EventActor, EventType, timeline_record
from orders.models import LedgerEntry, Line, Order, Payment, Unit
from orders.services import (
    payment_refund_record,
    units_lock,
)
from orders.states import OPEN_RETURN_STATES

from ..adapters import PayloadError, RefundIntake
from ..models import PlatformRefund, PlatformRefundLine, PlatformRefundUnit, WebhookDelivery
from .common import _ALREADY_REFUNDED, ZERO, EventTypes

# --- refunds -----------------------------------------------------------------


def _split(amount: Decimal, parts: int, currency: str) -> list[Decimal]:
    """Even split to the cent by largest remainder (DOMAIN.md, Money)."""
    return [from_minor(m, currency) for m in allocate(to_minor(amount, currency), [1] * parts)]


def _refund_reconcile(
    order: Order, refund: RefundIntake, delivery: WebhookDelivery, actor: EventActor
) -> str:
    """Record a platform refund against the units it names and the payments.

    Amounts are the platform's, as sent. Units keep their lifecycle state: a
    storefront refund says money went back, not where the goods are, and the
    unit transitions to ``refunded`` belong to the returns flow; the link
    ``PlatformRefundUnit`` marks them as refunded on the platform so they are
    not picked twice, and each unit is marked ``platform_refunded_at`` so it
    can never be returned for a refund here. Idempotent by refund id.
    """
    channel = delivery.channel
    if PlatformRefund.objects.filter(channel=channel, external_id=refund.external_id).exists():
        return f"refund {refund.external_id} already recorded"
    currency = refund.currency or order.currency
    if currency != order.currency:
        raise PayloadError("currency", f"refund in {currency}, order in {order.currency}")
    record = _refund_record(order, refund, delivery, currency)
    unit_ids = _refund_units(order, refund, record, currency)
    payment_events = _refund_payments(order, record, actor)
    timeline_record(
        order=order,
        actor=actor,
        occurred_at=record.processed_at,
        event=Event(
            "order",
            order.number,
            EventTypes.REFUND_RECORDED,
            message=(
                f"Refund {refund.external_id} made on {delivery.platform}: "
                f"{len(unit_ids)} unit(s), {refund.amount} {currency} returned"
            ),
            payload={
                "refund": refund.external_id,
                "units": unit_ids,
                "amount": str(refund.amount),
                "lines": [
                    {
                        "line": r.line_external_id,
                        "quantity": r.quantity,
                        "subtotal": str(r.subtotal),
                        "tax": str(r.tax),
                    }
                    for r in refund.lines
                ],
                "payments": payment_events,
            },
        ),
        source=delivery.platform,
        external_id=refund.external_id,
    )
    return f"refund {refund.external_id}: {len(unit_ids)} unit(s), {refund.amount} {currency}"


def _refund_record(
    order: Order, refund: RefundIntake, delivery: WebhookDelivery, currency: str
) -> PlatformRefund:
    """The platform refund's own row, with the amounts as the platform sent them."""
    return PlatformRefund.objects.create(
        channel=delivery.channel,
        order=order,
        external_id=refund.external_id,
        platform=delivery.platform,
        currency=currency,
        amount=refund.amount,
        lines_subtotal=sum((r.subtotal for r in refund.lines), ZERO),
        lines_tax=sum((r.tax for r in refund.lines), ZERO),
        shipping=refund.shipping,
        adjustments=refund.adjustments,
        note=refund.note,
        processed_at=refund.processed_at or timezone.now(),
        delivery=delivery,
        raw=refund.raw,
    )


def _refund_units(
    order: Order, refund: RefundIntake, record: PlatformRefund, currency: str
) -> list[int]:
    """Pick, per refunded line, the units not refunded yet (lowest index first)
    and link them to the refund with their share of its subtotal and tax."""
    lines = {ln.external_id: ln for ln in Line.objects.filter(order=order).exclude(external_id="")}
    unit_ids: list[int] = []
    for i, item in enumerate(refund.lines):
        line = lines.get(item.line_external_id)
        if line is None:
            raise PayloadError(
                f"refund_line_items[{i}].line_item_id",
                f"order {order.number} has no line {item.line_external_id}",
            )
        if item.quantity <= 0:
            continue
        # Lock the line's units, then drop those already refunded (a join to
        # the refund table cannot sit under FOR UPDATE on PostgreSQL).
        taken = set(
            PlatformRefundUnit.objects.filter(unit__line=line).values_list("unit_id", flat=True)
        )
        free = [
            u
            for u in units_lock(Unit.objects.filter(line=line))
            if u.pk not in taken and u.state not in _ALREADY_REFUNDED
        ]
        # Units in no open return first: one in a return may be refunded by us.
        free.sort(key=lambda u: (u.state in OPEN_RETURN_STATES, u.index))
        if len(free) < item.quantity:
            raise PayloadError(
                f"refund_line_items[{i}].quantity",
                f"{item.quantity} unit(s) of line {line.external_id} refunded but only "
                f"{len(free)} are not refunded already",
                code="refund_exceeds_units",
            )
        refund_line = PlatformRefundLine.objects.create(
            refund=record,
            line=line,
            external_id=item.line_external_id,
            quantity=item.quantity,
            subtotal=item.subtotal,
            tax=item.tax,
            restock_type=item.restock_type,
        )
        chosen = free[: item.quantity]
        PlatformRefundUnit.objects.bulk_create(
            [
                PlatformRefundUnit(refund_line=refund_line, unit=unit, subtotal=s, tax=t)
                for unit, s, t in zip(
                    chosen,
                    _split(item.subtotal, item.quantity, currency),
                    _split(item.tax, item.quantity, currency),
                    strict=True,
                )
            ]
        )
        unit_ids.extend(u.pk for u in chosen)
    # Marked refunded: returns refuses them (returns.services.eligibility).
    Unit.objects.filter(pk__in=unit_ids).update(
        platform_refunded_at=record.processed_at,
        platform_refund_ref=f"{record.platform}:refund:{record.external_id}"[:150],
    )
    return unit_ids


def _refund_payments(order: Order, record: PlatformRefund, actor: EventActor) -> list[dict]:
    """Book the money the platform returned on our tenders, in tender order,
    each capped at what it can still refund."""
    left = record.amount
    if left <= 0:
        return []
    payments = list(Payment.objects.select_for_update().filter(order=order).order_by("position"))
    available = sum((p.refundable for p in payments if p.refundable > 0), ZERO)
    if available < left:
        raise PayloadError(
            "transactions",
            f"the platform refunded {left} {order.currency} but only {available} captured on "
            f"order {order.number} is left to refund",
            code="refund_exceeds_captured",
        )
    out = []
    for payment in payments:
        if left <= 0:
            break
        share = min(left, payment.refundable)
        if share <= 0:
            continue
        payment_refund_record(
            order=order,
            payment=payment,
            amount=share,
            ledger_kind=LedgerEntry.Kind.REFUND,
            reference=f"{record.platform}:refund:{record.external_id}",
            actor=actor,
            message=f"Refunded {share} {order.currency} on {record.platform}",
            payload={"amount": str(share), "refund": record.external_id},
            event_type=EventType.PAYMENT_TRANSITION,
            occurred_at=record.processed_at,
            source=record.platform,
            external_id=record.external_id,
        )
        out.append({"payment": payment.pk, "amount": str(share), "state": payment.state})
        left -= share
    return out
