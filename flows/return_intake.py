"""Quoting and creating returns (API, portal, console wizard)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from oms.errors import ApplicationError, Conflict
from orders.events import EventActor, timeline_batched
from quality.services import return_items_validate
from refunds.calculator import order_payments, refund_quote
from returns.events import ReturnEventType
from returns.models import Return
from returns.services import (
    ItemRequest,
    Plan,
    ReturnEventData,
    ReturnRequest,
    keep_units_on_approval,
    quote_from_plan,
    return_create_from_plan,
    return_created_notify,
    return_plan_finish,
    return_plan_units,
    return_unit_conflict,
)
from returns.states import ReturnState
from sla.selectors import return_promised_dates

from .reactions import return_changed, return_created, return_created_waits
from .return_events import return_handle_event


def return_plan(req: ReturnRequest, *, lock: bool = False) -> Plan:
    """Validate a request without writing: returns checks each unit, quality
    checks the defect lines (it may fill their defect code), then returns
    checks the refund method, classifies and scores the risk; refunds
    estimates with the calculator its refunds will use when due."""
    draft = return_plan_units(req, lock=lock)
    return_items_validate(req, draft.items)
    plan = return_plan_finish(draft, order_payments(draft.order))
    plan.breakdown = refund_quote(plan, req.refund_method)  # the refunds' own batches
    return plan


def return_quote(req: ReturnRequest) -> dict:
    return quote_from_plan(return_plan(req))


def return_create(req: ReturnRequest, *, actor: EventActor) -> Return:
    """Create a return. All or nothing: a unit already in an open return, or
    an exchange that cannot be reserved, refuses the whole request (409). An
    approved return's reactions (keep-it refunds, SLA legs) run before the
    customer's message.

    The timeline rows of the creation (units, return, SLA legs, the message)
    go in one insert (``timeline_batched``) when the return is held or only its
    SLA clock starts; the whole reaction chain reads the timeline (refunds
    due), so it runs after the rows so far are written."""
    try:
        with transaction.atomic():
            with timeline_batched():
                plan = return_plan(req, lock=True)
                return_request, items = return_create_from_plan(req, plan, actor)
                approved = return_request.state != ReturnState.PENDING_REVIEW
                if approved:
                    keep_units_on_approval(return_request, items, actor)
                held_as_is = not approved or return_created_waits(return_request, items)
                if held_as_is:
                    if approved:
                        return_created(return_request, items, actor)
                    _notify(return_request, items, plan)
            if not held_as_is:
                return_changed(return_request, actor)
                _notify(return_request, items, plan)
            # The objects the transaction holds, for the caller's response
            # (returns.apis.create); when the full chain ran they may be stale.
            if held_as_is:
                return_request.__dict__["created_items"] = items
            return return_request
    except IntegrityError as exc:
        conflict = return_unit_conflict(exc)
        if conflict is not None:
            raise conflict from exc
        raise


def _notify(return_request: Return, items: list, plan: Plan) -> None:
    dates = return_promised_dates(return_request, legs=[])  # sla's clock
    return_created_notify(return_request, items, plan, dates)


def return_modify_lines(*, rma: str, keep_units: list[int], actor: EventActor) -> Return:
    """Cancel a return held for review and create it again with fewer lines,
    under the same reasons, resolutions and refund method (console). All or
    nothing: the two use cases run nested in one transaction."""
    return_request = Return.objects.filter(rma=rma).first()
    if return_request is None:
        raise ApplicationError(f"Return {rma} does not exist.", code="not_found")
    if return_request.state != ReturnState.PENDING_REVIEW:
        raise Conflict(
            f"Return {rma} is {return_request.state}; only a held return can be modified."
        )
    items = list(return_request.items.select_related("reason", "exchange_sku").order_by("pk"))
    kept = [i for i in items if i.unit_id in set(keep_units)]
    if not kept:
        raise ApplicationError("Keep at least one line; to drop them all, reject the return.")
    if len(kept) == len(items):
        raise ApplicationError("Remove at least one line.")
    with transaction.atomic():
        return_handle_event(
            rma=rma,
            data=ReturnEventData(
                type=ReturnEventType.CANCELLED.kind,
                reason=f"lines modified by {actor.label}; replaced by a new return",
            ),
            actor=actor,
        )
        return return_create(
            ReturnRequest(
                order=return_request.order.number,
                refund_method=return_request.refund_method,
                payout=return_request.payout_details,
                channel="console",
                items=[
                    ItemRequest(
                        unit=i.unit_id,
                        reason=i.reason.code,
                        resolution=i.resolution,
                        exchange_sku=i.exchange_sku.code if i.exchange_sku else None,
                        serial=i.customer_serial,
                        note=i.customer_note,
                    )
                    for i in kept
                ],
            ),
            actor=actor,
        )
