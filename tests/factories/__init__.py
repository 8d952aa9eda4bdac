"""factory-boy factories. Orders come from the ``make_order`` fixture instead."""

from .inventory import LocationFactory, ProductFactory, SKUFactory
from .orders import ChannelFactory, CustomerFactory

__all__ = [
    "ChannelFactory",
    "CustomerFactory",
    "LocationFactory",
    "ProductFactory",
    "SKUFactory",
]
