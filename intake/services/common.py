"""What the intake modules share: platforms, topics, event types, retry errors."""

from __future__ import annotations

from decimal import Decimal

from orders.states import UnitState

from ..adapters import shopify, woocommerce

ZERO = Decimal("0")
# Units our own flow already settled; "not_charged" is the cash-on-delivery
# refusal that was never paid.
_ALREADY_REFUNDED = [UnitState.REFUNDED, UnitState.KEPT, "not_charged"]
PLATFORMS = {shopify.PLATFORM: shopify, woocommerce.PLATFORM: woocommerce}
# Couriers whose tracking webhooks are stored as deliveries without a channel.
COURIER_PLATFORMS = {"shiprocket"}
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
