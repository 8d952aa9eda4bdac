"""SLA checks and breach actions (ETA tasks, the beat sweep, the command).

A breach never re-enters sla through returns: sla decides (``breach_decide``,
reads only), the flow applies the decided return events with the reactions
minus sla, then sla syncs once, restarts the leg if decided and records the
breach. Timeline order: return events → sla sync → restarted leg →
``sla.leg_breached``."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from oms.errors import ApplicationError
from orders.models import Order
from refunds.services import refund_escalate
from returns.models import Return
from returns.services import (
    QcResult,
    ReturnEventData,
    return_event_actor,
    return_event_claim,
    return_event_handle,
    return_get_for_update,
    return_lock,
)
from sla.events import SYSTEM
from sla.models import Leg
from sla.selectors import leg_rma, sla_due_leg_ids
from sla.services import (
    BreachDecision,
    BreachStep,
    Outcome,
    breach_decide,
    leg_breach_record,
    leg_breach_start,
    leg_get_for_update,
    leg_mark_at_risk_if_due,
    leg_start,
    sla_chunk_lock,
    sla_sync,
)
from sla.states import OPEN_LEG_STATES, LegKind

from .couriers import pickup_reschedule_enqueue
from .reactions import return_changed

log = logging.getLogger(__name__)
SWEEP_CHUNK = 200


def sla_check_leg(*, leg_id: int, now: datetime | None = None) -> Outcome | None:
    """Mark a leg at risk or breach it, once. Safe to run any number of times,
    from tasks and sweeps at once: the leg row is locked and its state
    re-read, so the second runner finds it already handled."""
    now = now or timezone.now()
    rma = leg_rma(leg_id)
    if rma is None:
        return None
    with transaction.atomic():
        # Same lock order as every return change (order, return, then legs).
        ret = return_get_for_update(rma)
        leg = leg_get_for_update(leg_id)
        if leg is None:
            return None
        return _check_locked(leg, ret, now)


def _check_locked(leg: Leg, ret: Return, now: datetime) -> Outcome | None:
    """The check of one leg whose order, return and row are locked."""
    if leg.state not in OPEN_LEG_STATES:
        return None
    if now < leg.due_at:
        return Outcome(leg, "at_risk" if leg_mark_at_risk_if_due(leg, now) else "nothing")
    decision = breach_decide(leg, ret, now)
    before = leg_breach_start(leg, now)
    decision, changed = _act(leg, decision)
    if changed is not None:
        _keep_channel(changed, ret)
        sla_sync(changed, SYSTEM, at=now)
        ret = changed
    if decision.restart:
        leg_start(ret, leg.leg, at=now, attempt=leg.attempt + 1)
        if leg.leg == LegKind.PICKUP:
            # The reschedule books a new pickup with the courier holding it.
            pickup_reschedule_enqueue(ret)
    return leg_breach_record(leg, ret, decision, now, before=before)


def _keep_channel(changed: Return, ret: Return) -> None:
    """The re-read return keeps the order's channel already loaded (the SLA
    rule of a restarted leg reads it): one statement fewer per leg."""
    if Order.channel.is_cached(ret.order) and changed.order.channel_id == ret.order.channel_id:
        changed.order.channel = ret.order.channel


def _act(leg: Leg, decision: BreachDecision) -> tuple[BreachDecision, Return | None]:
    """Apply the decision in a savepoint (its fallback in another); on an
    ApplicationError nothing stays and a supervisor takes over."""
    try:
        with transaction.atomic():
            if decision.fallback is None:
                return _apply(leg, decision)
            try:
                with transaction.atomic():
                    return _apply(leg, decision)
            except ApplicationError:
                return _apply(leg, decision.fallback)
    except ApplicationError as exc:
        return decision.escalated(exc.message), None


def _apply(leg: Leg, decision: BreachDecision) -> tuple[BreachDecision, Return | None]:
    changed = None
    for step in decision.steps:
        data = _event_data(leg, step, email_customer=not decision.customer)
        actor = return_event_actor(data, SYSTEM)
        # The order and the return are locked already (sweep chunk or
        # ``sla_check_leg``): re-read the return only, fresh for each step.
        changed = return_lock(leg.return_request_id)
        if return_event_claim(changed, data):
            return_event_handle(changed, data, actor)
            return_changed(changed, actor, sync_sla=False)
    if decision.escalate_until is not None:
        count = refund_escalate(
            ret=leg.return_request,
            reason=f"refund SLA breached (leg {leg.pk})",
            new_date=decision.escalate_until,
            actor=SYSTEM,
        )
        decision = decision.counted(count)
    return decision, changed


def _event_data(leg: Leg, step: BreachStep, *, email_customer: bool) -> ReturnEventData:
    """The return event of one step. When the breach has its own customer
    message (``leg_breach_record``), the event queues none: one message per
    breach."""
    results = [
        QcResult(unit=u, passed=True, grade="auto", notes="auto-passed: QC SLA breached")
        for u in step.qc_passed_units
    ]
    return ReturnEventData(
        type=step.type,
        event_id=f"sla-leg-{leg.pk}-{step.type}",
        reason=step.reason,
        results=results,
        email_customer=email_customer,
    )


def sla_sweep(
    *, now: datetime | None = None, limit: int = 5000, chunk: int = SWEEP_CHUNK
) -> list[Outcome]:
    """One pass in this process: legs past 80% become at risk, legs past due
    are breached and acted on, ``chunk`` legs per transaction. (The beat task
    fans the same ids out to the workers instead.)"""
    now = now or timezone.now()
    outcomes: list[Outcome] = []
    ids = sla_due_leg_ids(now=now, limit=limit)
    for start in range(0, len(ids), chunk):
        outcomes += _sweep_chunk(ids[start : start + chunk], now)
    return outcomes


def _sweep_chunk(leg_ids: list[int], now: datetime) -> list[Outcome]:
    """One transaction: lock what no other runner holds (orders, returns,
    legs, in the lock order of every return change, ``SKIP LOCKED`` so racing
    sweeps and requests never wait on each other; what is skipped is due again
    at the next sweep), then check each leg in its own savepoint: a leg that
    fails is rolled back alone, logged, and retried by the next sweep."""
    outcomes: list[Outcome] = []
    with transaction.atomic():
        legs = sla_chunk_lock(leg_ids)
        seen: set[int] = set()
        for leg in legs:
            ret = leg.return_request
            if ret.pk in seen:
                # An earlier leg of this return changed it: read it again.
                ret = leg.return_request = return_get_for_update(ret.rma)
            seen.add(ret.pk)
            try:
                with transaction.atomic():
                    outcome = _check_locked(leg, ret, now)
            except Exception:
                log.exception("SLA check of leg %s failed; retried by the next sweep", leg.pk)
                continue
            if outcome is not None and outcome.what != "nothing":
                outcomes.append(outcome)
    return outcomes
