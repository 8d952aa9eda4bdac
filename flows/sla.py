"""SLA checks and breach actions (ETA tasks, the beat sweep, the command).

A breach never re-enters sla through returns: sla decides (``breach_decide``,
reads only), the flow applies the decided return events with the reactions
minus sla, then sla syncs once, restarts the leg if decided and records the
breach. Timeline order: return events → sla sync → restarted leg →
``sla.leg_breached``."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from couriers.config import shiprocket_configured
from oms.errors import ApplicationError
from orders.events import TimelineEntry, timeline_record_rows
from orders.messaging import MessageSpec, message_enqueue_many
from orders.models import Order
from orders.services import event_claim_many
from orders.states import UnitState
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
    return_pickup_failed_many,
)
from returns.states import ReturnState, ReturnType
from sla.events import SYSTEM
from sla.models import Leg
from sla.selectors import leg_rma, return_sla_rules_set, sla_due_leg_ids
from sla.services import (
    BreachDecision,
    BreachStep,
    ChunkContext,
    Outcome,
    breach_decide,
    leg_breach_entry,
    leg_breach_record,
    leg_breach_start,
    leg_get_for_update,
    leg_mark_at_risk_if_due,
    leg_start,
    legs_breach_many,
    legs_mark_at_risk_many,
    legs_start_many,
    sla_chunk_context,
    sla_chunk_lock,
    sla_sync,
    sla_sync_plan,
)
from sla.states import OPEN_LEG_STATES, LegKind, LegState

from .couriers import pickup_reschedule_enqueue
from .reactions import return_changed

log = logging.getLogger(__name__)
SWEEP_CHUNK = 200
PICKUP_FAILED = "pickup_failed"  # the return event of a missed pickup


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


def _check_locked(
    leg: Leg, ret: Return, now: datetime, ctx: ChunkContext | None = None
) -> Outcome | None:
    """The check of one leg whose order, return and row are locked (``ctx``:
    its sweep chunk's reads, for the SLA rules)."""
    if leg.state not in OPEN_LEG_STATES:
        return None
    if now < leg.due_at:
        return Outcome(leg, "at_risk" if leg_mark_at_risk_if_due(leg, now) else "nothing")
    decision = breach_decide(leg, ret, now)
    before = leg_breach_start(leg, now)
    decision, changed = _act(leg, decision)
    if changed is not None:
        _keep_channel(changed, ret)
        if ctx is not None and changed.policy_id in ctx.rules:
            return_sla_rules_set(changed, ctx.rules[changed.policy_id])
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


class _BulkRefused(Exception):
    """The chunk's bulk apply met something it does not handle: the chunk's
    legs are checked one by one instead."""


@dataclass
class _Plan:
    """A chunk's legs sorted by what the sweep does with them. Decided in
    memory, applied in a constant number of statements, except ``single``:
    the rare actions (cancel, keep-it, QC auto-pass, exchange moves, a return
    with two legs in the chunk), checked one by one as ``sla_check_leg`` does."""

    at_risk: list[Leg] = field(default_factory=list)
    plain: list[tuple[Leg, BreachDecision]] = field(default_factory=list)
    finance: list[tuple[Leg, BreachDecision]] = field(default_factory=list)
    reschedule: list[tuple[Leg, BreachDecision]] = field(default_factory=list)
    single: set[int] = field(default_factory=set)


def _sweep_chunk(leg_ids: list[int], now: datetime) -> list[Outcome]:
    """One transaction: lock what no other runner holds (orders, returns,
    legs, in the lock order of every return change, ``SKIP LOCKED`` so racing
    sweeps and requests never wait on each other; what is skipped is due again
    at the next sweep), read what the decisions need for the whole chunk,
    decide in memory, then apply the common actions (at risk, escalations,
    missed pickups booked again) to all their legs at once in a savepoint.
    The rest, and the whole chunk if the bulk apply fails, is checked leg by
    leg, each in its own savepoint: a leg that fails is rolled back alone,
    logged, and retried by the next sweep."""
    done: dict[int, Outcome] = {}
    with transaction.atomic():
        legs = sla_chunk_lock(leg_ids)
        ctx = sla_chunk_context(legs)
        plan = _plan(legs, ctx, now)
        if len(plan.single) < len(legs):
            try:
                with transaction.atomic():
                    done = _apply_bulk(legs, plan, ctx, now)
            except Exception as exc:
                if not isinstance(exc, _BulkRefused):
                    log.exception("SLA bulk apply failed; checking the chunk leg by leg")
                legs = sla_chunk_lock([g.pk for g in legs])
                plan.single = {g.pk for g in legs}
        seen: set[int] = set()
        for leg in legs:
            if leg.pk not in plan.single:
                continue
            ret = leg.return_request
            if ret.pk in seen:
                # An earlier leg of this return changed it: read it again.
                ret = leg.return_request = return_get_for_update(ret.rma)
            seen.add(ret.pk)
            try:
                with transaction.atomic():
                    outcome = _check_locked(leg, ret, now, ctx)
            except Exception:
                log.exception("SLA check of leg %s failed; retried by the next sweep", leg.pk)
                continue
            if outcome is not None and outcome.what != "nothing":
                done[leg.pk] = outcome
    return [done[g.pk] for g in legs if g.pk in done]


def _plan(legs: list[Leg], ctx: ChunkContext, now: datetime) -> _Plan:
    plan = _Plan()
    per_return = Counter(g.return_request_id for g in legs)
    for leg in legs:
        ret = leg.return_request
        if per_return[ret.pk] > 1:
            plan.single.add(leg.pk)
        elif now < leg.due_at:
            if now >= leg.at_risk_at and leg.state == LegState.RUNNING:
                plan.at_risk.append(leg)
        else:
            try:
                decision = breach_decide(
                    leg, ret, now, items=ctx.items[ret.pk], holidays=ctx.leg_holidays(leg)
                )
            except Exception:  # the leg's own check logs it
                plan.single.add(leg.pk)
                continue
            if decision.fallback is not None:
                plan.single.add(leg.pk)
            elif not decision.steps and not decision.restart:
                (plan.plain if decision.escalate_until is None else plan.finance).append(
                    (leg, decision)
                )
            elif _reschedule_in_bulk(leg, ret, decision, ctx):
                plan.reschedule.append((leg, decision))
            else:
                plan.single.add(leg.pk)
    return plan


def _reschedule_in_bulk(leg: Leg, ret: Return, decision: BreachDecision, ctx: ChunkContext) -> bool:
    """A missed pickup booked again whose return event changes nothing but
    the attempt count: every unit still waits for its pickup (so quality,
    refunds and the return's closing have nothing to do, as at creation:
    ``flows.reactions.return_created``), no courier booking is queued by the
    change, and sla's sync after it changes no leg (the restart aside)."""
    if not (
        decision.action == "rescheduled"
        and decision.restart
        and decision.customer
        and decision.escalate_until is None
        and [s.type for s in decision.steps] == [PICKUP_FAILED]
        and not decision.steps[0].qc_passed_units
    ):
        return False
    items = ctx.items[ret.pk]
    if (
        ret.state != ReturnState.APPROVED
        or ret.type == ReturnType.QUALITY_REJECTION
        or not items
        or any(i.unit.state != UnitState.RETURN_REQUESTED for i in items)
        or any(i.replacement_unit_id is not None for i in items)
        or (shiprocket_configured() and not ret.pickup_status)
    ):
        return False
    after = [
        Leg(pk=g.pk, leg=g.leg, attempt=g.attempt, state=LegState.BREACHED) if g.pk == leg.pk else g
        for g in ctx.legs[ret.pk]
    ]
    money = ret.pk in ctx.money_open
    return not sla_sync_plan(ret, after, lambda: items, lambda: money)


def _apply_bulk(
    legs: list[Leg], plan: _Plan, ctx: ChunkContext, now: datetime
) -> dict[int, Outcome]:
    """Apply the planned actions to all their legs at once; the per-leg
    outcomes. Same rows as ``_check_locked`` leg by leg: each return's
    timeline keeps its order (the return event, the restarted leg, the
    breach, the customer's message)."""
    decisions = {leg.pk: d for leg, d in plan.plain}
    for leg, decision in plan.finance:
        count = refund_escalate(
            ret=leg.return_request,
            reason=f"refund SLA breached (leg {leg.pk})",
            new_date=decision.escalate_until,
            actor=SYSTEM,
        )
        decisions[leg.pk] = decision.counted(count)
    decisions.update((leg.pk, d) for leg, d in plan.reschedule)
    # Breached before the action, as ``leg_breach_start``: the restarted leg
    # is the one open leg of its kind.
    breached = [(g, decisions[g.pk]) for g in legs if g.pk in decisions]
    before = legs_breach_many(breached, now)
    started: dict[int, TimelineEntry] = {}
    if plan.reschedule:
        keys = [
            (f"return:{leg.return_request.rma}", f"sla-leg-{leg.pk}-{PICKUP_FAILED}")
            for leg, _ in plan.reschedule
        ]
        if len(event_claim_many(keys)) != len(keys):
            raise _BulkRefused  # an event already applied: the leg's own check skips it
        # The breach has its own customer message: the event queues none.
        return_pickup_failed_many(
            [(leg.return_request, d.steps[0].reason) for leg, d in plan.reschedule],
            SYSTEM,
            email_customer=False,
        )
        new = legs_start_many(
            [(leg.return_request, leg.leg, leg.attempt + 1) for leg, _ in plan.reschedule],
            at=now,
            holidays=ctx.holidays,
        )
        for (leg, _), (_, entry) in zip(plan.reschedule, new, strict=True):
            started[leg.pk] = entry
            # The reschedule books a new pickup with the courier holding it.
            pickup_reschedule_enqueue(leg.return_request)
    at_risk = dict(
        zip([g.pk for g in plan.at_risk], legs_mark_at_risk_many(plan.at_risk, now), strict=True)
    )
    entries: list[TimelineEntry] = []
    messages: list[MessageSpec] = []
    outcomes: dict[int, Outcome] = {}
    for leg in legs:
        if leg.pk in at_risk:
            entries.append(at_risk[leg.pk])
            outcomes[leg.pk] = Outcome(leg, "at_risk")
        elif leg.pk in decisions:
            decision = decisions[leg.pk]
            if leg.pk in started:
                entries.append(started[leg.pk])
            entry, message = leg_breach_entry(
                leg, leg.return_request, decision, now, before=before[leg.pk]
            )
            entries.append(entry)
            if message is not None:
                messages.append(message)
            outcomes[leg.pk] = Outcome(leg, "breached", decision.action, decision.reason)
    timeline_record_rows(entries)
    message_enqueue_many(messages)
    return outcomes
