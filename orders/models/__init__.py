from .customers import Customer
from .ledger import LedgerEntry, Payment
from .orders import Channel, Line, Order
from .outbox import OutboundMessage, ProcessedEvent
from .shipments import Shipment
from .timeline import ContactLog, TimelineEvent
from .units import Unit

__all__ = [
    "Channel",
    "ContactLog",
    "Customer",
    "LedgerEntry",
    "Line",
    "Order",
    "OutboundMessage",
    "Payment",
    "ProcessedEvent",
    "Shipment",
    "TimelineEvent",
    "Unit",
]
