"""Writes for orders, one module per capability.

- ``units``: ``units_transition`` (the helper every app uses to move units),
  ``units_lock``, ``units_cancel_unshipped``, ``event_claim``, ``new_reference``
- ``locks``: ``order_lock``, the one lock order for a change to an order
- ``intake``: ``order_create`` and the stock it reserves
- ``fulfilment``: ``shipment_create``, ``shipment_send_back`` (failed QC)
- ``delivery``: ``shipment_deliver`` and cash on delivery
- ``payments``: ``payment_refund_record``
- ``cancellation``: ``order_cancel_units``
- ``outbox``: ``outbound_messages_retry``

Every public name is importable from ``orders.services``.
"""

from ..selectors import order_get_by_number
from .cancellation import CANCELLABLE, TO_DELIVER, ZERO, Cancellation, order_cancel_units
from .delivery import DeliveryResult, shipment_deliver
from .fulfilment import (
    DELIVERY_CLOCK_SKEW,
    shipment_create,
    shipment_send_back,
    shipment_tracking_set,
)
from .intake import LineData, OrderData, PaymentData, order_create
from .locks import order_lock
from .outbox import outbound_messages_retry
from .payments import payment_refund_record
from .units import (
    event_claim,
    event_claim_many,
    new_reference,
    units_cancel_unshipped,
    units_lock,
    units_transition,
)

__all__ = [
    "CANCELLABLE",
    "DELIVERY_CLOCK_SKEW",
    "TO_DELIVER",
    "ZERO",
    "Cancellation",
    "DeliveryResult",
    "LineData",
    "OrderData",
    "PaymentData",
    "event_claim",
    "event_claim_many",
    "new_reference",
    "order_cancel_units",
    "order_create",
    "order_get_by_number",
    "order_lock",
    "outbound_messages_retry",
    "payment_refund_record",
    "shipment_create",
    "shipment_deliver",
    "shipment_send_back",
    "shipment_tracking_set",
    "units_cancel_unshipped",
    "units_lock",
    "units_transition",
]
