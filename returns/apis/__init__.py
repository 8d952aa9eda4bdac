"""Returns API: ``create`` (returnable, quote, create, list), ``detail`` (the
return's body) and ``actions`` (events, review). The URLconf and other apps
import the views from here."""

from .actions import (
    EVENT_PERMISSIONS,
    ReturnApproveApi,
    ReturnEventApi,
    ReturnRejectApi,
    ReviewInput,
)
from .create import (
    BreakdownOutput,
    ItemInput,
    PayoutInput,
    QuoteApi,
    ReturnableApi,
    ReturnCreateApi,
    ReturnInput,
)
from .detail import ReturnDetailApi, ReturnOutput, ReturnUnitOutput, return_payload

__all__ = [
    "EVENT_PERMISSIONS",
    "BreakdownOutput",
    "ItemInput",
    "PayoutInput",
    "QuoteApi",
    "ReturnApproveApi",
    "ReturnCreateApi",
    "ReturnDetailApi",
    "ReturnEventApi",
    "ReturnInput",
    "ReturnOutput",
    "ReturnRejectApi",
    "ReturnUnitOutput",
    "ReturnableApi",
    "ReviewInput",
    "return_payload",
]
