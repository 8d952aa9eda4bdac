"""Risk score of a return, with readable reasons (DOMAIN.md, Risk guardrails)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from oms.dates import fmt
from orders.models import Order

from .models import Return, ReturnPolicy
from .states import ReturnState

REPEAT_WINDOW_DAYS = 90
CONTACT_CHANGE_DAYS = 14


def return_risk(
    *, order: Order, policy: ReturnPolicy, units: list, serials: dict[int, str]
) -> tuple[int, list[str]]:
    score = 0
    reasons: list[str] = []
    since = timezone.now() - timedelta(days=REPEAT_WINDOW_DAYS)
    previous = (
        Return.objects.filter(order__customer_id=order.customer_id, created_at__gte=since)
        .exclude(state__in=[ReturnState.CANCELLED, ReturnState.REJECTED])
        .exclude(type="doorstep_refusal")
        .count()
    )
    if previous >= 2:
        score += 35
        reasons.append(
            f"Repeat partial returner: {previous} returns in the last {REPEAT_WINDOW_DAYS} days."
        )
    if order.grand_total >= policy.high_value_order:
        score += 20
        reasons.append(f"High order value: {order.grand_total} {order.currency}.")
    dear = [u for u in units if u.net_paid >= policy.high_value_item]
    if dear:
        score += 25
        reasons.append(
            f"High item value: {len(dear)} unit(s) at or above {policy.high_value_item}."
        )
    mismatched = [
        uid
        for uid, serial in serials.items()
        if serial and _unit_serial(units, uid) not in ("", serial)
    ]
    if mismatched:
        score += 50
        reasons.append(
            f"Serial number not the one shipped for unit(s) {', '.join(map(str, mismatched))}."
        )
    changed = order.customer.contact_changed_at
    if changed and changed >= timezone.now() - timedelta(days=CONTACT_CHANGE_DAYS):
        score += 25
        reasons.append(f"Contact details changed recently ({fmt(changed)}).")
    return min(score, 100), reasons


def _unit_serial(units: list, unit_id: int) -> str:
    for u in units:
        if u.pk == unit_id:
            return u.serial
    return ""
