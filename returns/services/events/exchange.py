"""Exchanges: ``exchange_dispatched`` and ``difference_collected``."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Max

from oms.errors import ApplicationError, Conflict
from orders.events import EventActor
from orders.models import LedgerEntry, Line, Payment, Unit
from orders.services import shipment_create, units_transition
from orders.states import PaymentMethod, ShipmentKind, UnitState

from ...events import ReturnEventType, return_event
from ...messages import notify
from ...models import Return, ReturnItem
from ...states import Resolution
from ..common import require_open, return_items
from .data import ReturnEventData
from .receipt import _units_in


def _exchange_dispatched(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(return_request, "exchange_dispatched")
    chosen = _dispatch_validate(return_request, data)
    new_units = _replacement_units_create(return_request, chosen, actor)
    shipments = _dispatch_shipment(
        return_request, chosen, new_units, actor, tracking_number=data.tracking_number
    )
    settled = [i.unit for i in chosen if i.unit.state == UnitState.PENDING_EXCHANGE]
    units_transition(
        settled,
        "mark_replaced",
        actor=actor,
        message=f"replacement dispatched ({return_request.rma})",
    )
    return_event(
        return_request,
        ReturnEventType.EXCHANGE_DISPATCHED,
        actor=actor,
        message=f"{len(chosen)} replacement(s) shipped in shipment(s) {', '.join(str(s.pk) for s in shipments)}"
        + (f", AWB {data.tracking_number}" if data.tracking_number else ""),
        payload={
            "shipments": [s.pk for s in shipments],
            "tracking_number": data.tracking_number,
            "replacements": {str(i.unit_id): u.pk for i, u in zip(chosen, new_units, strict=True)},
        },
    )
    notify(return_request, "exchange_dispatched")


def _dispatch_validate(return_request: Return, data: ReturnEventData) -> list[ReturnItem]:
    """The exchange items to ship now: waiting, (exchange-first) allowed
    before receipt, and with any price difference collected."""
    early_ok = return_request.policy.exchange_dispatch_before_receipt
    allowed = {UnitState.PENDING_EXCHANGE}
    if early_ok:
        allowed |= {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED}
    items = [
        i
        for i in return_items(return_request, lock_units=True)
        if i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT) and not i.dispatched
    ]
    if not items:
        raise Conflict(
            "No exchange on this return is waiting to be dispatched.", code="invalid_state"
        )
    chosen = _units_in(items, allowed, data.units, "exchange_dispatched")
    owed = sum(
        (
            i.price_difference
            for i in chosen
            if i.price_difference > 0 and not i.difference_collected
        ),
        Decimal("0"),
    )
    if owed > 0:
        raise Conflict(
            f"Collect {owed} {return_request.order.currency} from the customer before dispatching the exchange.",
            code="difference_not_collected",
            extra={"amount": str(owed)},
        )
    return chosen


def _replacement_units_create(
    return_request: Return, chosen: list[ReturnItem], actor: EventActor
) -> list[Unit]:
    """One new order line and unit per replacement, priced at what the
    customer paid (plus any difference), allocated where it is reserved."""
    order = return_request.order
    position = Line.objects.filter(order=order).aggregate(m=Max("position"))["m"] or 0
    new_units = []
    for item in chosen:
        if item.reserved_at_id is None:
            raise Conflict(
                f"The replacement for unit {item.unit_id} is no longer reserved.",
                code="insufficient_stock",
            )
        position += 1
        sku = item.exchange_sku
        original = item.unit
        net = original.net_paid + (
            item.price_difference
            if item.price_difference > 0
            else -min(-item.price_difference, original.net_paid)
        )
        price = sku.price if item.resolution == Resolution.EXCHANGE else original.line.unit_price
        tax = (
            (original.tax_amount * net / original.net_paid).quantize(Decimal("0.01"))
            if original.net_paid
            else Decimal("0")
        )
        line = Line.objects.create(
            order=order,
            position=position,
            sku=sku,
            quantity=1,
            unit_price=price,
            tax_rate=sku.tax_rate,
            discount=max(price - net, Decimal("0")),
            replacement_for=original,
        )
        new_units.append(
            Unit.objects.create(
                order=order, line=line, sku=sku, index=1, net_paid=net, tax_amount=tax
            )
        )
    for item, unit in zip(chosen, new_units, strict=True):
        units_transition(
            [unit],
            "allocate",
            args=(item.reserved_at,),
            fields=("location_id",),
            actor=actor,
            message=f"replacement reserved for {return_request.rma}",
        )
    return new_units


def _dispatch_shipment(
    return_request: Return,
    chosen: list[ReturnItem],
    new_units: list[Unit],
    actor: EventActor,
    *,
    tracking_number: str = "",
) -> list:
    """One replacement shipment per reserving location; each item records its
    replacement unit."""
    by_location: dict[int, list[Unit]] = defaultdict(list)
    for item, unit in zip(chosen, new_units, strict=True):
        by_location[item.reserved_at_id].append(unit)
    shipments = [
        shipment_create(
            order=return_request.order,
            unit_ids=[u.pk for u in us],
            actor=actor,
            kind=ShipmentKind.REPLACEMENT,
            tracking_number=tracking_number,
        )
        for us in by_location.values()
    ]
    for item, unit in zip(chosen, new_units, strict=True):
        ReturnItem.objects.filter(pk=item.pk).update(replacement_unit=unit)
        item.replacement_unit = unit
    return shipments


def _difference_collected(return_request: Return, data: ReturnEventData, actor: EventActor) -> None:
    require_open(return_request, "difference_collected")
    items = [
        i
        for i in return_items(return_request)
        if i.price_difference > 0 and not i.difference_collected
    ]
    owed = sum((i.price_difference for i in items), Decimal("0"))
    if not items:
        raise Conflict("Nothing is waiting to be collected on this return.", code="invalid_state")
    if data.amount is None or data.amount != owed:
        raise ApplicationError(
            f"amount: {owed} is owed for the dearer variant(s), not {data.amount}.",
            extra={"field": "amount", "owed": str(owed)},
        )
    ReturnItem.objects.filter(pk__in=[i.pk for i in items]).update(difference_collected=True)
    # The collection is a tender of the order like any other, so a later
    # refund (the replacement returned, or the exchange converted) can give
    # it back through the same per-tender caps.
    method = data.method or PaymentMethod.UPI
    if method not in (PaymentMethod.CARD, PaymentMethod.UPI, PaymentMethod.WALLET):
        raise ApplicationError(
            "method: the difference is collected by card, upi or wallet.", extra={"field": "method"}
        )
    position = (
        Payment.objects.filter(order=return_request.order).aggregate(m=Max("position"))["m"] or 0
    ) + 1
    payment = Payment.objects.create(
        order=return_request.order,
        position=position,
        method=method,
        amount=owed,
        captured_amount=owed,
        gateway="exchange-difference",
        reference=return_request.rma,
    )
    LedgerEntry.objects.create(
        order=return_request.order,
        kind=LedgerEntry.Kind.EXCHANGE_COLLECTION,
        amount=owed,
        currency=return_request.order.currency,
        payment=payment,
        reference=return_request.rma,
    )
    return_event(
        return_request,
        ReturnEventType.DIFFERENCE_COLLECTED,
        actor=actor,
        message=f"Collected {owed} {return_request.order.currency}",
        payload={"amount": str(owed)},
    )
