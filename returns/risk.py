"""Risk score of a return, with readable reasons (DOMAIN.md, Risk guardrails).

The weights are policy fields (versioned, edited by ops in the admin); a
return worth more than the policy's review value limit waits for review
whatever its score."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import cache

from django.db import connection
from django.utils import timezone

from oms.dates import fmt
from oms.prepared import run_sql
from orders.models import Order

from .models import Return, ReturnPolicy
from .states import ReturnState, ReturnType

REPEAT_WINDOW_DAYS = 90
CONTACT_CHANGE_DAYS = 14


def return_risk(
    *,
    order: Order,
    policy: ReturnPolicy,
    units: list,
    serials: dict[int, str],
    previous: int | None = None,
) -> tuple[int, list[str]]:
    """The risk score and its reasons. ``previous``: the customer's recent
    returns when the caller counted them already (a creation's read of the
    order's units does), else counted here."""
    score = 0
    reasons: list[str] = []
    if previous is None:
        previous = recent_returns(order.customer_id)
    if previous >= 2:
        score += policy.risk_weight_repeat_returner
        reasons.append(
            f"Repeat partial returner: {previous} returns in the last {REPEAT_WINDOW_DAYS} days."
        )
    if order.grand_total >= policy.high_value_order:
        score += policy.risk_weight_high_order_value
        reasons.append(f"High order value: {order.grand_total} {order.currency}.")
    dear = [u for u in units if u.net_paid >= policy.high_value_item]
    if dear:
        score += policy.risk_weight_high_item_value
        reasons.append(
            f"High item value: {len(dear)} unit(s) at or above {policy.high_value_item}."
        )
    mismatched = [
        uid
        for uid, serial in serials.items()
        if serial and _unit_serial(units, uid) not in ("", serial)
    ]
    if mismatched:
        score += policy.risk_weight_serial_mismatch
        reasons.append(
            f"Serial number not the one shipped for unit(s) {', '.join(map(str, mismatched))}."
        )
    changed = order.customer.contact_changed_at
    if changed and changed >= timezone.now() - timedelta(days=CONTACT_CHANGE_DAYS):
        score += policy.risk_weight_contact_changed
        reasons.append(f"Contact details changed recently ({fmt(changed)}).")
    value = sum((u.net_paid for u in units), Decimal("0"))
    score = min(score, 100)
    if value > policy.review_value_limit:
        # Value alone sends a return to review (issue 12, leak 7).
        score = max(score, policy.risk_threshold)
        reasons.append(
            f"Return value {value} {order.currency} is above the review value limit "
            f"({policy.review_value_limit})."
        )
    return score, reasons


def recent_returns(customer_id: int) -> int:
    """The customer's returns of the last ``REPEAT_WINDOW_DAYS`` days, but
    cancelled, rejected and doorstep refusals. Counted with SQL: it runs on
    every return created, and compiling the queryset cost more than running
    it; prepared on the server, as planning it did too."""
    sql, params = recent_returns_sql()
    _n, rows = run_sql(
        sql, [customer_id, recent_returns_since(), *params], what="recent_returns", fetch=True
    )
    return rows[0][0]


def recent_returns_since() -> str:
    """Where the repeat-returner window starts, as the database compares it."""
    since = timezone.now() - timedelta(days=REPEAT_WINDOW_DAYS)
    return str(connection.ops.adapt_datetimefield_value(since))


@cache
def recent_returns_sql() -> tuple[str, list[str]]:
    """The count as SQL, its first two ``%s`` the customer and the window's
    start, and the fixed parameters that follow (the states and the type
    left out)."""
    ret, order = (connection.ops.quote_name(m._meta.db_table) for m in (Return, Order))
    sql = (
        f"SELECT COUNT(*) FROM {ret} r JOIN {order} o ON o.id = r.order_id "  # noqa: S608 - quoted table names, values bound
        "WHERE o.customer_id = %s AND r.created_at >= %s "
        "AND r.state NOT IN (%s, %s) AND r.type <> %s"
    )
    return sql, [
        ReturnState.CANCELLED.value,
        ReturnState.REJECTED.value,
        ReturnType.DOORSTEP_REFUSAL.value,
    ]


def _unit_serial(units: list, unit_id: int) -> str:
    for u in units:
        if u.pk == unit_id:
            return u.serial
    return ""
