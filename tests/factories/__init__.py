"""factory-boy factories. Orders, returns, refunds and SLA legs are made
through the services (see each module's docstring), never by writing rows."""

from .inventory import LocationFactory, ProductFactory, SKUFactory
from .orders import ChannelFactory, CustomerFactory
from .refunds import RefundFactory
from .returns import DeliveredOrderFactory, ReturnFactory
from .sla import LegFactory

__all__ = [
    "ChannelFactory",
    "CustomerFactory",
    "DeliveredOrderFactory",
    "LegFactory",
    "LocationFactory",
    "ProductFactory",
    "RefundFactory",
    "ReturnFactory",
    "SKUFactory",
]
