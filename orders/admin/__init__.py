"""Admin for orders: a read-only window onto what the API and the services
wrote.

Orders enter through the API, and units, payments and shipments move only
through services that write a timeline row in the same transaction. So none of
them can be added, changed or deleted here, and their state fields are never
form fields. Channels are the one editable table (ops settings); customers may
only have their name corrected.
"""

from . import channels, orders, records
from .channels import ChannelAdmin, ChannelForm, CustomerAdmin

__all__ = ["ChannelAdmin", "ChannelForm", "CustomerAdmin", "channels", "orders", "records"]
