"""Channel intake: accept fast, process after.

``delivery_accept`` verifies nothing itself (the API checks the signature
first) and only stores the body and queues the work, so a storefront gets its
202 quickly. ``delivery_process`` turns the stored body into our order through
``orders.services.order_create``, reconciles updates and platform refunds, and
settles the delivery: processed, ignored (nothing to apply), failed (will
retry) or dead (needs a fix, then ``dead_letter_replay``).

- ``channels``: ``channel_upsert``
- ``deliveries``: ``delivery_accept``, ``delivery_process``, ``dead_letter_replay``
- ``apply``: one delivery applied to an order (create, update, cancel)
- ``platform_refunds``: refunds the storefront made, reconciled
- ``common``: platforms, topics, event types and the retry errors
"""

from .channels import channel_upsert
from .common import (
    ORDER_TOPICS,
    PLATFORMS,
    REFUND_TOPICS,
    EventTypes,
    OrderNotYetReceived,
    RetryLater,
)
from .deliveries import (
    DELIVERY_ID_MAX,
    courier_delivery_accept,
    dead_letter_replay,
    delivery_accept,
    delivery_process,
)

__all__ = [
    "DELIVERY_ID_MAX",
    "ORDER_TOPICS",
    "PLATFORMS",
    "REFUND_TOPICS",
    "EventTypes",
    "OrderNotYetReceived",
    "RetryLater",
    "channel_upsert",
    "courier_delivery_accept",
    "dead_letter_replay",
    "delivery_accept",
    "delivery_process",
]
