"""Order intake: create an order from channel data and reserve its stock."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import SKU, Location
from inventory.services import InsufficientStock, Move, stock_move_many
from inventory.services import location_default as inventory_location_default
from inventory.states import Bucket
from oms.errors import ApplicationError
from oms.money import is_known_currency

from ..allocation import Allocation, AllocationError, LineInput, allocate_order
from ..events import Event, EventActor, EventType, timeline_record
from ..loyalty import LoyaltyData, loyalty_check, loyalty_split
from ..models import (
    Channel,
    Customer,
    LedgerEntry,
    Line,
    Order,
    Payment,
    Unit,
)
from ..states import PaymentMethod, PaymentState
from .units import new_reference, units_transition

# --- intake ------------------------------------------------------------------


@dataclass
class LineData:
    sku: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")
    external_id: str = ""
    # Tax charged on the whole line after discounts, as the channel states it.
    # None: each unit's tax is computed from tax_rate (orders.allocation).
    tax: Decimal | None = None


@dataclass
class PaymentData:
    method: str
    amount: Decimal
    gateway: str = ""
    reference: str = ""
    state: str | None = None


@dataclass
class OrderData:
    channel: str
    external_id: str
    currency: str
    placed_at: datetime
    lines: list[LineData]
    payments: list[PaymentData]
    customer: dict = field(default_factory=dict)
    prices_include_tax: bool = True
    order_discount: Decimal = Decimal("0")
    shipping: Decimal = Decimal("0")
    ship_from: str | None = None
    raw: dict = field(default_factory=dict)
    loyalty: LoyaltyData | None = None


def _customer_for(data: dict) -> Customer:
    """The order's customer: matched by email (any case) when the order has
    one, by phone only when it has none, else a new customer. An order never
    rewrites a customer's stored email or phone: a phone is no proof of owning
    an account, and taking over the email would hand the portal to whoever
    placed the order. A different phone only marks ``contact_changed_at`` (a
    risk signal)."""
    email = (data.get("email") or "").strip().lower()
    phone = (data.get("phone") or "").strip()
    name = (data.get("name") or "").strip()
    customer = None
    if email:
        customer = Customer.objects.filter(email__iexact=email).order_by("pk").first()
    elif phone:
        customer = Customer.objects.filter(phone=phone).order_by("pk").first()
    if customer is None:
        return Customer.objects.create(email=email, phone=phone, name=name)
    changed = []
    if phone and customer.phone and customer.phone != phone:
        customer.contact_changed_at = timezone.now()
        changed.append("contact_changed_at")
    if name and customer.name != name:
        customer.name = name
        changed.append("name")
    if changed:
        customer.save(update_fields=changed)
    return customer


def order_create(*, data: OrderData, actor: EventActor) -> tuple[Order, bool]:
    """Create an order, or return the existing one for the same channel and
    external id (``created`` False). All or nothing."""
    channel = Channel.objects.filter(code=data.channel).first()
    if channel is None:
        raise ApplicationError(
            f"channel: unknown channel {data.channel!r}.",
            code="unknown_channel",
            extra={"field": "channel"},
        )
    existing = Order.objects.filter(channel=channel, external_id=data.external_id).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            return _order_create(channel, data, actor), True
    except IntegrityError:
        existing = Order.objects.filter(channel=channel, external_id=data.external_id).first()
        if existing is None:
            raise
        return existing, False


def _order_create(channel: Channel, data: OrderData, actor: EventActor) -> Order:
    skus, location = _order_validate(data)
    points_tender = loyalty_check(data.loyalty, data.currency, data.payments)
    if points_tender:
        tender = PaymentData(method=PaymentMethod.LOYALTY_POINTS, amount=points_tender)
        data = replace(data, payments=[*data.payments, tender])
    alloc, grand_total = _order_amounts(data)
    customer = _customer_for(data.customer)
    order = Order.objects.create(
        number=new_reference("OD"),
        channel=channel,
        external_id=data.external_id,
        customer=customer,
        # The order's own contact (the courier calls this phone); the
        # customer's stored contact stays as it was.
        email=(data.customer.get("email") or "").strip().lower() or customer.email,
        phone=(data.customer.get("phone") or "").strip() or customer.phone,
        currency=data.currency,
        placed_at=data.placed_at,
        prices_include_tax=data.prices_include_tax,
        items_total=alloc.items_total,
        line_discount_total=alloc.line_discount_total,
        order_discount=data.order_discount,
        tax_total=alloc.tax_total,
        shipping_amount=data.shipping,
        grand_total=grand_total,
        ship_from=location,
        raw=data.raw,
        loyalty_earned=data.loyalty.earned if data.loyalty else 0,
        loyalty_redeemed=data.loyalty.redeemed if data.loyalty else 0,
        loyalty_rate=data.loyalty.points_per_unit_currency if data.loyalty else None,
    )
    units, payments = _order_rows(order, data, skus, alloc)
    timeline_record(
        order=order,
        actor=actor,
        occurred_at=data.placed_at,
        event=Event(
            "order",
            order.number,
            EventType.ORDER_CREATED,
            "",
            "placed",
            f"Order placed on {channel.code}: {len(units)} unit(s), total {grand_total} {order.currency}",
            {
                "external_id": data.external_id,
                "payments": [
                    {"method": p.method, "amount": str(p.amount), "state": p.state}
                    for p in payments
                ],
            },
        ),
    )
    units_reserve(order, units, location or inventory_location_default(), actor)
    return order


def _order_validate(data: OrderData) -> tuple[dict[str, SKU], Location | None]:
    """Currency, lines, SKUs, quantities and the ship-from location: each a
    400 naming its field."""
    if not is_known_currency(data.currency):
        raise ApplicationError(
            f"currency: unknown currency {data.currency!r}.",
            code="unknown_currency",
            extra={"field": "currency"},
        )
    if not data.lines:
        raise ApplicationError("lines: an order needs at least one line.", extra={"field": "lines"})
    units_total = sum(max(ln.quantity, 0) for ln in data.lines)
    if units_total > settings.OMS_MAX_UNITS_PER_ORDER:
        raise ApplicationError(
            f"lines: {units_total} units; an order holds at most "
            f"{settings.OMS_MAX_UNITS_PER_ORDER} (OMS_MAX_UNITS_PER_ORDER).",
            code="too_many_units",
            extra={
                "field": "lines",
                "units": units_total,
                "max": settings.OMS_MAX_UNITS_PER_ORDER,
            },
        )
    skus = SKU.objects.in_bulk([ln.sku for ln in data.lines], field_name="code")
    for i, ln in enumerate(data.lines):
        if ln.sku not in skus:
            raise ApplicationError(
                f"lines[{i}].sku: unknown SKU {ln.sku!r}.",
                code="unknown_sku",
                extra={"field": f"lines[{i}].sku"},
            )
        if ln.quantity <= 0:
            raise ApplicationError(
                f"lines[{i}].quantity: must be positive.", extra={"field": f"lines[{i}].quantity"}
            )
    location = None
    if data.ship_from:
        location = Location.objects.filter(code=data.ship_from).first()
        if location is None:
            raise ApplicationError(
                f"ship_from: unknown location {data.ship_from!r}.", extra={"field": "ship_from"}
            )
    return skus, location


def _order_amounts(data: OrderData) -> tuple[Allocation, Decimal]:
    """The per-unit allocation and the grand total, which the payments must
    add up to."""
    try:
        alloc = allocate_order(
            currency=data.currency,
            prices_include_tax=data.prices_include_tax,
            lines=[
                LineInput(ln.unit_price, ln.quantity, ln.tax_rate, ln.discount, ln.tax)
                for ln in data.lines
            ],
            order_discount=data.order_discount,
        )
    except AllocationError as exc:
        raise ApplicationError(str(exc), extra={"field": exc.field}) from exc
    except ValueError as exc:
        raise ApplicationError(f"amounts: {exc}", extra={"field": "amounts"}) from exc
    grand_total = alloc.items_total + data.shipping
    paid = sum((p.amount for p in data.payments), Decimal("0"))
    if paid != grand_total:
        raise ApplicationError(
            f"payments: add up to {paid} but the order total is {grand_total} "
            f"(items {alloc.items_total} + shipping {data.shipping}).",
            code="payments_mismatch",
            extra={
                "field": "payments",
                "order_total": str(grand_total),
                "payments_total": str(paid),
            },
        )
    return alloc, grand_total


def _order_rows(
    order: Order, data: OrderData, skus: dict[str, SKU], alloc: Allocation
) -> tuple[list[Unit], list[Payment]]:
    """The order's lines, units, payments and capture ledger rows."""
    lines = Line.objects.bulk_create(
        [
            Line(
                order=order,
                position=i + 1,
                sku=skus[ln.sku],
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                tax_rate=ln.tax_rate,
                discount=ln.discount,
                external_id=ln.external_id,
            )
            for i, ln in enumerate(data.lines)
        ]
    )
    units = [
        Unit(
            order=order,
            line=line,
            sku_id=line.sku_id,
            index=j + 1,
            net_paid=amounts.net_paid,
            tax_amount=amounts.tax,
            discount_amount=amounts.discount,
        )
        for line, line_units in zip(lines, alloc.units, strict=True)
        for j, amounts in enumerate(line_units)
    ]
    if data.loyalty:
        net = [u.net_paid for u in units]
        earned = loyalty_split(data.loyalty.earned, net, order.currency)
        redeemed = loyalty_split(data.loyalty.redeemed, net, order.currency)
        for unit, e, r in zip(units, earned, redeemed, strict=True):
            unit.loyalty_earned, unit.loyalty_redeemed = e, r
    units = Unit.objects.bulk_create(units)
    payments = Payment.objects.bulk_create(
        [
            Payment(
                order=order,
                position=i + 1,
                method=p.method,
                amount=p.amount,
                captured_amount=Decimal("0") if p.method == PaymentMethod.COD else p.amount,
                state=PaymentState.PENDING
                if p.method == PaymentMethod.COD
                else PaymentState.CAPTURED,
                gateway=p.gateway,
                reference=p.reference,
            )
            for i, p in enumerate(data.payments)
        ]
    )
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                order=order,
                kind=LedgerEntry.Kind.CAPTURE,
                amount=p.captured_amount,
                currency=order.currency,
                payment=p,
                reference=p.reference,
            )
            for p in payments
            if p.captured_amount > 0
        ]
    )
    return units, payments


def units_reserve(
    order: Order, units: list[Unit], location: Location | None, actor: EventActor
) -> list[Unit]:
    """Reserve sellable stock for ``units`` (state ordered). Units whose SKU is
    short stay ordered (backorder); the rest become allocated."""
    if location is None or not units:
        return []
    by_sku: dict[int, list[Unit]] = defaultdict(list)
    for unit in units:
        by_sku[unit.sku_id].append(unit)
    allocated: list[Unit] = []
    short: list[dict] = []
    try:
        with transaction.atomic():
            stock_move_many(
                [
                    Move(sku_id, location.pk, len(us), Bucket.SELLABLE, Bucket.RESERVED)
                    for sku_id, us in by_sku.items()
                ],
                reason="order_reserve",
                reference=order.number,
            )
        allocated = units
    except InsufficientStock:
        # Fall back SKU by SKU so that what is in stock still gets reserved.
        for sku_id, us in sorted(by_sku.items()):
            try:
                with transaction.atomic():
                    stock_move_many(
                        [Move(sku_id, location.pk, len(us), Bucket.SELLABLE, Bucket.RESERVED)],
                        reason="order_reserve",
                        reference=order.number,
                    )
                allocated.extend(us)
            except InsufficientStock:
                short.append({"sku_id": sku_id, "quantity": len(us)})
    units_transition(
        allocated,
        "allocate",
        args=(location,),
        fields=("location_id",),
        actor=actor,
        message=f"reserved at {location.code}",
    )
    if short:
        timeline_record(
            order=order,
            actor=actor,
            event=Event(
                "order",
                order.number,
                EventType.STOCK_SHORT,
                message=f"{sum(s['quantity'] for s in short)} unit(s) on backorder at {location.code}",
                payload={"short": short, "location": location.code},
            ),
        )
    return allocated
