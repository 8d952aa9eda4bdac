"""The courier's delivery report: accepted and refused units, cash on delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from oms.errors import ApplicationError, Conflict, NotFound

from ..events import Event, EventActor, EventType, timeline_record
from ..messaging import webhook_enqueue, webhook_wanted
from ..models import (
    LedgerEntry,
    Order,
    Payment,
    Shipment,
    Unit,
)
from ..states import PaymentMethod, PaymentState, ShipmentKind, ShipmentState, UnitState
from ..webhooks import delivery_data
from .fulfilment import DELIVERY_CLOCK_SKEW
from .units import event_claim, units_lock, units_transition


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
    if shipment.kind == ShipmentKind.RETURN_TO_CUSTOMER:
        return _delivered_back(shipment, order, at, actor, refused_unit_ids, cod_collected)
    accepted, refused = _delivery_units(shipment, refused_unit_ids)
    cod, collected = _cod_check(order, accepted, cod_collected)

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


def _delivered_back(
    shipment: Shipment,
    order: Order,
    at: datetime,
    actor: EventActor,
    refused_unit_ids: list[int] | None,
    cod_collected: Decimal | None,
) -> DeliveryResult:
    """A shipment taking units that failed QC back to the customer arrived:
    each unit is closed (``returned_to_customer``). Nothing is collected and
    nothing can be refused: the customer's own item came back."""
    if refused_unit_ids:
        raise ApplicationError(
            "refused_units: a unit sent back after failed QC cannot be refused.",
            extra={"field": "refused_units"},
        )
    if cod_collected not in (None, Decimal("0")):
        raise ApplicationError(
            "cod_collected: nothing is collected for a unit sent back.",
            extra={"field": "cod_collected"},
        )
    units = units_lock(Unit.objects.filter(shipment=shipment))
    before = shipment.state
    shipment.deliver(at, True)
    shipment.save()
    units_transition(
        units,
        "deliver_back",
        actor=actor,
        occurred_at=at,
        message=f"delivered back to the customer (shipment {shipment.pk})",
    )
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
            f"{len(units)} unit(s) that failed QC delivered back",
            {"accepted": [u.pk for u in units], "refused": [], "kind": shipment.kind},
        ),
    )
    return DeliveryResult(shipment, units, [], None)


def _delivery_units(
    shipment: Shipment, refused_unit_ids: list[int] | None
) -> tuple[list[Unit], list[Unit]]:
    """The shipment's units, locked, split into accepted and refused."""
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
    return accepted, refused


def _cod_check(
    order: Order, accepted: list[Unit], cod_collected: Decimal | None
) -> tuple[Payment | None, Decimal | None]:
    """Lock the payments; the cash due at this door must be what the courier
    says it collected (none when the order is not cash on delivery)."""
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
    return cod, collected


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
