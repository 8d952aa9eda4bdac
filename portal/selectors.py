"""Reads for the portal: a customer's orders and returns, and what each unit's
state means to the customer. Exchange variants, refund methods and a
return's progress are shared read models (returns.selectors, flows.read)."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from orders.models import Order, Unit
from orders.selectors import order_get
from orders.states import UnitState
from returns.models import Return, ReturnReason
from returns.selectors import order_returnable

# What a customer reads for each unit state (the console shows the labels).
CUSTOMER_WORDS = {
    UnitState.ORDERED: "Being prepared",
    UnitState.ALLOCATED: "Being packed",
    UnitState.SHIPPED: "On its way to you",
    UnitState.DELIVERED: "Delivered",
    UnitState.CANCELLED: "Cancelled",
    UnitState.REFUSED: "Refused at delivery",
    UnitState.RETURN_REQUESTED: "Return requested, waiting for pickup",
    UnitState.RETURN_IN_TRANSIT: "Return on its way to us",
    UnitState.RETURNED: "Received by us, being inspected",
    UnitState.PENDING_REFUND: "Inspected, refund on its way",
    UnitState.PENDING_EXCHANGE: "Inspected, exchange on its way",
    UnitState.REFUNDED: "Refunded",
    UnitState.REPLACED: "Exchanged",
    UnitState.RETURN_REJECTED: "Did not pass inspection, being sent back",
    UnitState.RETURNED_TO_CUSTOMER: "Did not pass inspection, delivered back to you",
    UnitState.KEPT: "Kept by you, refunded",
    UnitState.NOT_CHARGED: "Refused, not charged",
}


def unit_words(state: str) -> str:
    return CUSTOMER_WORDS.get(state) or UnitState(state).label


def customer_orders(customer_id: int, *, contact: str, order_id: int | None):
    """The orders a verified session may see: the order its code was for, and
    the customer's orders whose own email is the address the code went to
    (``contact``). Not every order of the customer: an order can carry
    someone else's phone or an email that is not the one proven."""
    allowed = Q(pk=order_id) if order_id else Q(pk__in=[])
    if contact:
        allowed |= Q(email__iexact=contact)
    return Order.objects.filter(allowed, customer_id=customer_id).order_by("-placed_at", "-pk")


def customer_order(customer_id: int, number: str, *, contact: str, order_id: int | None) -> Order:
    """The order with everything it shows; 404 when this session may not see it."""
    if (
        not customer_orders(customer_id, contact=contact, order_id=order_id)
        .filter(number=number)
        .exists()
    ):
        raise Http404("No such order.")
    return order_get(number)


def customer_return(customer_id: int, rma: str, *, contact: str, order_id: int | None) -> Return:
    return_request = (
        Return.objects.select_related("order", "policy")
        .filter(
            rma=rma,
            order__in=customer_orders(customer_id, contact=contact, order_id=order_id).values("pk"),
        )
        .first()
    )
    if return_request is None:
        raise Http404("No such return.")
    return return_request


def order_units(order: Order) -> list[dict]:
    """Every unit of the order (bar replacement lines) with its state in words
    and, if it cannot be returned, why."""
    returnable = order_returnable(order)
    ok = {uid for line in returnable for uid in line["returnable_units"]}
    units = (
        Unit.objects.filter(order=order, line__replacement_for__isnull=True)
        .select_related("sku", "line")
        .order_by("line__position", "index")
    )
    out = []
    for unit in units:
        out.append(
            {
                "unit": unit,
                "words": unit_words(unit.state),
                "returnable": unit.pk in ok,
                "why_not": ""
                if unit.pk in ok
                else (
                    "Already in a return"
                    if unit.state
                    in (UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED)
                    else "Not returnable"
                    if unit.state == UnitState.DELIVERED
                    else unit_words(unit.state)
                ),
            }
        )
    return out


def reasons_active():
    return ReturnReason.objects.filter(active=True).exclude(code="refused_at_door").order_by("pk")
