"""Writes for returns. Split by concern: creating (eligibility, pricing, risk),
handling events (the only way units move back), and shared helpers."""

from .common import (
    OPEN_MONEY_CHECKS,
    RETURN_ITEM_VALIDATORS,
    RETURN_REACTIONS,
    after_change,
    policy_current,
)
from .create import (
    ItemRequest,
    ReturnRequest,
    doorstep_refusal_create,
    return_create,
    return_plan,
    return_quote,
    sku_is_returnable,
    tenders_in_policy_order,
    window_ends_at,
)
from .handle import QcResult, ReturnEventData, return_approve, return_handle_event, return_reject

__all__ = [
    "OPEN_MONEY_CHECKS",
    "RETURN_ITEM_VALIDATORS",
    "RETURN_REACTIONS",
    "ItemRequest",
    "QcResult",
    "ReturnEventData",
    "ReturnRequest",
    "after_change",
    "doorstep_refusal_create",
    "policy_current",
    "return_approve",
    "return_create",
    "return_handle_event",
    "return_plan",
    "return_quote",
    "return_reject",
    "sku_is_returnable",
    "tenders_in_policy_order",
    "window_ends_at",
]
