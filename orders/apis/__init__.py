"""Order API: intake, read, timeline, shipments, delivery, cancellation."""

from oms.errors import ERRORS

from .cancel import OrderCancelApi
from .orders import (
    MONEY,
    LineOutput,
    OrderCreateApi,
    OrderDetailApi,
    OrderOutput,
    OrderTimelineApi,
    PaymentOutput,
    ShipmentOutput,
    UnitOutput,
    order_body,
    order_payload,
    timeline_body,
    timeline_values_body,
)
from .shipments import ShipmentCreateApi, ShipmentDeliveredApi

__all__ = [
    "ERRORS",
    "MONEY",
    "LineOutput",
    "OrderCancelApi",
    "OrderCreateApi",
    "OrderDetailApi",
    "OrderOutput",
    "OrderTimelineApi",
    "PaymentOutput",
    "ShipmentCreateApi",
    "ShipmentDeliveredApi",
    "ShipmentOutput",
    "UnitOutput",
    "order_body",
    "order_payload",
    "timeline_body",
    "timeline_values_body",
]
