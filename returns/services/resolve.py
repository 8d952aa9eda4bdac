"""Changing how a return is resolved, as an agent or the SLA sweeper would:
convert units still waiting for pickup to keep-it, convert an exchange to a
refund, or move an exchange's reservation to another location or to an
alternate SKU the customer allowed. Called through ``return_handle_event``."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q

from inventory.models import SKU, Location
from inventory.services import InsufficientStock, Move, stock_move_many
from inventory.states import Bucket
from oms.errors import ApplicationError, Conflict
from orders.allocation import exchange_difference
from orders.events import EventActor
from orders.services import units_transition
from orders.states import UnitState

from ..events import ReturnEventType, return_event
from ..models import Return, ReturnItem
from ..states import Resolution, ReturnState
from .common import release_reservations, require_open, return_items, transition


def convert_to_keep(return_request: Return, data, actor: EventActor) -> None:
    """Units not yet picked up become keep-it: refunded without collection.
    Never a unit whose replacement already shipped, and never above the
    policy's keep-it limit."""
    require_open(return_request, "convert_to_keep")
    items = [
        i
        for i in return_items(return_request, lock_units=True)
        if i.resolution != Resolution.KEEP
        and i.unit.state == UnitState.RETURN_REQUESTED
        and not i.dispatched
    ]
    if not items:
        raise Conflict(
            "No unit of this return is waiting for pickup without a replacement already shipped.",
            code="invalid_state",
        )
    value = sum((i.unit.net_paid for i in items), Decimal("0"))
    if value > return_request.policy.keep_it_max_value:
        raise Conflict(
            f"Keep-it is limited to {return_request.policy.keep_it_max_value} under policy v{return_request.policy.version}; "
            f"these units are worth {value}.",
            code="keep_not_allowed",
            extra={"value": str(value), "limit": str(return_request.policy.keep_it_max_value)},
        )
    ensure_refund_method(return_request, actor)
    release_reservations(items, reference=return_request.rma)
    ReturnItem.objects.filter(pk__in=[i.pk for i in items]).update(resolution=Resolution.KEEP)
    units_transition(
        [i.unit for i in items],
        "keep",
        actor=actor,
        message=f"converted to keep-it ({data.reason})",
        payload={"rma": return_request.rma},
    )
    return_event(
        return_request,
        ReturnEventType.CONVERTED_TO_KEEP,
        actor=actor,
        message=data.reason or "Converted to keep-it",
        payload={"units": [i.unit_id for i in items]},
    )
    if return_request.state == ReturnState.APPROVED and not any(
        i.unit.state == UnitState.RETURN_REQUESTED
        for i in return_items(return_request)
        if i.resolution != Resolution.KEEP
    ):
        received = [
            i for i in return_items(return_request) if i.unit.state not in (UnitState.KEPT,)
        ]
        if received:
            transition(return_request, Return.mark_in_transit, actor=actor)


def convert_to_refund(return_request: Return, data, actor: EventActor) -> None:
    """Exchanges not yet dispatched become refunds (reservation released).
    The merchant could not ship, so no fees are charged, and a price
    difference the customer already paid is refunded with the unit."""
    require_open(return_request, "convert_to_refund")
    items = [
        i
        for i in return_items(return_request, lock_units=True)
        if i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT)
        and not i.dispatched
        and (data.units is None or i.unit_id in data.units)
    ]
    if not items:
        raise Conflict(
            "No exchange on this return is waiting to be dispatched.", code="invalid_state"
        )
    ensure_refund_method(return_request, actor)
    release_reservations(items, reference=return_request.rma)
    for item in items:
        ReturnItem.objects.filter(pk=item.pk).update(
            resolution=Resolution.REFUND,
            fees_waived=True,
            price_difference=item.price_difference if item.difference_collected else Decimal("0"),
        )
    waiting = [i.unit for i in items if i.unit.state == UnitState.PENDING_EXCHANGE]
    # A unit that already passed QC for an exchange is now due a refund.
    units_transition(
        waiting,
        "convert_exchange_to_refund",
        actor=actor,
        message="exchange converted: refund due",
        payload={"rma": return_request.rma},
    )
    return_event(
        return_request,
        ReturnEventType.CONVERTED_TO_REFUND,
        actor=actor,
        message=data.reason or "Exchange converted to refund",
        payload={"units": [i.unit_id for i in items]},
    )


def ensure_refund_method(return_request: Return, actor: EventActor) -> None:
    """A return that starts moving money must use a refund method its order's
    tenders allow (cash on delivery: store credit or bank payout, never
    'original'). Exchanges carried no money, so this is checked again here."""
    methods = list(return_request.order.payments.values_list("method", flat=True))
    allowed = return_request.policy.allowed_refund_methods(methods)
    if return_request.refund_method in allowed or not allowed:
        return
    fallback = "store_credit" if "store_credit" in allowed else allowed[0]
    if fallback == "bank_transfer" and not return_request.payout_details:
        fallback = "store_credit"
    before = return_request.refund_method
    Return.objects.filter(pk=return_request.pk).update(refund_method=fallback)
    return_request.refund_method = fallback
    return_event(
        return_request,
        ReturnEventType.REFUND_METHOD_CHANGED,
        actor=actor,
        message=f"Refund method {before} is not allowed for {', '.join(sorted(set(methods)))}; using {fallback}",
        payload={"from": before, "to": fallback},
    )


def exchange_relocate(return_request: Return, data, actor: EventActor) -> bool:
    """Move undispatched exchange reservations to another location with stock,
    or to an alternate SKU the customer allowed. False when neither is possible."""
    require_open(return_request, "exchange_relocated")
    items = [
        i
        for i in return_items(return_request, lock_units=True)
        if i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT)
        and not i.dispatched
        and i.reserved_at_id
    ]
    if not items:
        raise Conflict("No reserved exchange to move.", code="invalid_state")
    moved = []
    for item in items:
        target = _alternate_location(item, data.location)
        new_sku = item.exchange_sku
        if target is None and item.alternate_sku_id:
            new_sku = item.alternate_sku
            target = _location_with_stock(new_sku, exclude=None)
        if target is None:
            continue
        try:
            stock_move_many(
                [
                    Move(
                        item.exchange_sku_id,
                        item.reserved_at_id,
                        1,
                        Bucket.RESERVED,
                        Bucket.SELLABLE,
                    ),
                    Move(new_sku.pk, target.pk, 1, Bucket.SELLABLE, Bucket.RESERVED),
                ],
                reason="exchange_relocated",
                reference=return_request.rma,
            )
        except InsufficientStock:
            continue
        ReturnItem.objects.filter(pk=item.pk).update(
            reserved_at=target,
            exchange_sku=new_sku,
            price_difference=exchange_difference(
                net_paid=item.unit.net_paid,
                old_price=item.unit.sku.price or item.unit.line.unit_price,
                new_price=new_sku.price,
                currency=return_request.order.currency,
            ),
        )
        moved.append({"unit": item.unit_id, "location": target.code, "sku": new_sku.code})
    if not moved:
        return False
    return_event(
        return_request,
        ReturnEventType.EXCHANGE_RELOCATED,
        actor=actor,
        message=data.reason or "Exchange moved",
        payload={"moves": moved},
    )
    return True


def _alternate_location(item: ReturnItem, preferred: str | None) -> Location | None:
    if preferred:
        loc = Location.objects.filter(code=preferred).first()
        if loc is None:
            raise ApplicationError(
                f"location: unknown location {preferred!r}.", extra={"field": "location"}
            )
        return loc
    return _location_with_stock(item.exchange_sku, exclude=item.reserved_at_id)


def _location_with_stock(sku: SKU, exclude: int | None) -> Location | None:
    qs = Location.objects.filter(
        balances__sku=sku, balances__bucket=Bucket.SELLABLE, balances__quantity__gt=0
    )
    if exclude:
        qs = qs.filter(~Q(pk=exclude))
    return qs.order_by("-balances__quantity", "pk").first()
