"""Shared by the cancellation tests: the API call and what the customer
still owes for an order, from the tenders' own counters."""

from __future__ import annotations

from decimal import Decimal

from orders.models import Payment, Unit
from orders.states import PaymentMethod, PaymentState, UnitState


def cancel(api, order, body):
    return api.post(f"/api/v1/orders/{order.number}/cancel/", body, format="json")


def unit_ids(order) -> list[int]:
    return list(Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True))


def retained(order) -> Decimal:
    """Money the merchant holds for the order: captured − refunded."""
    return sum(
        (p.captured_amount - p.refunded_amount for p in Payment.objects.filter(order=order)),
        Decimal("0"),
    )


def cod_still_to_collect(order) -> Decimal:
    cod = Payment.objects.filter(order=order, method=PaymentMethod.COD).first()
    if cod is None or cod.state == PaymentState.VOIDED:
        return Decimal("0")
    return cod.amount - cod.captured_amount


def owed(order) -> Decimal:
    """What the customer pays for what was not cancelled: its net paid, plus
    shipping once if anything was not cancelled."""
    kept = list(
        Unit.objects.filter(order=order)
        .exclude(state=UnitState.CANCELLED)
        .values_list("net_paid", flat=True)
    )
    return sum(kept, Decimal("0")) + (order.shipping_amount if kept else Decimal("0"))
