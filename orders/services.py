"""Writes for orders: intake, shipping, delivery, and the unit transition helper
every app uses to move units."""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from inventory.models import SKU, Location
from inventory.services import InsufficientStock, Move, stock_move_many
from inventory.services import location_default as inventory_location_default
from inventory.states import Bucket
from oms.errors import ApplicationError, Conflict, NotFound
from oms.money import is_known_currency

from .allocation import AllocationError, LineInput, allocate_order
from .events import Event, EventActor, EventType, timeline_record, timeline_record_many
from .messaging import webhook_enqueue, webhook_wanted
from .models import (
    Channel,
    Customer,
    LedgerEntry,
    Line,
    Order,
    Payment,
    ProcessedEvent,
    Shipment,
    Unit,
)
from .states import PaymentMethod, PaymentState, ShipmentKind, ShipmentState, UnitState
from .webhooks import delivery_data

# A courier's or WMS's clock may run a little ahead of ours.
DELIVERY_CLOCK_SKEW = timedelta(minutes=5)

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference(prefix: str, length: int = 8) -> str:
    """Readable, unguessable reference (no 0/O or 1/I to misread on the phone)."""
    return f"{prefix}-" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


# --- units -------------------------------------------------------------------


def units_transition(
    units: list[Unit],
    method: str,
    *,
    actor: EventActor,
    args: tuple = (),
    fields: tuple[str, ...] = (),
    message: str = "",
    payload: dict | None = None,
    occurred_at: datetime | None = None,
    source: str = "",
    external_id: str = "",
) -> None:
    """Apply transition ``method`` to each unit and persist it in bulk.

    The FSM refuses a transition from the wrong state (409 naming the unit and
    its state). Persisting is a conditional update per (from, to) group, so a
    unit that another transaction moved meanwhile makes the whole change fail
    instead of being overwritten. ``fields`` are attnames set by the transition
    that must be saved with it. One timeline row per unit.
    """
    if not units:
        return
    groups: dict[tuple[str, str], list[Unit]] = defaultdict(list)
    events = []
    for unit in units:
        before = unit.state
        try:
            getattr(unit, method)(*args)
        except TransitionNotAllowed as exc:
            raise Conflict(
                f"Unit {unit.pk} is {before}; '{method}' does not apply.",
                code="invalid_state",
                extra={"unit": unit.pk, "state": before, "action": method},
            ) from exc
        groups[(before, unit.state)].append(unit)
        events.append(
            Event(
                "unit",
                unit.pk,
                EventType.UNIT_TRANSITION,
                before,
                unit.state,
                message or method.replace("_", " "),
                payload or {},
            )
        )
    for (before, after), members in groups.items():
        values = {f: getattr(members[0], f) for f in fields}
        updated = Unit.objects.filter(pk__in=[u.pk for u in members], state=before).update(
            state=after, **values
        )
        if updated != len(members):
            raise Conflict(
                "Units changed concurrently; nothing was changed.", code="concurrent_change"
            )
    order_id = units[0].order_id
    timeline_record_many(
        order=order_id,
        events=events,
        actor=actor,
        occurred_at=occurred_at,
        source=source,
        external_id=external_id,
    )


def units_lock(qs):
    """Lock the units for update, in primary-key order (no-op on SQLite, whose
    IMMEDIATE transactions already serialise writers)."""
    return list(qs.select_for_update(of=("self",)).order_by("pk"))


def event_claim(*, source: str, external_id: str) -> bool:
    """Record an inbound event id. False when it was already processed, so the
    caller ignores a redelivery. Call inside the change's transaction."""
    if not external_id:
        return True
    try:
        with transaction.atomic():
            ProcessedEvent.objects.create(source=source, external_id=external_id)
    except IntegrityError:
        return False
    return True


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
    )
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
    units = Unit.objects.bulk_create(
        [
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
    )
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
    _reserve(order, units, location or inventory_location_default(), actor)
    return order


def _reserve(
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


# --- shipping ------------------------------------------------------------------


@transaction.atomic
def shipment_create(
    *,
    order: Order,
    unit_ids: list[int],
    actor: EventActor,
    tracking_number: str = "",
    serials: dict[int, str] | None = None,
    kind: str = ShipmentKind.FORWARD,
    shipped_at: datetime | None = None,
) -> Shipment:
    """Ship units. ``shipped_at`` (default now) lets an import record when a
    parcel really left; it may not be in the future."""
    if shipped_at is not None and shipped_at > timezone.now() + DELIVERY_CLOCK_SKEW:
        raise ApplicationError("shipped_at: is in the future.", extra={"field": "shipped_at"})
    if not unit_ids:
        raise ApplicationError(
            "units: a shipment needs at least one unit.", extra={"field": "units"}
        )
    if len(set(unit_ids)) != len(unit_ids):
        raise ApplicationError("units: a unit is listed twice.", extra={"field": "units"})
    # The order's lock first, like cancellation, delivery and refunds: the
    # shipment row's foreign key takes a share lock on the order, so locking
    # units first deadlocks with a cancellation holding the order.
    list(Order.objects.select_for_update().filter(pk=order.pk).values_list("pk", flat=True))
    units = units_lock(Unit.objects.filter(order=order, pk__in=unit_ids))
    missing = sorted(set(unit_ids) - {u.pk for u in units})
    if missing:
        raise ApplicationError(
            f"units: {missing} are not units of order {order.number}.",
            code="unknown_units",
            extra={"field": "units", "units": missing},
        )
    bad = [u for u in units if u.state not in (UnitState.ALLOCATED, UnitState.ORDERED)]
    if bad:
        raise Conflict(
            f"Unit {bad[0].pk} is {bad[0].state}; only ordered or allocated units can ship.",
            code="invalid_state",
            extra={"unit": bad[0].pk, "state": bad[0].state},
        )
    unallocated = [u for u in units if u.state == UnitState.ORDERED]
    if unallocated:
        location = order.ship_from or inventory_location_default()
        got = _reserve(order, unallocated, location, actor)
        if len(got) != len(unallocated):
            raise InsufficientStock(
                "Some units have no stock reserved and none is available to ship them.",
                extra={"units": sorted(u.pk for u in unallocated if u not in got)},
            )
    locations = {u.location_id for u in units}
    if len(locations) != 1:
        raise ApplicationError(
            "units: reserved at different locations; ship them separately.",
            extra={"field": "units"},
        )
    location_id = locations.pop()
    shipment = Shipment.objects.create(
        order=order,
        kind=kind,
        location_id=location_id,
        tracking_number=tracking_number,
        shipped_at=shipped_at or timezone.now(),
    )
    counts: dict[int, int] = defaultdict(int)
    for unit in units:
        counts[unit.sku_id] += 1
    stock_move_many(
        [Move(sku_id, location_id, n, Bucket.RESERVED, None) for sku_id, n in counts.items()],
        reason="shipped",
        reference=f"shipment:{shipment.pk}",
    )
    units_transition(
        units,
        "ship",
        args=(shipment,),
        fields=("shipment_id",),
        actor=actor,
        message=f"shipped in shipment {shipment.pk}",
    )
    if serials:
        for unit in units:
            if str(unit.pk) in {str(k) for k in serials}:
                serial = serials.get(unit.pk) or serials.get(str(unit.pk))
                Unit.objects.filter(pk=unit.pk).update(serial=serial)
    timeline_record(
        order=order,
        actor=actor,
        event=Event(
            "shipment",
            shipment.pk,
            EventType.SHIPMENT_CREATED,
            "",
            shipment.state,
            f"Shipment {shipment.pk} with {len(units)} unit(s)",
            {"units": [u.pk for u in units]},
        ),
    )
    return shipment


@dataclass
class DeliveryResult:
    shipment: Shipment
    delivered: list[Unit]
    refused: list[Unit]
    cod_collected: Decimal | None


@transaction.atomic(
    savepoint=False
)  # inside its flow's transaction: no savepoint (no extra queries)
def shipment_deliver(
    *,
    shipment_id: int,
    actor: EventActor,
    delivered_at: datetime | None = None,
    refused_unit_ids: list[int] | None = None,
    cod_collected: Decimal | None = None,
    external_id: str = "",
) -> DeliveryResult:
    """The courier reports delivery. Refused units are recorded as refused; for
    cash on delivery the collection covers only the accepted units."""
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .filter(pk=shipment_id)
        .select_related("order")
        .first()
    )
    if shipment is None:
        raise NotFound(f"Shipment {shipment_id} does not exist.")
    # Lock the order before its units and payments, in the same order as
    # refund creation and issuance, so a delivery racing a refund cannot deadlock.
    order = Order.objects.select_for_update(of=("self",)).get(pk=shipment.order_id)
    if not event_claim(source="courier", external_id=external_id):
        return DeliveryResult(shipment, [], [], shipment.cod_collected)
    if shipment.state != ShipmentState.SHIPPED:
        raise Conflict(
            f"Shipment {shipment.pk} is already {shipment.state}.",
            code="invalid_state",
            extra={"state": shipment.state},
        )
    at = delivered_at or timezone.now()
    if at > timezone.now() + DELIVERY_CLOCK_SKEW:
        raise ApplicationError("delivered_at: is in the future.", extra={"field": "delivered_at"})
    if at < shipment.shipped_at:
        raise ApplicationError(
            f"delivered_at: {at.isoformat()} is before shipment {shipment.pk} shipped "
            f"({shipment.shipped_at.isoformat()}).",
            code="delivered_before_shipped",
            extra={"field": "delivered_at", "shipped_at": shipment.shipped_at.isoformat()},
        )
    units = units_lock(Unit.objects.filter(shipment=shipment))
    refused_ids = set(refused_unit_ids or [])
    unknown = sorted(refused_ids - {u.pk for u in units})
    if unknown:
        raise ApplicationError(
            f"refused_units: {unknown} are not in shipment {shipment.pk}.",
            code="unknown_units",
            extra={"field": "refused_units", "units": unknown},
        )
    accepted = [u for u in units if u.pk not in refused_ids]
    refused = [u for u in units if u.pk in refused_ids]

    payments = list(
        Payment.objects.select_for_update(of=("self",)).filter(order=order).order_by("pk")
    )
    cod = next((p for p in payments if p.method == PaymentMethod.COD), None)
    collected = None
    if cod is not None:
        expected = _cod_due(order, cod, accepted, payments)
        if cod_collected is not None and cod_collected != expected:
            raise ApplicationError(
                f"cod_collected: {cod_collected} does not match the {expected} due for the accepted units.",
                code="cod_mismatch",
                extra={"field": "cod_collected", "expected": str(expected)},
            )
        collected = expected
    elif cod_collected not in (None, Decimal("0")):
        raise ApplicationError(
            "cod_collected: this order is not cash on delivery.", extra={"field": "cod_collected"}
        )

    before = shipment.state
    shipment.deliver(at, bool(accepted))
    shipment.cod_collected = collected
    shipment.save()
    units_transition(
        accepted,
        "deliver",
        args=(at,),
        fields=("delivered_at",),
        actor=actor,
        occurred_at=at,
        message="delivered",
    )
    units_transition(refused, "refuse", actor=actor, occurred_at=at, message="refused at the door")
    timeline_record(
        order=order,
        actor=actor,
        occurred_at=at,
        event=Event(
            "shipment",
            shipment.pk,
            EventType.SHIPMENT_DELIVERED,
            before,
            shipment.state,
            f"{len(accepted)} accepted, {len(refused)} refused",
            {
                "accepted": [u.pk for u in accepted],
                "refused": [u.pk for u in refused],
                "cod_collected": str(collected) if collected is not None else None,
            },
        ),
    )
    if cod is not None:
        _cod_settle(order, cod, collected or Decimal("0"), actor, at)
    result = DeliveryResult(shipment, accepted, refused, collected)
    if webhook_wanted(order, "order.delivered"):
        webhook_enqueue(
            order=order,
            type="order.delivered",
            occurred_at=at,
            data=delivery_data(shipment, accepted, refused, collected),
        )
    return result


def _cod_due(order: Order, cod: Payment, accepted: list[Unit], payments: list[Payment]) -> Decimal:
    """Cash due at this door: the accepted units' net paid, plus shipping the
    first time anything is accepted, less what other tenders already paid."""
    if cod.state == PaymentState.VOIDED:
        # Voided by a cancellation: nothing is ever collected on it.
        return Decimal("0")
    prepaid = sum((p.captured_amount for p in payments if p.pk != cod.pk), Decimal("0"))
    already = cod.captured_amount
    due_value = sum((u.net_paid for u in accepted), Decimal("0"))
    delivered_before = Unit.objects.filter(order=order, delivered_at__isnull=False).exists()
    if accepted and not delivered_before:
        due_value += order.shipping_amount
    # Other tenders (a gift card, say) are used up first.
    prior_value = Unit.objects.filter(order=order, delivered_at__isnull=False).values_list(
        "net_paid", flat=True
    )
    prior = sum(prior_value, Decimal("0")) + (
        order.shipping_amount if delivered_before else Decimal("0")
    )
    covered_by_prepaid = max(Decimal("0"), prepaid - prior)
    due = max(Decimal("0"), due_value - covered_by_prepaid)
    return min(due, cod.amount - already)


def payment_refund_record(
    *,
    order: Order,
    payment: Payment,
    amount: Decimal,
    ledger_kind: str,
    reference: str,
    actor: EventActor,
    message: str,
    payload: dict,
    event_type: str = "payment.refunded",
    occurred_at: datetime | None = None,
    source: str = "",
    external_id: str = "",
) -> None:
    """Money given back against one tender: the payment's transition, its
    ledger row and its timeline row, in the caller's transaction. Refund
    issuance and platform refunds reconciled by intake both go through here."""
    before = payment.state
    payment.record_refund(amount)
    payment.save()
    LedgerEntry.objects.create(
        order=order,
        kind=ledger_kind,
        amount=amount,
        currency=order.currency,
        payment=payment,
        reference=reference[:100],
    )
    timeline_record(
        order=order,
        actor=actor,
        occurred_at=occurred_at,
        source=source,
        external_id=external_id,
        event=Event("payment", payment.pk, event_type, before, payment.state, message, payload),
    )


def _cod_settle(
    order: Order, cod: Payment, amount: Decimal, actor: EventActor, at: datetime
) -> None:
    before = cod.state
    if amount > 0:
        cod.collect(amount)
        cod.save()
        LedgerEntry.objects.create(
            order=order,
            kind=LedgerEntry.Kind.COD_COLLECTION,
            amount=amount,
            currency=order.currency,
            payment=cod,
        )
        timeline_record(
            order=order,
            actor=actor,
            occurred_at=at,
            event=Event(
                "payment",
                cod.pk,
                EventType.PAYMENT_COLLECTED,
                before,
                cod.state,
                f"Cash collected: {amount} {order.currency}",
                {"amount": str(amount)},
            ),
        )
        return
    still_open = Unit.objects.filter(
        order=order, state__in=[UnitState.ORDERED, UnitState.ALLOCATED, UnitState.SHIPPED]
    ).exists()
    if not still_open and cod.captured_amount == 0 and cod.state == PaymentState.PENDING:
        cod.void()
        cod.save()
        timeline_record(
            order=order,
            actor=actor,
            occurred_at=at,
            event=Event(
                "payment",
                cod.pk,
                EventType.PAYMENT_TRANSITION,
                before,
                cod.state,
                "Nothing to collect: every unit was refused or cancelled",
            ),
        )


# --- cancellation --------------------------------------------------------------

ZERO = Decimal("0.00")
CANCELLABLE = (UnitState.ORDERED, UnitState.ALLOCATED)
# Units the courier will still take to the door (or has with it now).
TO_DELIVER = (UnitState.ORDERED, UnitState.ALLOCATED, UnitState.SHIPPED)


@dataclass
class Cancellation:
    """What ``order_cancel_units`` did, as refunds and the API see it.

    ``items_value + shipping`` is what the customer no longer owes; the part
    the courier would have collected comes off the cash-on-delivery tender
    (``cod_reduction``) and the rest is due back to prepaid tenders
    (``prepaid_due``)."""

    order: Order
    units: list[Unit]
    reason: str = ""
    external_id: str = ""
    items_value: Decimal = ZERO
    shipping: Decimal = ZERO
    cod_reduction: Decimal = ZERO
    cod_voided: bool = False
    prepaid_due: Decimal = ZERO
    payments: list[Payment] = field(default_factory=list)
    replayed: bool = False
    refunds: list = field(default_factory=list)


@transaction.atomic(
    savepoint=False
)  # inside its flow's transaction: no savepoint (no extra queries)
def order_cancel_units(
    *,
    order: Order,
    unit_ids: list[int] | None = None,
    actor: EventActor,
    reason: str = "",
    external_id: str = "",
    lines: list[tuple[int, int]] | None = None,
    everything: bool = False,
) -> Cancellation:
    """Cancel units that have not shipped: by id, ``lines`` as (line id,
    quantity), or ``everything`` still cancellable. All or nothing.

    Locks the order, then the units, then the payments (the order refunds and
    delivery take them in). Reservations go back to sellable; the money the
    customer no longer owes is taken off the cash-on-delivery tender first,
    so far as the courier would still have collected it, and the rest is
    refunded to the prepaid tenders by ``flows.cancellation.order_cancel``
    (refunds). A repeated ``external_id`` changes nothing.
    """
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    if not event_claim(source=f"cancel:{order.number}", external_id=external_id):
        return Cancellation(order, [], reason, external_id, replayed=True)
    units = _cancel_selection(order, unit_ids, lines, everything)
    payments = list(
        Payment.objects.select_for_update(of=("self",)).filter(order=order).order_by("pk")
    )
    result = _cancel_money(order, units, payments, reason, external_id)

    reserved: dict[tuple[int, int], int] = defaultdict(int)
    for unit in units:
        if unit.state == UnitState.ALLOCATED and unit.location_id:
            reserved[(unit.sku_id, unit.location_id)] += 1
    if reserved:
        stock_move_many(
            [
                Move(sku_id, location_id, n, Bucket.RESERVED, Bucket.SELLABLE)
                for (sku_id, location_id), n in sorted(reserved.items())
            ],
            reason="order_cancel",
            reference=order.number,
        )
    units_transition(
        units,
        "cancel",
        actor=actor,
        message=f"cancelled: {reason}" if reason else "cancelled",
        payload={"reason": reason},
        source="cancel",
        external_id=external_id,
    )
    timeline_record(
        order=order,
        actor=actor,
        source="cancel",
        external_id=external_id,
        event=Event(
            "order",
            order.number,
            EventType.UNITS_CANCELLED,
            message=f"{len(units)} unit(s) cancelled"
            + (f": {reason}" if reason else "")
            + f"; {result.prepaid_due} {order.currency} to refund, "
            f"{result.cod_reduction} {order.currency} less to collect",
            payload={
                "units": [u.pk for u in units],
                "reason": reason,
                "items": str(result.items_value),
                "shipping": str(result.shipping),
                "cod_reduction": str(result.cod_reduction),
                "cod_voided": result.cod_voided,
                "prepaid_due": str(result.prepaid_due),
            },
        ),
    )
    cod = next((p for p in payments if p.method == PaymentMethod.COD), None)
    if cod is not None:
        _cod_reduce(order, cod, result, actor)
    _cancel_notify(order, result)
    return result


def _cancel_selection(
    order: Order,
    unit_ids: list[int] | None,
    lines: list[tuple[int, int]] | None,
    everything: bool,
) -> list[Unit]:
    """The units to cancel, locked. Unknown ids are a 400; a unit that is not
    ordered or allocated (any more) is a 409 naming it and its state."""
    base = Unit.objects.filter(order=order)
    if everything:
        units = units_lock(base.filter(state__in=CANCELLABLE, line__replacement_for__isnull=True))
        if not units:
            raise Conflict(
                f"Order {order.number} has nothing left to cancel: every unit has shipped "
                "or is cancelled.",
                code="nothing_to_cancel",
            )
        return units
    if lines:
        line_ids = [line_id for line_id, _ in lines]
        if len(set(line_ids)) != len(line_ids):
            raise ApplicationError("lines: a line is listed twice.", extra={"field": "lines"})
        known = set(Line.objects.filter(order=order, pk__in=line_ids).values_list("pk", flat=True))
        missing = [line_id for line_id in line_ids if line_id not in known]
        if missing:
            raise ApplicationError(
                f"lines: {missing} are not lines of order {order.number}.",
                code="unknown_lines",
                extra={"field": "lines", "lines": missing},
            )
        locked = units_lock(base.filter(line_id__in=line_ids))
        units = []
        for n, (line_id, quantity) in enumerate(lines):
            # Backordered units first (nothing reserved for them), then the last ones.
            candidates = sorted(
                (u for u in locked if u.line_id == line_id and u.state in CANCELLABLE),
                key=lambda u: (u.state != UnitState.ORDERED, -u.index),
            )
            if len(candidates) < quantity:
                raise Conflict(
                    f"lines[{n}]: line {line_id} has {len(candidates)} unit(s) that can still "
                    f"be cancelled, not {quantity}.",
                    code="invalid_state",
                    extra={
                        "line": line_id,
                        "cancellable": len(candidates),
                        "requested": quantity,
                        "states": {str(u.pk): u.state for u in locked if u.line_id == line_id},
                    },
                )
            units += candidates[:quantity]
    else:
        if not unit_ids:
            raise ApplicationError(
                "units: give at least one unit to cancel.", extra={"field": "units"}
            )
        if len(set(unit_ids)) != len(unit_ids):
            raise ApplicationError("units: a unit is listed twice.", extra={"field": "units"})
        units = units_lock(base.filter(pk__in=unit_ids))
        missing = sorted(set(unit_ids) - {u.pk for u in units})
        if missing:
            raise ApplicationError(
                f"units: {missing} are not units of order {order.number}.",
                code="unknown_units",
                extra={"field": "units", "units": missing},
            )
    bad = [u for u in units if u.state not in CANCELLABLE]
    if bad:
        raise Conflict(
            f"Unit {bad[0].pk} is {bad[0].state}; only ordered or allocated units can be "
            "cancelled.",
            code="invalid_state",
            extra={
                "unit": bad[0].pk,
                "state": bad[0].state,
                "units": [{"unit": u.pk, "state": u.state} for u in bad],
            },
        )
    replacing = set(
        Line.objects.filter(
            pk__in={u.line_id for u in units}, replacement_for__isnull=False
        ).values_list("pk", flat=True)
    )
    if replacing:
        unit = next(u for u in units if u.line_id in replacing)
        raise Conflict(
            f"Unit {unit.pk} is the replacement of an exchange; it is not cancelled on its own.",
            code="replacement_unit",
            extra={"unit": unit.pk, "state": unit.state},
        )
    return sorted(units, key=lambda u: u.pk)


def _cancel_money(
    order: Order, units: list[Unit], payments: list[Payment], reason: str, external_id: str
) -> Cancellation:
    """Split what the customer no longer owes between the cash the courier
    will not collect and a refund to the prepaid tenders.

    The shipping charge is given up only when no unit of the order will ship
    or has shipped. Cash on delivery is reduced first, by exactly how much
    less the courier would now collect under ``_cod_due``'s rule (other
    tenders pay for delivered units first, shipping once); what remains was
    paid by prepaid tenders and is refunded.
    """
    cancelling = {u.pk for u in units}
    others = list(
        Unit.objects.filter(order=order).exclude(pk__in=cancelling).values_list("state", "net_paid")
    )
    items_value = sum((u.net_paid for u in units), ZERO)
    shipping = (
        order.shipping_amount if all(state == UnitState.CANCELLED for state, _ in others) else ZERO
    )
    result = Cancellation(
        order,
        units,
        reason,
        external_id,
        items_value=items_value,
        shipping=shipping,
        payments=payments,
    )
    cod = next((p for p in payments if p.method == PaymentMethod.COD), None)
    if cod is not None:
        remaining = [net for state, net in others if state in TO_DELIVER]
        value_after = sum(remaining, ZERO)
        before = _cod_outstanding(order, cod, payments, value_after + items_value, True)
        after = _cod_outstanding(order, cod, payments, value_after, bool(remaining))
        result.cod_reduction = before - after
        result.cod_voided = (
            after == 0 and cod.captured_amount == 0 and cod.state == PaymentState.PENDING
        )
    result.prepaid_due = max(ZERO, items_value + shipping - result.cod_reduction)
    return result


def _cod_outstanding(
    order: Order, cod: Payment, payments: list[Payment], value: Decimal, any_to_deliver: bool
) -> Decimal:
    """What the courier would still collect if units of net paid ``value``
    still to be delivered were all accepted: the sum of ``_cod_due`` over
    their deliveries (other tenders' captures pay for delivered units first,
    then for these; shipping is due with the first accepted delivery)."""
    if cod.state == PaymentState.VOIDED:
        return ZERO
    prepaid = sum((p.captured_amount for p in payments if p.pk != cod.pk), ZERO)
    delivered = list(
        Unit.objects.filter(order=order, delivered_at__isnull=False).values_list(
            "net_paid", flat=True
        )
    )
    prior = sum(delivered, ZERO) + (order.shipping_amount if delivered else ZERO)
    if any_to_deliver and not delivered:
        value += order.shipping_amount
    covered = max(ZERO, prepaid - prior)
    return min(max(ZERO, value - covered), cod.amount - cod.captured_amount)


def _cod_reduce(order: Order, cod: Payment, result: Cancellation, actor: EventActor) -> None:
    """Take the cancelled value off the cash-on-delivery tender, or void it
    when nothing was collected and nothing more will be. A voided tender
    keeps the amount it was tendered for (it can never be collected); a
    reduced one never goes below what was already collected."""
    before_state, before_amount = cod.state, cod.amount
    if result.cod_voided:
        cod.void()
        message = "Nothing left to collect: the units still due were cancelled"
        event_type = EventType.PAYMENT_TRANSITION
    elif result.cod_reduction > 0:
        cod.amount = max(cod.amount - result.cod_reduction, cod.captured_amount)
        message = (
            f"Cash to collect lowered by {result.cod_reduction} {order.currency} "
            f"({before_amount} → {cod.amount}): units cancelled"
        )
        event_type = EventType.PAYMENT_AMOUNT_REDUCED
    else:
        return
    cod.save()
    timeline_record(
        order=order,
        actor=actor,
        source="cancel",
        external_id=result.external_id,
        event=Event(
            "payment",
            cod.pk,
            event_type,
            before_state,
            cod.state,
            message,
            {
                "amount_before": str(before_amount),
                "amount": str(cod.amount),
                "reduction": str(result.cod_reduction),
                "units": [u.pk for u in result.units],
            },
        ),
    )


def _cancel_notify(order: Order, result: Cancellation) -> None:
    from .messaging import message_enqueue

    money = []
    if result.prepaid_due > 0:
        money.append(
            f"A refund of {result.prepaid_due} {order.currency} goes back to your original "
            "payment method."
        )
    if result.cod_voided:
        money.append("Nothing is due at delivery.")
    elif result.cod_reduction > 0:
        money.append(f"You will pay {result.cod_reduction} {order.currency} less at delivery.")
    message_enqueue(
        order=order,
        template="order_cancelled",
        subject=f"{len(result.units)} item(s) of order {order.number} cancelled",
        body=f"We've cancelled {len(result.units)} item(s) of order {order.number}. "
        + " ".join(money),
    )


def order_get_by_number(number: str) -> Order:
    order = Order.objects.filter(number=number).first()
    if order is None:
        raise NotFound(f"Order {number} does not exist.")
    return order
