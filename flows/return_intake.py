"""Quoting and creating returns (API, portal, console wizard)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from orders.events import EventActor
from quality.services import return_items_validate
from returns.models import Return
from returns.services import (
    Plan,
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

from .reactions import return_changed


def return_plan(req: ReturnRequest, *, lock: bool = False) -> Plan:
    """Validate a request without writing: returns checks each unit, quality
    checks the defect lines (it may fill their defect code), then returns
    checks the refund method, classifies, scores the risk and estimates."""
    draft = return_plan_units(req, lock=lock)
    return_items_validate(req, draft.items)
    return return_plan_finish(draft)


def return_quote(req: ReturnRequest) -> dict:
    return quote_from_plan(return_plan(req))


def return_create(req: ReturnRequest, *, actor: EventActor) -> Return:
    """Create a return. All or nothing: a unit already in an open return, or
    an exchange that cannot be reserved, refuses the whole request (409). An
    approved return's reactions (keep-it refunds, SLA legs) run before the
    customer's message."""
    try:
        with transaction.atomic():
            plan = return_plan(req, lock=True)
            ret, items = return_create_from_plan(req, plan, actor)
            if ret.state != ReturnState.PENDING_REVIEW:
                keep_units_on_approval(ret, items, actor)
                return_changed(ret, actor)
            return_created_notify(ret, items, plan)
            return ret
    except IntegrityError as exc:
        conflict = return_unit_conflict(exc)
        if conflict is not None:
            raise conflict from exc
        raise
