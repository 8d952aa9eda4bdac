"""Reads for the portal: a customer's orders and returns, and what each unit's
state means to the customer. Exchange variants, refund methods and a
return's progress are shared read models (returns.selectors, flows.read)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from oms.dates import fmt
from orders.models import Order, Unit
from orders.selectors import order_get
from orders.states import OPEN_RETURN_STATES, UnitState
from refunds.models import StoreCredit
from returns.models import Return, ReturnItem, ReturnReason
from returns.selectors import order_returnable
from returns.services import policy_current, sku_is_returnable, window_ends_at
from returns.states import Resolution, ReturnState, ReturnType

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
    and, if it cannot be returned, why, in the customer's words: already in a
    return (which), not delivered yet, final sale, window ended on a date."""
    returnable = order_returnable(order)
    ok = {uid for line in returnable for uid in line["returnable_units"]}
    policy = policy_current()
    units = (
        Unit.objects.filter(order=order, line__replacement_for__isnull=True)
        .select_related("sku", "line")
        .order_by("line__position", "index")
    )
    open_rma = dict(
        ReturnItem.objects.filter(return_request__order=order, is_open=True).values_list(
            "unit_id", "return_request__rma"
        )
    )
    out = []
    for unit in units:
        out.append(
            {
                "unit": unit,
                "words": unit_words(unit.state),
                "returnable": unit.pk in ok,
                "why_not": "" if unit.pk in ok else why_not(unit, policy, open_rma.get(unit.pk)),
            }
        )
    return out


def why_not(unit: Unit, policy, rma: str | None) -> str:
    if unit.state in OPEN_RETURN_STATES or rma:
        return f"Already in return {rma}" if rma else "Already in a return"
    if unit.state in (UnitState.ORDERED, UnitState.ALLOCATED, UnitState.SHIPPED):
        return "Not delivered yet"
    if unit.state != UnitState.DELIVERED:
        return unit_words(unit.state)
    if not sku_is_returnable(unit.sku, policy):
        return "Final sale: can't be returned (a fault is still covered by the warranty)"
    ends = window_ends_at(unit, policy)
    if ends is not None and ends < timezone.now():
        return f"Return window ended on {fmt(ends, '%d %b %Y')}"
    return "Can't be returned"


# What a customer reads for a return's kind: never the internal type names.
def return_title(return_request: Return, items) -> str:
    resolutions = {i.resolution for i in items}
    money = "refund"
    if resolutions & {Resolution.REPLACEMENT}:
        money = "replacement"
    elif resolutions == {Resolution.REPAIR}:
        money = "repair"
    elif resolutions == {Resolution.PARTIAL_CREDIT}:
        money = "partial refund, keep the item"
    if return_request.type == ReturnType.QUALITY_REJECTION:
        return f"Damaged or faulty item – {money}"
    if return_request.type == ReturnType.DOORSTEP_REFUSAL:
        return "Refused at delivery"
    if return_request.type == ReturnType.EXCHANGE:
        return "Exchange" + (" and refund" if Resolution.REFUND in resolutions else "")
    return "Return everything – refund" if return_request.is_full_return else "Return – refund"


CUSTOMER_STATE = {
    ReturnState.PENDING_REVIEW: "Being reviewed",
    ReturnState.APPROVED: "Booked, waiting for pickup",
    ReturnState.IN_TRANSIT: "On its way to us",
    ReturnState.RECEIVED: "Arrived, being checked",
    ReturnState.COMPLETED: "Done",
    ReturnState.REJECTED: "Not approved",
    ReturnState.CANCELLED: "Cancelled",
}

CUSTOMER_RESOLUTION = {
    Resolution.REFUND: "Refund",
    Resolution.EXCHANGE: "Exchange",
    Resolution.REPLACEMENT: "Replacement",
    Resolution.KEEP: "Refund, keep the item",
    Resolution.PARTIAL_CREDIT: "Partial refund, keep the item",
    Resolution.REPAIR: "Repair",
}


def refund_status(return_request: Return, refunds: list) -> dict:
    """What the refund box says: refunded (with the amount, date and
    references) once issued, on its way while pending, else the estimate."""
    issued = [r for r in refunds if r.state == "issued"]
    pending = [r for r in refunds if r.state in ("pending", "failed")]
    refs = []
    credit_codes = []
    for r in issued:
        note = getattr(r, "credit_note", None)
        if note is not None:
            refs.append(note.number)
        refs.extend(t.gateway_reference for t in r.tenders.all() if t.gateway_reference)
        credit = StoreCredit.objects.filter(refund=r).first()
        if credit is not None:
            credit_codes.append(credit.code)
    return {
        "issued": bool(issued),
        "amount": sum((r.amount for r in issued), Decimal("0.00")),
        "issued_at": max((r.issued_at for r in issued if r.issued_at), default=None),
        "pending": sum((r.amount for r in pending), Decimal("0.00")),
        "references": refs,
        "credit_codes": credit_codes,
        "estimate": (return_request.estimate or {}).get("total") or "0.00",
        "currency": (return_request.estimate or {}).get("currency")
        or return_request.order.currency,
    }


def reasons_active():
    return ReturnReason.objects.filter(active=True).exclude(code="refused_at_door").order_by("pk")
