"""Reads for the portal (and the console's return pages): a customer's
orders, what can be returned, exchange variants with live stock, and a
return's progress leg by leg."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q
from django.http import Http404

from inventory.models import SKU
from inventory.selectors import stock_available
from inventory.services import location_default
from orders.models import Order, TimelineEvent, Unit
from orders.selectors import order_get
from orders.states import UnitState
from returns.models import Return, ReturnReason
from returns.selectors import order_returnable
from returns.services import policy_current
from returns.services.common import expected_dates
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
    ret = (
        Return.objects.select_related("order", "policy")
        .filter(
            rma=rma,
            order__in=customer_orders(customer_id, contact=contact, order_id=order_id).values("pk"),
        )
        .first()
    )
    if ret is None:
        raise Http404("No such return.")
    return ret


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
    return policy_current().allowed_refund_methods([p.method for p in order.payments.all()])


def return_events(ret: Return):
    from refunds.models import Refund

    refund_ids = [
        str(pk) for pk in Refund.objects.filter(return_request=ret).values_list("pk", flat=True)
    ]
    return TimelineEvent.objects.filter(
        Q(order_id=ret.order_id)
        & (
            Q(entity="return", entity_id=ret.rma)
            | Q(payload__rma=ret.rma)
            | Q(entity="refund", entity_id__in=refund_ids)
        )
    ).order_by("occurred_at", "pk")


def sla_legs(ret: Return) -> list:
    """SLA legs of the return when the sla app provides them; else []."""
    if not apps.is_installed("sla"):
        return []
    try:
        Leg = apps.get_model("sla", "Leg")
    except LookupError:
        return []
    fk = next((f.name for f in Leg._meta.fields if f.related_model is Return), None)
    if fk is None:
        return []
    return list(Leg.objects.filter(**{fk: ret}).order_by("pk"))


def return_legs(ret: Return, events=None) -> list[dict]:
    """Requested → (review) → picked up → received → inspected → refunded /
    exchange dispatched, each done, current or to come, with when it happened
    or is expected (SLA due times when the sla app has them)."""
    events = list(events if events is not None else return_events(ret))
    first: dict[str, object] = {}
    for e in events:
        first.setdefault(e.type, e.occurred_at)
    items = list(ret.items.select_related("unit"))
    resolutions = {i.resolution for i in items}
    expected = expected_dates(
        ret.policy,
        start=ret.approved_at or ret.created_at,
        pickup=ret.type != ReturnType.DOORSTEP_REFUSAL,
    )
    due = {}
    for leg in sla_legs(ret):
        due[getattr(leg, "leg", "")] = getattr(leg, "due_at", None)
    legs = [{"key": "requested", "label": "Return requested", "at": ret.created_at}]
    if "return.held_for_review" in first or ret.state in (
        ReturnState.PENDING_REVIEW,
        ReturnState.REJECTED,
    ):
        legs.append(
            {
                "key": "review",
                "label": "Rejected after review"
                if ret.state == ReturnState.REJECTED
                else "Reviewed and approved",
                "at": first.get("return.approved") or first.get("return.rejected"),
                "failed": ret.state == ReturnState.REJECTED,
            }
        )
    needs_pickup = ret.type != ReturnType.DOORSTEP_REFUSAL and resolutions != {Resolution.KEEP}
    if needs_pickup:
        legs.append(
            {
                "key": "pickup",
                "label": "Picked up by the courier",
                "at": first.get("return.pickup_completed"),
                "due": due.get("pickup") or expected["pickup_by"],
            }
        )
        legs.append(
            {
                "key": "received",
                "label": "Received at our warehouse",
                "at": first.get("return.received"),
            }
        )
        legs.append(
            {
                "key": "qc",
                "label": "Inspected",
                "at": first.get("return.qc_result"),
                "due": due.get("qc"),
            }
        )
    if resolutions & {Resolution.EXCHANGE, Resolution.REPLACEMENT}:
        legs.append(
            {
                "key": "exchange",
                "label": "Exchange dispatched",
                "at": first.get("return.exchange_dispatched"),
                "due": due.get("exchange_dispatch") or expected["exchange_by"],
            }
        )
    if (
        resolutions & {Resolution.REFUND, Resolution.KEEP}
        or ret.type == ReturnType.DOORSTEP_REFUSAL
    ):
        legs.append(
            {
                "key": "refund",
                "label": "Refund issued",
                "at": first.get("refund.issued"),
                "due": due.get("refund") or expected["refund_by"],
            }
        )
    closed = ret.state in (ReturnState.CANCELLED, ReturnState.REJECTED)
    current_set = False
    for leg in legs:
        if leg.get("failed"):
            leg["status"] = "failed"
        elif leg["at"]:
            leg["status"] = "done"
        elif not current_set and not closed:
            leg["status"] = "current"
            current_set = True
        else:
            leg["status"] = "todo"
    if ret.state == ReturnState.CANCELLED:
        legs.append(
            {"key": "cancelled", "label": "Cancelled", "at": ret.closed_at, "status": "failed"}
        )
    return legs
