"""Writes for returns. Split by concern: creating (eligibility, pricing, risk),
handling events (the only way units move back), and shared helpers.

These are the returns-only steps. The use cases that also involve quality,
refunds and sla (create, events, review) are in ``flows``."""

from .common import (
    policy_current,
    return_close,
    return_get_for_update,
    return_items,
    return_lock,
    return_settled,
)
from .courier import (
    return_courier_note,
    return_pickup_booked,
    return_pickup_not_booked,
    return_pickup_requested,
    return_pickup_unserviceable,
    return_shipment_booked,
)
from .create import (
    keep_units_on_approval,
    return_create_from_plan,
    return_created_notify,
    return_unit_conflict,
)
from .events import (
    QcResult,
    ReturnEventData,
    return_event_actor,
    return_event_claim,
    return_event_handle,
    return_pickup_failed_many,
)
from .payout import return_payout_details_set
from .plan import (
    ItemRequest,
    Plan,
    PlanDraft,
    ReturnRequest,
    quote_from_plan,
    return_plan_finish,
    return_plan_units,
    sku_is_returnable,
    window_ends_at,
)
from .refusal import doorstep_refusal_create, return_estimate_record
from .review import return_approved_notify, return_review_approve, return_review_reject

__all__ = [
    "ItemRequest",
    "Plan",
    "PlanDraft",
    "QcResult",
    "ReturnEventData",
    "ReturnRequest",
    "doorstep_refusal_create",
    "keep_units_on_approval",
    "policy_current",
    "quote_from_plan",
    "return_approved_notify",
    "return_close",
    "return_courier_note",
    "return_create_from_plan",
    "return_created_notify",
    "return_estimate_record",
    "return_event_actor",
    "return_event_claim",
    "return_event_handle",
    "return_get_for_update",
    "return_items",
    "return_lock",
    "return_payout_details_set",
    "return_pickup_booked",
    "return_pickup_failed_many",
    "return_pickup_not_booked",
    "return_pickup_requested",
    "return_pickup_unserviceable",
    "return_plan_finish",
    "return_plan_units",
    "return_review_approve",
    "return_review_reject",
    "return_settled",
    "return_shipment_booked",
    "return_unit_conflict",
    "sku_is_returnable",
    "window_ends_at",
]
