"""Applying one storefront delivery: order create or update, contact, cancellation."""

from __future__ import annotations

from django.utils import timezone
from django.utils.text import slugify

from flows.orders import order_take_in
from inventory.models import SKU
from inventory.services import sku_upsert
from oms.errors import ApplicationError
from orders.events import Event, EventActor, EventType, timeline_record
from orders.models import Channel, Customer, Order, Payment, Unit
from orders.services import (
    units_cancel_unshipped,
    units_lock,
)
from orders.states import PaymentMethod, PaymentState, UnitState

from ..adapters import OrderIntake, PayloadError, parse_body
from ..models import WebhookDelivery
from ..states import DeliveryState
from .common import (
    COURIER_PLATFORMS,
    ORDER_TOPICS,
    PLATFORMS,
    REFUND_TOPICS,
    EventTypes,
    OrderNotYetReceived,
    RetryLater,
)
from .platform_refunds import _refund_reconcile


def _actor(delivery: WebhookDelivery) -> EventActor:
    return EventActor.system(f"{delivery.platform} webhook {delivery.delivery_id}"[:150])


def _apply(delivery: WebhookDelivery) -> None:
    now = timezone.now()
    if delivery.channel_id is None:
        _apply_courier(delivery, now)
        return
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


def _apply_courier(delivery: WebhookDelivery, now) -> None:
    """A courier's tracking update: ``flows.couriers.tracking_apply`` turns it
    into return events. An AWB not recorded yet is retried, then dead-lettered."""
    from flows.courier_tracking import TrackingNotYetKnown, tracking_apply

    if delivery.platform not in COURIER_PLATFORMS:
        raise PayloadError("platform", f"{delivery.platform!r} is not a courier")
    payload = parse_body(bytes(delivery.body))
    if isinstance(payload, dict):
        delivery.resource_id = str(payload.get("awb") or "")[:100]
    try:
        outcome = tracking_apply(
            courier=delivery.platform, payload=payload, delivery_key=delivery.delivery_id
        )
    except TrackingNotYetKnown as exc:
        raise RetryLater(str(exc)) from exc
    delivery.mark_processed(now, f"tracking {delivery.topic}: {outcome}")


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
        order, created = order_take_in(data=data, actor=actor)
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
