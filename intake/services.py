"""Channel intake: accept fast, process after.

``delivery_accept`` verifies nothing itself (the API checks the signature
first) and only stores the body and queues the work, so a storefront gets its
202 quickly. ``delivery_process`` turns the stored body into our order through
``orders.services.order_create``, reconciles updates and platform refunds, and
settles the delivery: processed, ignored (nothing to apply), failed (will
retry) or dead (needs a fix, then ``dead_letter_replay``).
"""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.text import slugify

from inventory.models import SKU
from inventory.services import sku_upsert
from oms.errors import ApplicationError, Conflict, NotFound
from oms.jobs import job_enqueue
from oms.money import allocate, from_minor, to_minor
from orders.events import Event, EventActor, EventType, timeline_record
from orders.models import Channel, Customer, LedgerEntry, Line, Order, Payment, Unit
from orders.services import (
    order_create,
    payment_refund_record,
    units_cancel_unshipped,
    units_lock,
)
from orders.states import PaymentMethod, PaymentState, UnitState

from .adapters import OrderIntake, PayloadError, RefundIntake, parse_body, shopify, woocommerce
from .models import PlatformRefund, PlatformRefundLine, PlatformRefundUnit, WebhookDelivery
from .states import SETTLED_STATES, DeliveryState

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
# Units our own flow already settled; "not_charged" is the cash-on-delivery
# refusal that was never paid.
_ALREADY_REFUNDED = [UnitState.REFUNDED, UnitState.KEPT, "not_charged"]
PLATFORMS = {shopify.PLATFORM: shopify, woocommerce.PLATFORM: woocommerce}
ORDER_TOPICS = {
    shopify.PLATFORM: {"orders/create", "orders/updated"},
    woocommerce.PLATFORM: {"order.created", "order.updated"},
}
REFUND_TOPICS = {
    shopify.PLATFORM: {"refunds/create"},
    woocommerce.PLATFORM: {"refund.created"},
}


class EventTypes:
    ORDER_UPDATED = "order.platform_updated"
    ORDER_CANCELLED = "order.platform_cancelled"
    REFUND_RECORDED = "refund.platform_recorded"


class RetryLater(Exception):
    """A transient failure: the task retries with backoff, then gives up."""


class OrderNotYetReceived(RetryLater):
    """A refund for an order we have not received yet (deliveries are not ordered)."""


# --- channels ----------------------------------------------------------------


@transaction.atomic
def channel_upsert(
    *,
    code: str,
    name: str,
    platform: str,
    unknown_sku: str,
    webhook_secret: str | None = None,
) -> tuple[Channel, bool]:
    channel = Channel.objects.select_for_update().filter(code=code).first()
    created = channel is None
    if created:
        channel = Channel(code=code)
    if platform != Channel.Platform.NATIVE and not (webhook_secret or channel.webhook_secret):
        raise ApplicationError(
            "webhook_secret: a storefront channel needs the secret its webhooks are signed with.",
            extra={"field": "webhook_secret"},
        )
    channel.name = name
    channel.platform = platform
    channel.unknown_sku = unknown_sku
    if webhook_secret is not None:
        channel.webhook_secret = webhook_secret
    channel.save()
    return channel, created


# --- accept ------------------------------------------------------------------


DELIVERY_ID_MAX = WebhookDelivery._meta.get_field("delivery_id").max_length


def delivery_accept(
    *,
    channel: Channel,
    platform: str,
    topic: str,
    delivery_id: str,
    body: bytes,
    headers: dict,
) -> tuple[WebhookDelivery, bool]:
    """Store the body and queue it; a redelivery (same channel and delivery
    id) returns the stored one with ``created`` False and queues nothing."""
    if not delivery_id:
        # Without the platform's id, the body itself is the identity.
        delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
    elif len(delivery_id) > DELIVERY_ID_MAX or "\x00" in delivery_id:
        # Too long for the column (or unstorable): its hash is the identity,
        # the same on every redelivery, so a redelivery is still recognised.
        delivery_id = "id-sha256:" + hashlib.sha256(delivery_id.encode()).hexdigest()
    existing = WebhookDelivery.objects.filter(channel=channel, delivery_id=delivery_id).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                channel=channel,
                platform=platform,
                topic=topic[:100],
                delivery_id=delivery_id,
                body=body,
                headers=headers,
            )
            _enqueue(delivery.pk)
    except IntegrityError:
        existing = WebhookDelivery.objects.filter(channel=channel, delivery_id=delivery_id).first()
        if existing is None:
            raise
        return existing, False
    return delivery, True


def _enqueue(delivery_id: int) -> None:
    from .tasks import delivery_process_task

    job_enqueue(delivery_process_task, delivery_id)


# --- process -----------------------------------------------------------------


def delivery_process(*, delivery_id: int, final_attempt: bool = False) -> str:
    """Apply one stored delivery. Returns its state afterwards.

    A payload that cannot be represented (``PayloadError``, or an order the
    order service refuses) goes straight to the dead letters: retrying would
    fail the same way. Anything else (a lost race, an order not received yet,
    a database hiccup) raises ``RetryLater`` for the task to retry, and on the
    final attempt goes to the dead letters too. Safe to run twice.
    """
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
            if delivery is None:
                raise NotFound(f"Webhook delivery {delivery_id} does not exist.")
            if delivery.state in SETTLED_STATES:
                return delivery.state
            _apply(delivery)
            delivery.save()
            return delivery.state
    except NotFound:
        raise
    except (Conflict, OperationalError, RetryLater) as exc:
        error = _describe(exc)
        if final_attempt:
            return _settle_failure(delivery_id, error, dead=True)
        _settle_failure(delivery_id, error, dead=False)
        raise RetryLater(error) from exc
    except ApplicationError as exc:
        return _settle_failure(delivery_id, _describe(exc), dead=True)
    except Exception as exc:
        logger.exception("webhook delivery %s failed", delivery_id)
        error = _describe(exc)
        if final_attempt:
            return _settle_failure(delivery_id, error, dead=True)
        _settle_failure(delivery_id, error, dead=False)
        raise RetryLater(error) from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApplicationError):
        return f"{exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _settle_failure(delivery_id: int, error: str, *, dead: bool) -> str:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.state in SETTLED_STATES:
            return delivery.state
        if dead:
            delivery.mark_dead(error)
        else:
            delivery.mark_failed(error)
        delivery.save()
        return delivery.state


def _actor(delivery: WebhookDelivery) -> EventActor:
    return EventActor.system(f"{delivery.platform} webhook {delivery.delivery_id}"[:150])


def _apply(delivery: WebhookDelivery) -> None:
    now = timezone.now()
    channel = delivery.channel
    adapter = PLATFORMS.get(delivery.platform)
    if adapter is None:
        raise PayloadError("platform", f"{delivery.platform!r} has no adapter")
    if channel.platform != delivery.platform:
        raise PayloadError(
            "channel", f"channel {channel.code} is now a {channel.platform} channel", code="channel"
        )
    if delivery.topic in ORDER_TOPICS[delivery.platform]:
        payload = parse_body(bytes(delivery.body))
        intake = adapter.order_from_payload(payload, channel=channel.code)
        delivery.resource_id = intake.data.external_id
        delivery.resource_updated_at = intake.updated_at
        note = _order_upsert(delivery, channel, intake)
        if delivery.order_id is None:
            delivery.mark_ignored(now, note)
        else:
            delivery.mark_processed(now, note)
        return
    if delivery.topic in REFUND_TOPICS[delivery.platform]:
        refund = adapter.refund_from_payload(parse_body(bytes(delivery.body)))
        delivery.resource_id = refund.external_id
        order = Order.objects.filter(channel=channel, external_id=refund.order_external_id).first()
        if order is None:
            raise OrderNotYetReceived(
                f"order {refund.order_external_id} has not been received on {channel.code} yet"
            )
        delivery.order = order
        delivery.mark_processed(now, _refund_reconcile(order, refund, delivery, _actor(delivery)))
        return
    delivery.mark_ignored(now, f"topic {delivery.topic!r} is not one intake handles")


# --- orders ------------------------------------------------------------------


def _skus_ensure(channel: Channel, intake: OrderIntake) -> list[str]:
    """Unknown SKUs: created as unlisted catalogue entries, or the order is
    refused, per the channel's setting. Never dropped."""
    codes = [ln.sku for ln in intake.data.lines]
    known = set(SKU.objects.filter(code__in=codes).values_list("code", flat=True))
    missing = [c for c in dict.fromkeys(codes) if c not in known]
    if not missing:
        return []
    if channel.unknown_sku != Channel.UnknownSku.CREATE:
        i = codes.index(missing[0])
        raise ApplicationError(
            f"line_items[{i}].sku: unknown SKU {missing[0]!r}; channel {channel.code} rejects "
            "unknown SKUs (create it, or set the channel to create them, then replay).",
            code="unknown_sku",
            extra={"field": f"line_items[{i}].sku", "skus": missing},
        )
    for code in missing:
        info = intake.skus[code]
        sku_upsert(
            code=code,
            product=slugify(f"{channel.code}-{info.product}")[:100] or "unlisted",
            name=info.name,
            price=info.price,
            tax_rate=info.tax_rate,
            unlisted=True,
        )
    return missing


def _order_upsert(delivery: WebhookDelivery, channel: Channel, intake: OrderIntake) -> str:
    data = intake.data
    actor = _actor(delivery)
    order = Order.objects.filter(channel=channel, external_id=data.external_id).first()
    notes = []
    if order is None:
        if intake.hold_reason:
            return intake.hold_reason
        created_skus = _skus_ensure(channel, intake)
        order, created = order_create(data=data, actor=actor)
        if created:
            notes.append(f"created order {order.number}")
            if created_skus:
                notes.append(f"created unlisted SKU(s) {', '.join(created_skus)}")
                timeline_record(
                    order=order,
                    actor=actor,
                    event=Event(
                        "order",
                        order.number,
                        EventTypes.ORDER_UPDATED,
                        message=f"Unlisted SKU(s) created from {channel.code}: "
                        + ", ".join(created_skus),
                        payload={"skus": created_skus},
                    ),
                    source=delivery.platform,
                    external_id=delivery.delivery_id,
                )
    else:
        notes.append(f"order {order.number} already existed")
    delivery.order = order
    if not _stale(delivery):
        notes.extend(_contact_update(order, data.customer, actor, delivery))
    if intake.cancelled:
        notes.extend(_cancel_unshipped(order, actor, delivery))
    for refund in intake.refunds:
        notes.append(_refund_reconcile(order, refund, delivery, actor))
    return "; ".join(n for n in notes if n)


def _stale(delivery: WebhookDelivery) -> bool:
    """An update older than one already applied must not undo it."""
    if delivery.resource_updated_at is None:
        return False
    return (
        WebhookDelivery.objects.filter(
            channel=delivery.channel,
            resource_id=delivery.resource_id,
            state=DeliveryState.PROCESSED,
            resource_updated_at__gt=delivery.resource_updated_at,
        )
        .exclude(pk=delivery.pk)
        .exists()
    )


def _contact_update(order: Order, customer: dict, actor, delivery) -> list[str]:
    email = (customer.get("email") or "").strip().lower()
    phone = (customer.get("phone") or "").strip()
    changes = {}
    if email and email != order.email:
        changes["email"] = (order.email, email)
    if phone and phone != order.phone:
        changes["phone"] = (order.phone, phone)
    if not changes:
        return []
    Order.objects.filter(pk=order.pk).update(**{k: new for k, (_, new) in changes.items()})
    for k, (_, new) in changes.items():
        setattr(order, k, new)
    Customer.objects.filter(pk=order.customer_id).update(contact_changed_at=timezone.now())
    timeline_record(
        order=order,
        actor=actor,
        event=Event(
            "order",
            order.number,
            EventTypes.ORDER_UPDATED,
            message="Contact details changed on the storefront: " + ", ".join(changes),
            payload={k: {"from": old, "to": new} for k, (old, new) in changes.items()},
        ),
        source=delivery.platform,
        external_id=delivery.delivery_id,
    )
    return [f"contact updated ({', '.join(changes)})"]


def _cancel_unshipped(order: Order, actor, delivery) -> list[str]:
    """The platform cancelled the order: cancel the units not yet shipped and
    release their reservations. Shipped units are left alone (they come back
    through a return)."""
    units = units_lock(
        Unit.objects.filter(order=order, state__in=[UnitState.ORDERED, UnitState.ALLOCATED])
    )
    if not units:
        return []
    units_cancel_unshipped(
        units,
        reference=order.number,
        stock_reason="order_cancelled",
        actor=actor,
        message="cancelled on the storefront",
        source=delivery.platform,
        external_id=delivery.delivery_id,
    )
    left = Unit.objects.filter(
        order=order, state__in=[UnitState.ORDERED, UnitState.ALLOCATED, UnitState.SHIPPED]
    ).exists()
    if not left:
        for cod in Payment.objects.filter(
            order=order, method=PaymentMethod.COD, state=PaymentState.PENDING
        ):
            before = cod.state
            cod.void()
            cod.save()
            timeline_record(
                order=order,
                actor=actor,
                event=Event(
                    "payment",
                    cod.pk,
                    EventType.PAYMENT_TRANSITION,
                    before,
                    cod.state,
                    "Nothing to collect: cancelled on the storefront",
                ),
            )
    timeline_record(
        order=order,
        actor=actor,
        event=Event(
            "order",
            order.number,
            EventTypes.ORDER_CANCELLED,
            message=f"Cancelled on {delivery.platform}: {len(units)} unshipped unit(s) cancelled",
            payload={"units": [u.pk for u in units]},
        ),
        source=delivery.platform,
        external_id=delivery.delivery_id,
    )
    return [f"{len(units)} unit(s) cancelled"]


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
    not picked twice. Idempotent by refund id.
    """
    channel = delivery.channel
    if PlatformRefund.objects.filter(channel=channel, external_id=refund.external_id).exists():
        return f"refund {refund.external_id} already recorded"
    currency = refund.currency or order.currency
    if currency != order.currency:
        raise PayloadError("currency", f"refund in {currency}, order in {order.currency}")
    lines = {ln.external_id: ln for ln in Line.objects.filter(order=order).exclude(external_id="")}
    record = PlatformRefund.objects.create(
        channel=channel,
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
        free.sort(key=lambda u: u.index)
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


# --- dead letters --------------------------------------------------------------


def dead_letter_replay(*, delivery_id: int) -> WebhookDelivery:
    """Run a dead letter again from its stored body, after a fix. A delivery
    not settled yet (received, or failed and retrying) is queued again as it
    is: processing is idempotent, so this only helps one whose work was lost."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(f"Dead letter {delivery_id} does not exist.")
        if delivery.state in SETTLED_STATES and delivery.state != DeliveryState.DEAD:
            raise Conflict(
                f"Delivery {delivery_id} is {delivery.state}; only dead letters and deliveries "
                "not processed yet are replayed.",
                code="invalid_state",
                extra={"state": delivery.state},
            )
        if delivery.state == DeliveryState.DEAD:
            delivery.requeue()
            delivery.save()
        _enqueue(delivery.pk)
    return delivery
