"""Cancelling units that have not shipped, and the money that no longer falls due."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from oms.errors import ApplicationError, Conflict

from ..events import Event, EventActor, EventType, timeline_record
from ..messaging import message_enqueue
from ..models import (
    Line,
    Order,
    Payment,
    Unit,
)
from ..states import PaymentMethod, PaymentState, UnitState
from .units import event_claim, units_cancel_unshipped, units_lock

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

    units_cancel_unshipped(
        units,
        reference=order.number,
        stock_reason="order_cancel",
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
