"""Shared pieces of the return services: the current policy, locking, and
closing a settled return (``flows.reactions.return_changed`` decides when)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db import connection
from django.utils import timezone

from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.config_cache import config_cached
from oms.errors import Conflict, NotFound
from oms.prepared import prepared
from orders.events import EventActor
from orders.states import UnitState

from ..events import ReturnEventType, return_event
from ..models import Return, ReturnItem, ReturnPolicy
from ..states import OPEN_STATES, Resolution, ReturnState
from ..webhooks import return_webhook

SETTLED_UNIT_STATES = {
    UnitState.REFUNDED,
    UnitState.REPLACED,
    UnitState.KEPT,
    UnitState.RETURN_REJECTED,
    UnitState.RETURNED_TO_CUSTOMER,
    UnitState.NOT_CHARGED,
    UnitState.REPAIRED,
    UnitState.DELIVERED,  # a cancelled item's unit is back with the customer
}


@prepared
def _latest_policy():
    return ReturnPolicy.objects.order_by("-version")[:1]


def policy_current() -> ReturnPolicy:
    """The latest policy version (kept per process for a few seconds:
    ``oms.config_cache``); version 1 with the defaults on a new database."""
    found = config_cached(("policy",), _latest_policy)
    if not found:
        return ReturnPolicy.objects.create(version=1)
    return found[0]


def return_get_for_update(rma: str) -> Return:
    """Lock the return's order, then the return. Every writer of a return's
    units or money (events, review, refund issue, refund creation) takes the
    order's lock first, so concurrent changes to one order queue up instead
    of deadlocking (order → payments in one, payments → order in another).
    The order comes with its channel (webhooks, SLA rules) and without its
    raw payload, which no change reads. Both statements are compiled once
    (``oms.prepared``): every event on a return starts here."""
    # One statement finds and locks the order (FOR UPDATE OF the order only).
    if not _order_of_return_locked(rma):
        raise NotFound(f"Return {rma} does not exist.")
    found = _return_locked(rma)
    if not found:
        raise NotFound(f"Return {rma} does not exist.")
    return found[0]


def _return_locked_query():
    return (
        Return.objects.select_for_update(of=("self",))
        .select_related("order__channel", "policy", "location")
        .defer("order__raw")
        .order_by()
    )


@prepared
def _order_of_return_locked(rma):
    from orders.models import Order

    return (
        Order.objects.select_for_update(of=("self",))
        .filter(returns__rma=rma)
        .order_by()
        .values_list("pk", flat=True)
    )


@prepared
def _return_locked(rma):
    return _return_locked_query().filter(rma=rma)  # rma is unique: no ORDER BY


@prepared
def _return_locked_by_id(return_id):
    return _return_locked_query().filter(pk=return_id)


def return_lock(return_id: int) -> Return:
    """Lock a return by id (its order's lock is already held); its order comes
    with its channel and without its raw payload, as in ``return_get_for_update``."""
    found = _return_locked_by_id(return_id)
    if not found:
        raise Return.DoesNotExist(f"Return {return_id} does not exist.")
    return found[0]


# One compiled query per way of reading a return's items: (units locked,
# related, annotations).
_item_reads: dict[tuple, Callable[[int], list]] = {}


def _items_read(lock: bool, related: tuple[str, ...], annotate) -> Callable[[int], list]:
    key = (lock, related, annotate)
    run = _item_reads.get(key)
    if run is None:

        def build(return_id):
            qs = ReturnItem.objects.filter(return_request_id=return_id).select_related(
                "unit", "reason", "exchange_sku", *related
            )
            if annotate is not None:
                qs = qs.annotate(**annotate())
            if lock:
                # FOR UPDATE OF the unit only: rows are locked in the order
                # they come out, unit by unit in primary-key order, as a
                # separate lock would.
                return qs.select_for_update(of=("unit",)).order_by("unit_id")
            return qs.order_by("pk")

        build.__name__ = "return_items_locked" if lock else "return_items"
        run = _item_reads.setdefault(key, prepared(build))
    return run


def return_items(
    return_request: Return,
    *,
    lock_units: bool = False,
    related: tuple[str, ...] = (),
    annotate: Callable[[], dict] | None = None,
) -> list[ReturnItem]:
    """The return's items in primary-key order, each with its unit, reason
    and exchange SKU (and ``related``, and the annotations ``annotate()``
    gives). Each way of reading is compiled once (``oms.prepared``), keyed by
    ``annotate`` itself: pass a module-level function, not a new lambda on
    every call, which would compile (and prepare) a statement each time.
    ``lock_units``: the units are locked in their primary-key order, in the
    same statement."""
    lock = lock_units and connection.features.has_select_for_update
    items = _items_read(lock, tuple(related), annotate)(return_request.pk)
    if lock:
        items.sort(key=lambda i: i.pk)
    return items


def require_open(return_request: Return, action: str) -> None:
    if return_request.state == ReturnState.PENDING_REVIEW:
        raise Conflict(
            f"Return {return_request.rma} is waiting for review; '{action}' must wait for a decision.",
            code="invalid_state",
            extra={"state": return_request.state},
        )
    if return_request.state not in OPEN_STATES:
        raise Conflict(
            f"Return {return_request.rma} is {return_request.state}; '{action}' does not apply.",
            code="invalid_state",
            extra={"state": return_request.state},
        )


def transition(
    return_request: Return,
    method: Callable[..., object],
    *args,
    actor: EventActor,
    message: str = "",
    payload: dict | None = None,
) -> None:
    before = return_request.state
    method(return_request, *args)
    return_request.save()
    return_event(
        return_request,
        ReturnEventType.STATE,
        actor=actor,
        from_state=before,
        to_state=return_request.state,
        message=message or f"{before} → {return_request.state}",
        payload=payload,
    )


def release_reservations(items: list[ReturnItem], *, reference: str) -> None:
    moves: dict[tuple[int, int], int] = defaultdict(int)
    for item in items:
        if (
            item.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT)
            and item.reserved_at_id
            and not item.dispatched
        ):
            moves[(item.exchange_sku_id, item.reserved_at_id)] += 1
            item.reserved_at = None
            ReturnItem.objects.filter(pk=item.pk).update(reserved_at=None)
    if moves:
        stock_move_many(
            [Move(s, loc, n, Bucket.RESERVED, Bucket.SELLABLE) for (s, loc), n in moves.items()],
            reason="exchange_released",
            reference=reference,
        )


def return_settled(return_request: Return, items: list[ReturnItem] | None = None) -> bool:
    """True when an open return has every unit settled and every exchange
    dispatched: it can close once no money is pending for it. ``items``: the
    return's items as the caller's transaction holds them (units locked and
    current); read when not given."""
    if return_request.state not in (
        ReturnState.APPROVED,
        ReturnState.IN_TRANSIT,
        ReturnState.RECEIVED,
    ):
        return False
    if items is None:
        items = return_items(return_request)  # units read in the same statement
    states = {i.unit_id: i.unit.state for i in items}
    if not all(states[i.unit_id] in SETTLED_UNIT_STATES for i in items):
        return False
    return not any(
        i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT)
        and not i.dispatched
        and states[i.unit_id] not in (UnitState.RETURN_REJECTED, UnitState.RETURNED_TO_CUSTOMER)
        for i in items
    )


def return_close(return_request: Return, actor: EventActor) -> None:
    """Complete a settled return with no money pending."""
    ReturnItem.objects.filter(return_request=return_request).update(is_open=False)
    transition(
        return_request, Return.complete, timezone.now(), actor=actor, message="Every unit settled"
    )
    return_event(
        return_request,
        ReturnEventType.COMPLETED,
        actor=actor,
        message=f"Return {return_request.rma} completed",
    )
    return_webhook(return_request, "return.completed")
