"""Reads for returns: what is returnable, one return with everything it shows."""

from __future__ import annotations

from django.db.models import Prefetch, Q
from django.utils import timezone

from inventory.models import SKU
from inventory.selectors import stock_available
from inventory.services import location_default
from oms.dates import fmt
from oms.errors import NotFound
from oms.prepared import prepared
from orders.models import Order, TimelineEvent, Unit
from orders.states import OPEN_RETURN_STATES, UnitState

from .models import Return, ReturnItem
from .services import policy_current, return_items, sku_is_returnable, window_ends_at
from .services.eligibility import unit_never_returnable


def return_items_read(return_request: Return, *, related: tuple[str, ...] = ()) -> list[ReturnItem]:
    """The return's items in primary-key order with their units, reasons and
    exchange SKUs (and ``related``), not locked: ``returns.services.return_items``
    (compiled once) for the apps that read returns through selectors."""
    return return_items(return_request, related=related)


def order_returnable(order: Order) -> list[dict]:
    """Per line: how many units can be returned now, until when, and why the
    others cannot."""
    policy = policy_current()
    now = timezone.now()
    units = list(
        Unit.objects.filter(order=order, line__replacement_for__isnull=True)
        .select_related("sku", "line", "line__replacement_for")
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
        elif never := unit_never_returnable(unit):
            why = never[1]
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


@prepared
def _order_returns(order_id):
    return (
        Return.objects.filter(order_id=order_id)
        .order_by("created_at", "pk")
        .values("rma", "type", "state")
    )


def order_returns(order: Order) -> list[dict]:
    """The order body's ``returns`` key."""
    return _order_returns(order.pk)


def return_get(rma: str) -> Return:
    return_request = (
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
    if return_request is None:
        raise NotFound(f"Return {rma} does not exist.")
    return return_request


RETURN_DETAIL_FIELDS = (
    "rma",
    "order_id",
    "order__number",
    "type",
    "is_full_return",
    "state",
    "policy__version",
    "refund_method",
    "channel",
    "location__code",
    "pickup_attempts",
    "courier",
    "pickup_status",
    "awb",
    "courier_name",
    "pickup_scheduled_at",
    "pickup_error",
    "risk_score",
    "risk_reasons",
    "estimate",
    "created_at",
)


def return_get_for_detail(rma: str) -> Return:
    """The return with only what its body reads: not the order's raw payload,
    the policy's rules or the encrypted payout details (its items are read
    by the caller, with what the body shows of them)."""
    # rma is unique: no ORDER BY (first() would sort by the model's ordering,
    # and an ORDER BY makes the compiler hash every joined column)
    found = list(
        Return.objects.select_related("order", "policy", "location")
        .only(*RETURN_DETAIL_FIELDS)
        .filter(rma=rma)
        .order_by()[:1]
    )
    if not found:
        raise NotFound(f"Return {rma} does not exist.")
    return found[0]


def return_list(*, state: str | None = None, order: str | None = None):
    qs = Return.objects.select_related("order").order_by("-created_at", "-pk")
    if state:
        qs = qs.filter(state=state)
    if order:
        qs = qs.filter(order__number=order)
    return qs


def return_timeline(return_request: Return, refund_ids: list[int]):
    """The order's timeline rows about this return and its refunds (the ids
    given: returns does not read refunds), oldest first."""
    return TimelineEvent.objects.filter(
        Q(order_id=return_request.order_id)
        & (
            Q(entity="return", entity_id=return_request.rma)
            | Q(payload__rma=return_request.rma)
            | Q(entity="refund", entity_id__in=[str(pk) for pk in refund_ids])
        )
    ).order_by("occurred_at", "pk")


def exchange_variants(order: Order, units: list[Unit]) -> dict[int, list[tuple[str, str, int]]]:
    """unit id → [(sku code, label, sellable stock where exchanges are reserved)]."""
    location = order.ship_from or location_default()
    out: dict[int, list[tuple[str, str, int]]] = {}
    cache: dict[int, list] = {}
    for unit in units:
        product = unit.sku.product_id
        if product not in cache:
            cache[product] = list(SKU.objects.filter(product_id=product).order_by("price", "code"))
        out[unit.pk] = [
            (
                sku.code,
                _variant_label(sku),
                stock_available(sku_id=sku.pk, location_id=location.pk if location else None),
            )
            for sku in cache[product]
            if sku.pk != unit.sku_id
        ]
    return out


def _variant_label(sku: SKU) -> str:
    attrs = ", ".join(str(v) for v in (sku.attributes or {}).values() if v)
    return f"{sku.name}" if not attrs or attrs in sku.name else f"{sku.name} ({attrs})"


def refund_methods_for(order: Order) -> list[str]:
    """The refund methods the current policy allows for the order's payments."""
    return policy_current().allowed_refund_methods([p.method for p in order.payments.all()])
