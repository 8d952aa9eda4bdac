"""Reads for orders: one order with everything it shows, its derived status,
and the merged timeline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch

from oms.errors import NotFound
from oms.prepared import prepared

from .models import Line, Order, Payment, Shipment, TimelineEvent, Unit
from .states import OPEN_RETURN_STATES, PaymentMethod, PaymentState, UnitState

_REVERSE = OPEN_RETURN_STATES | {
    UnitState.REFUNDED,
    UnitState.REPLACED,
    UnitState.RETURN_REJECTED,
    UnitState.RETURNED_TO_CUSTOMER,
    UnitState.KEPT,
    UnitState.NOT_CHARGED,
}


def order_get(number: str, *, for_detail: bool = True) -> Order:
    qs = Order.objects.select_related("channel", "customer", "ship_from")
    if for_detail:
        qs = qs.prefetch_related(
            Prefetch("lines", queryset=Line.objects.select_related("sku").order_by("position")),
            Prefetch("units", queryset=Unit.objects.order_by("line_id", "index")),
            Prefetch("payments", queryset=Payment.objects.order_by("position")),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.order_by("pk").prefetch_related(
                    # state too: the FSM mixin reads it on load (a query per unit if deferred)
                    Prefetch("units", queryset=Unit.objects.only("pk", "shipment_id", "state"))
                ),
            ),
        )
    order = qs.filter(number=number).first()
    if order is None:
        raise NotFound(f"Order {number} does not exist.")
    return order


@dataclass(frozen=True)
class OrderDetail:
    """What the order body shows, read as rows: the order (only the fields the
    body and its ``returns`` / ``loyalty`` keys read, not ``raw``), and its
    lines, units, payments and shipments as dicts, each in the body's order.
    A shipment's units are the order's units that name it (a shipment carries
    units of its own order only), so they cost no query of their own."""

    order: Order
    lines: list[dict]
    units: list[dict]
    payments: list[dict]
    shipments: list[dict]


ORDER_DETAIL_FIELDS = (
    "number",
    "channel__code",
    "external_id",
    "customer__name",
    "email",
    "phone",
    "currency",
    "placed_at",
    "prices_include_tax",
    "items_total",
    "line_discount_total",
    "order_discount",
    "tax_total",
    "shipping_amount",
    "grand_total",
    "loyalty_earned",
    "loyalty_redeemed",
    "loyalty_rate",
)


# What ``timeline_values_body`` reads of each row (a ``values()`` query).
TIMELINE_BODY_FIELDS = (
    "id",
    "type",
    "entity",
    "entity_id",
    "from_state",
    "to_state",
    "actor_kind",
    "actor_label",
    "message",
    "payload",
    "occurred_at",
    "recorded_at",
)


@prepared
def _order_by_number(number):
    # number is unique: no ORDER BY (first() would sort by the model's
    # ordering, and an ORDER BY makes the compiler hash every joined column)
    return (
        Order.objects.select_related("channel", "customer")
        .only(*ORDER_DETAIL_FIELDS)
        .filter(number=number)
        .order_by()[:1]
    )


@prepared
def _order_lines(order_id):
    return (
        Line.objects.filter(order_id=order_id)
        .order_by("position")
        .values(
            "id",
            "position",
            "sku__code",
            "sku__name",
            "quantity",
            "unit_price",
            "tax_rate",
            "discount",
        )
    )


@prepared
def _order_units(order_id):
    return (
        Unit.objects.filter(order_id=order_id)
        .order_by("line_id", "index")
        .values(
            "id",
            "line_id",
            "state",
            "net_paid",
            "tax_amount",
            "discount_amount",
            "serial",
            "platform_refunded_at",
            "shipment_id",
        )
    )


@prepared
def _order_payments(order_id):
    return (
        Payment.objects.filter(order_id=order_id)
        .order_by("position")
        .values("id", "method", "amount", "captured_amount", "refunded_amount", "state")
    )


@prepared
def _order_shipments(order_id):
    return (
        Shipment.objects.filter(order_id=order_id)
        .order_by("pk")
        .values(
            "id",
            "kind",
            "state",
            "tracking_number",
            "shipped_at",
            "delivered_at",
            "cod_collected",
        )
    )


def order_detail(number: str) -> OrderDetail:
    """One order for its body in five statements, whatever its size, each
    compiled once per process (oms.prepared)."""
    found = _order_by_number(number)
    if not found:
        raise NotFound(f"Order {number} does not exist.")
    order = found[0]
    return OrderDetail(
        order,
        _order_lines(order.pk),
        _order_units(order.pk),
        _order_payments(order.pk),
        _order_shipments(order.pk),
    )


def order_units_by_line(order: Order) -> dict[int, list[Unit]]:
    out: dict[int, list[Unit]] = {}
    for unit in order.units.all():
        out.setdefault(unit.line_id, []).append(unit)
    return out


def order_status(units: list[Unit]) -> str:
    """The order's summary, derived from its units; never stored."""
    return order_status_of(u.state for u in units)


def order_status_of(unit_states: Iterable[str]) -> str:
    """``order_status`` from the units' states alone."""
    counts = Counter(unit_states)
    total = sum(counts.values())
    if not total or counts[UnitState.CANCELLED] == total:
        return "cancelled"
    live = total - counts[UnitState.CANCELLED]
    pending = counts[UnitState.ORDERED] + counts[UnitState.ALLOCATED]
    reversed_ = sum(counts[s] for s in _REVERSE) + counts[UnitState.REFUSED]
    open_returns = sum(counts[s] for s in OPEN_RETURN_STATES)
    if pending == live:
        return "unfulfilled"
    if pending:
        return "partially_fulfilled"
    if counts[UnitState.SHIPPED]:
        return "in_transit" if counts[UnitState.SHIPPED] == live else "partially_delivered"
    if open_returns:
        return "return_in_progress"
    if reversed_ == live:
        return "returned"
    if reversed_:
        return "partially_returned"
    return "delivered"


def payment_status(payments: list[Payment]) -> str:
    return payment_status_of([(p.method, p.state) for p in payments])


def payment_status_of(payments: list[tuple[str, str]]) -> str:
    """``payment_status`` from the payments' (method, state) pairs alone."""
    if not payments:
        return "unpaid"
    states = {state for _, state in payments}
    if any(m == PaymentMethod.COD and s == PaymentState.PENDING for m, s in payments):
        return "awaiting_cod"
    if states == {PaymentState.VOIDED}:
        return "voided"
    if states <= {PaymentState.REFUNDED, PaymentState.VOIDED}:
        return "refunded"
    if states & {PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED}:
        return "partially_refunded"
    if PaymentState.AUTHORISED in states:
        return "authorised"
    return "paid"


def order_timeline(order: Order):
    """Every event of the order, oldest first: order, unit, payment, shipment,
    return, refund, SLA and message events live in one table."""
    return (
        TimelineEvent.objects.filter(order=order)
        .select_related("actor_user")
        .order_by("occurred_at", "pk")
    )


def order_list(
    *,
    channel: str | None = None,
    external_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
):
    qs = Order.objects.select_related("channel", "customer").order_by("-placed_at", "-pk")
    if channel:
        qs = qs.filter(channel__code=channel)
    if external_id:
        qs = qs.filter(external_id=external_id)
    if email:
        qs = qs.filter(email__iexact=email)
    if phone:
        qs = qs.filter(phone=phone)
    return qs


def order_get_by_number(number: str) -> Order:
    order = Order.objects.filter(number=number).first()
    if order is None:
        raise NotFound(f"Order {number} does not exist.")
    return order
