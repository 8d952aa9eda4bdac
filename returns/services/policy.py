"""Return policies are versioned: a change is a new version, and past returns
keep the version they were decided under."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from ..models import ReturnPolicy

POLICY_FIELDS = [
    "name",
    "window_days",
    "exchange_window_days",
    "non_returnable_skus",
    "non_returnable_categories",
    "restocking_fee",
    "return_shipping_fee",
    "refund_methods",
    "tender_order",
    "keep_it_max_value",
    "instant_refund_max",
    "qc_auto_pass_max",
    "exchange_dispatch_before_receipt",
    "risk_threshold",
    "high_value_order",
    "high_value_item",
    "review_value_limit",
    "risk_weight_repeat_returner",
    "risk_weight_high_order_value",
    "risk_weight_high_item_value",
    "risk_weight_serial_mismatch",
    "risk_weight_contact_changed",
    "max_pickup_attempts",
    "sla_hours",
    "partial_credit_percent",
    "defect_auto_outcome",
    "store_credit_validity_days",
    "self_ship_allowed",
    "store_drop_allowed",
]


def policy_version_create(
    *, base: ReturnPolicy | None, data: dict[str, Any], actor: Any
) -> ReturnPolicy:
    """Save the next policy version: ``base``'s settings (if any) overridden by
    ``data``. ``actor`` is the user (or an ``EventActor``) who made it. The
    SLA rules are copied by the caller (``flows.policy``)."""
    unknown = set(data) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"not policy settings: {sorted(unknown)}")
    values = {f: getattr(base, f) for f in POLICY_FIELDS} if base is not None else {}
    values |= data
    with transaction.atomic():
        version = (
            ReturnPolicy.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
        ) + 1
        return ReturnPolicy.objects.create(
            version=version, created_by=getattr(actor, "user", actor), **values
        )
