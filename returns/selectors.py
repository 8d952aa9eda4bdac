"""Reads for returns: what is returnable, one return with everything it shows."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone

from oms.dates import fmt
from oms.errors import NotFound
from orders.models import Order, Unit
from orders.states import OPEN_RETURN_STATES, UnitState

from .models import Return, ReturnItem
from .services import policy_current, sku_is_returnable, window_ends_at


def order_returnable(order: Order) -> list[dict]:
    """Per line: how many units can be returned now, until when, and why the
    others cannot."""
    policy = policy_current()
    now = timezone.now()
    units = list(
        Unit.objects.filter(order=order, line__replacement_for__isnull=True)
        .select_related("sku", "line")
        .order_by("line_id", "index")
    )
    lines: dict[int, dict] = {}
    for unit in units:
        entry = lines.setdefault(
            unit.line_id,
            {
                "line": unit.line_id,
                "sku": unit.sku.code,
                "name": unit.sku.name,
                "quantity": unit.line.quantity,
                "returnable_quantity": 0,
                "returnable_units": [],
                "window_ends_at": None,
                "reasons": [],
            },
        )
        ends = window_ends_at(unit, policy)
        if ends and (entry["window_ends_at"] is None or ends > entry["window_ends_at"]):
            entry["window_ends_at"] = ends
        why = None
        if unit.state in OPEN_RETURN_STATES:
            why = f"unit {unit.pk} is already in an open return"
        elif unit.state != UnitState.DELIVERED:
            why = f"unit {unit.pk} is {unit.get_state_display().lower()}"
        elif not sku_is_returnable(unit.sku, policy):
            why = f"unit {unit.pk}: {unit.sku.code} is not returnable (defects are still accepted under warranty)"
        elif ends is not None and ends < now:
            why = f"unit {unit.pk}: the return window closed on {fmt(ends)}"
        if why:
            entry["reasons"].append(why)
        else:
            entry["returnable_quantity"] += 1
            entry["returnable_units"].append(unit.pk)
    return list(lines.values())


def order_returns(order: Order) -> list[dict]:
    """The order body's ``returns`` key."""
    return [
        {"rma": r.rma, "type": r.type, "state": r.state}
        for r in order.returns.order_by("created_at", "pk")
    ]


def return_get(rma: str) -> Return:
    ret = (
        Return.objects.select_related("order", "policy", "location", "reviewed_by")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=ReturnItem.objects.select_related(
                    "unit__sku", "reason", "exchange_sku", "replacement_unit"
                ).order_by("pk"),
            )
        )
        .filter(rma=rma)
        .first()
    )
    if ret is None:
        raise NotFound(f"Return {rma} does not exist.")
    return ret


def return_list(*, state: str | None = None, order: str | None = None):
    qs = Return.objects.select_related("order").order_by("-created_at", "-pk")
    if state:
        qs = qs.filter(state=state)
    if order:
        qs = qs.filter(order__number=order)
    return qs
