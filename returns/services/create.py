"""Creating a planned return: rows, exchange-first reservation, unit moves and
events; and what approval does to keep-it units."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from inventory.selectors import location_by_id
from inventory.services import InsufficientStock, Move, stock_move_many
from inventory.services import location_default as inventory_location_default
from inventory.states import Bucket
from oms.errors import Conflict
from oms.prepared import insert_rows
from orders.events import EventActor
from orders.services import new_reference, units_transition

from ..events import ReturnEventType, return_event
from ..models import Return, ReturnItem
from ..states import NO_PICKUP, Resolution, ReturnState
from .plan import Plan, ReturnRequest, _err


def return_unit_conflict(exc: IntegrityError) -> Conflict | None:
    """The 409 for a unit that another return took meanwhile, else None."""
    if "unit_in_one_open_return" in str(exc) or "return_item" in str(exc).lower():
        return Conflict(
            "Some of these units were just put in another return.", code="units_in_open_return"
        )
    return None


def return_create_from_plan(
    req: ReturnRequest, plan: Plan, actor: EventActor
) -> tuple[Return, list[ReturnItem]]:
    """Write the return the plan describes: rows, reservations, unit moves and
    events, held for review or approved. The customer message follows the
    reactions (``return_created_notify``)."""
    order = plan.order
    location = None
    if req.location:
        from inventory.models import Location

        location = Location.objects.filter(code=req.location).first()
        if location is None:
            raise _err("location", f"unknown location {req.location!r}.")
    held = plan.risk_score >= plan.policy.risk_threshold
    # The order's warehouse, else the default one (read with the order).
    warehouse_id = order.ship_from_id or _default_location_id(order)
    (return_request,) = insert_rows(
        [
            Return(
                rma=new_reference("RMA"),
                order=order,
                type=plan.type,
                is_full_return=plan.is_full_return,
                state=ReturnState.PENDING_REVIEW if held else ReturnState.APPROVED,
                policy=plan.policy,
                refund_method=req.refund_method,
                payout_details=req.payout or {},
                location_id=location.pk if location is not None else warehouse_id,
                risk_score=plan.risk_score,
                risk_reasons=plan.risk_reasons,
                estimate=plan.breakdown,
                channel=req.channel,
                approved_at=None if held else timezone.now(),
            )
        ]
    )
    items = [
        ReturnItem(
            return_request=return_request,
            unit=p.unit,
            reason=p.reason,
            resolution=p.resolution,
            exchange_sku=p.exchange_sku,
            price_difference=p.price_difference,
            customer_serial=p.serial,
            customer_note=p.note,
            defect_code=p.defect_code,
        )
        for p in plan.items
    ]
    # Reserved before the items are written, so they are written with
    # ``reserved_at``; the order's lock is held, so nothing else reserves for
    # these units meanwhile, and a refusal rolls the whole return back.
    _reserve_exchanges(return_request, items, actor, warehouse_id)
    insert_rows(items)
    units_transition(
        [p.unit for p in plan.items],
        "request_return",
        actor=actor,
        message=f"in return {return_request.rma}",
        payload={"rma": return_request.rma},
    )
    return_event(
        return_request,
        ReturnEventType.CREATED,
        actor=actor,
        from_state="",
        to_state=return_request.state,
        message=f"{return_request.get_type_display()} of {len(items)} unit(s)"
        + (" (full return)" if return_request.is_full_return else ""),
        payload={
            "type": return_request.type,
            "units": [p.unit.pk for p in plan.items],
            "risk_score": return_request.risk_score,
            "policy_version": plan.policy.version,
            "estimate_total": plan.breakdown["total"],
        },
    )
    if held:
        return_event(
            return_request,
            ReturnEventType.HELD,
            actor=actor,
            message=f"Risk {return_request.risk_score} ≥ {plan.policy.risk_threshold}",
            payload={"reasons": return_request.risk_reasons},
        )
    return return_request, items


def return_created_notify(
    return_request: Return, items: list[ReturnItem], plan: Plan, dates: Mapping[str, Any]
) -> None:
    """The customer's message; ``dates`` are the promised ones (sla's clock,
    passed in by the use case)."""
    from ..messages import notify

    held = return_request.state == ReturnState.PENDING_REVIEW
    notify(
        return_request,
        "return_created",
        items=items,
        held=held,
        breakdown=plan.breakdown,
        dates=dates,
    )


def _default_location_id(order) -> int | None:
    """``inventory.services.location_default``'s id, annotated on the order
    by ``returns.services.plan`` (read here when an order comes without it)."""
    if hasattr(order, "default_location_id"):
        return order.default_location_id
    location = inventory_location_default()
    return location.pk if location is not None else None


def _reserve_exchanges(
    return_request: Return, items: list[ReturnItem], actor: EventActor, warehouse_id: int | None
) -> None:
    """Reserve the replacements at the order's warehouse (else the default
    one) and mark the (unsaved) items reserved there. ``InsufficientStock``
    refuses the whole return: it leaves the transaction, which rolls back."""
    wanted = [i for i in items if i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT)]
    if not wanted:
        return
    location = location_by_id(warehouse_id) if warehouse_id else None
    if location is None:
        raise Conflict("No warehouse to reserve the exchange from.", code="insufficient_stock")
    counts: dict[int, int] = defaultdict(int)
    for item in wanted:
        counts[item.exchange_sku_id] += 1
    try:
        stock_move_many(
            [
                Move(sku_id, location.pk, n, Bucket.SELLABLE, Bucket.RESERVED)
                for sku_id, n in counts.items()
            ],
            reason="exchange_reserve",
            reference=return_request.rma,
            savepoint=False,  # a refusal refuses the whole return
        )
    except InsufficientStock as exc:
        raise InsufficientStock(
            f"The exchange cannot be reserved: {exc.extra.get('sku')} is out of stock at {location.code}. "
            "Nothing was created; choose another variant or a refund.",
            extra={**exc.extra, "field": "items"},
        ) from exc
    if return_request.location_id == location.pk:
        return_request.location = location
    for item in wanted:
        item.reserved_at = location
    return_event(
        return_request,
        ReturnEventType.EXCHANGE_RESERVED,
        actor=actor,
        message=f"Replacement reserved at {location.code}",
        payload={"skus": {str(k): v for k, v in counts.items()}, "location": location.code},
    )


def keep_units_on_approval(
    return_request: Return, items: list[ReturnItem], actor: EventActor
) -> None:
    """What follows approval in returns: keep-it units are kept now (the
    keep-it refund falls due in ``flows.reactions.return_changed``)."""
    keep_units = [i.unit for i in items if i.resolution in NO_PICKUP]
    if keep_units:
        units_transition(
            keep_units,
            "keep",
            actor=actor,
            message=f"keep-it in {return_request.rma}",
            payload={"rma": return_request.rma},
        )
