"""SLA legs: started and completed by reconciling with the return after every
change (``flows.reactions.return_changed`` calls ``sla_sync``), and marked at
risk at 80% of their time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connections, router
from django.utils import timezone
from django_fsm import ConcurrentTransition

from oms.dates import fmt
from oms.prepared import insert_rows, prepared, run_sql
from orders.events import EventActor, TimelineEntry, timeline_record
from orders.states import UnitState
from refunds.selectors import refund_open_for_return
from returns.models import Return, ReturnItem
from returns.selectors import return_items_read
from returns.states import NO_PICKUP, PickupStatus, Resolution, ReturnState, ReturnType

from ..calendar import add_hours
from ..events import SYSTEM, SlaEventType, sla_event, sla_event_entry
from ..models import Leg, SlaRule
from ..selectors import return_sla_rule
from ..states import OPEN_LEG_STATES, LegKind, LegState

RECEIVED_OR_LATER = {
    UnitState.RETURNED,
    UnitState.PENDING_REFUND,
    UnitState.PENDING_EXCHANGE,
    UnitState.REFUNDED,
    UnitState.REPLACED,
    UnitState.RETURN_REJECTED,
    UnitState.RETURNED_TO_CUSTOMER,
    UnitState.NOT_CHARGED,
}
WAITING_QC = {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED}
CLOSED_EVENT = {
    LegState.COMPLETED: SlaEventType.LEG_COMPLETED,
    LegState.CANCELLED: SlaEventType.LEG_CANCELLED,
}


def _leg_new(
    ret: Return, kind: str, *, at: datetime, attempt: int, holidays: dict[int, set] | None
) -> Leg:
    rule = return_sla_rule(ret, kind)
    hours, calendar, owner = rule.hours, rule.calendar, rule.owner_team
    days = None if holidays is None or calendar is None else holidays[calendar.pk]
    return Leg(
        return_request=ret,
        leg=kind,
        attempt=attempt,
        owner_team=owner,
        hours=hours,
        calendar=calendar,
        started_at=at,
        at_risk_at=add_hours(at, hours * Decimal("0.8"), calendar, days),
        due_at=add_hours(at, hours, calendar, days),
    )


def _started(leg: Leg, at: datetime, actor: EventActor) -> TimelineEntry:
    hours, calendar = leg.hours, leg.calendar
    return sla_event_entry(
        leg,
        SlaEventType.LEG_STARTED,
        f"{leg.get_leg_display()} clock started ({hours}h"
        + (f", {calendar.name} business hours" if calendar else "")
        + f"), due {fmt(leg.due_at, '%d %b %H:%M')}",
        at=at,
        actor=actor,
        payload={"attempt": leg.attempt, "owner": leg.owner_team},
    )


def leg_start(
    ret: Return, kind: str, *, at: datetime, attempt: int = 1, actor: EventActor = SYSTEM
) -> Leg:
    (leg,) = _legs_start(ret, [(kind, attempt)], at, actor)
    return leg


def _legs_start(
    ret: Return, starts: list[tuple[str, int]], at: datetime, actor: EventActor
) -> list[Leg]:
    """Start a leg of ``ret`` for each (kind, attempt): one insert for the
    legs (an exchange's creation starts its pickup and dispatch clocks at
    once), a ``sla.leg_started`` timeline row each."""
    legs = insert_rows(
        [_leg_new(ret, kind, at=at, attempt=attempt, holidays=None) for kind, attempt in starts]
    )
    for leg in legs:
        entry = _started(leg, at, actor)
        timeline_record(order=entry.order_id, actor=actor, occurred_at=at, event=entry.event)
    # No ETA task per leg: beat's sla-sweep runs every minute and finds the leg
    # at 80 % and at 100 % through the partial indexes (an ETA 48 h away would
    # also outlive Redis's one-hour visibility timeout and be redelivered).
    return legs


def legs_start_many(
    starts: list[tuple[Return, str, int]],
    *,
    at: datetime,
    holidays: dict[int, set],
    actor: EventActor = SYSTEM,
) -> list[tuple[Leg, TimelineEntry]]:
    """``leg_start`` for many (return, kind, attempt): one insert for the legs;
    their ``sla.leg_started`` rows are returned for the caller's one timeline
    insert (``holidays``: ``calendar_holidays`` of every rule's calendar)."""
    legs = insert_rows(
        [_leg_new(r, kind, at=at, attempt=n, holidays=holidays) for r, kind, n in starts]
    )
    return [(leg, _started(leg, at, actor)) for leg in legs]


def _close(
    leg: Leg, close: Callable[[Leg, datetime], None], at: datetime, actor: EventActor, why: str
) -> None:
    before = leg.state
    close(leg, at)
    _closed_save(leg, before)
    sla_event(
        leg,
        CLOSED_EVENT[LegState(leg.state)],
        f"{leg.get_leg_display()} {leg.state}: {why}",
        at=at,
        actor=actor,
        before=before,
    )


def _closed_save(leg: Leg, before: str) -> None:
    """``leg.save()`` for a leg just closed (``Leg.complete``, ``Leg.cancel``:
    its state and ``completed_at`` are all that changed), with the check
    django-fsm-2's ``ConcurrentTransitionMixin`` makes: the row must still be
    in the state it was read in. One statement written once (``run_sql``),
    where the ORM compiled an update of every column on each close."""
    alias = router.db_for_write(Leg)
    connection = connections[alias]
    q = connection.ops.quote_name
    state, completed_at = Leg._meta.get_field("state"), Leg._meta.get_field("completed_at")
    sql = (
        f"UPDATE {q(Leg._meta.db_table)} SET {q(state.column)} = %s, "  # noqa: S608 - names from model metadata, values bound
        f"{q(completed_at.column)} = %s WHERE {q(Leg._meta.pk.column)} = %s AND {q(state.column)} = %s"
    )
    changed, _rows = run_sql(
        sql,
        [leg.state, completed_at.get_db_prep_save(leg.completed_at, connection), leg.pk, before],
        what="sla_leg_close",
        using=alias,
    )
    if changed != 1:
        raise ConcurrentTransition(
            f"Cannot save leg {leg.pk}: its state is no longer {before!r}, or it is gone."
        )
    leg._update_initial_state()


@prepared
def _legs_locked(return_id):
    return (
        Leg.objects.select_for_update(of=("self",))
        .filter(return_request_id=return_id)
        .order_by("pk")
    )


@dataclass(frozen=True)
class SyncStep:
    """One change of ``sla_sync``: close ``leg`` (``close`` is ``Leg.complete``
    or ``Leg.cancel``, ``why`` on the timeline), or start a leg of ``kind``."""

    leg: Leg | None = None
    close: Callable[[Leg, datetime], None] | None = None
    why: str = ""
    kind: str = ""
    attempt: int = 1


def sla_sync_plan(
    ret: Return,
    legs: list[Leg],
    items: Callable[[], list[ReturnItem]],
    money_open: Callable[[], bool],
) -> list[SyncStep]:
    """What ``sla_sync`` changes (reads only): ``legs`` are all the return's
    legs, oldest first; ``items`` (units loaded) and ``money_open`` (a refund
    due, not issued) are read only when needed."""
    open_legs = {g.leg: g for g in legs if g.state in OPEN_LEG_STATES}
    ever = {g.leg for g in legs}
    if ret.state in (ReturnState.CANCELLED, ReturnState.REJECTED):
        return [SyncStep(leg, Leg.cancel, f"return {ret.state}") for leg in open_legs.values()]
    if ret.state == ReturnState.PENDING_REVIEW:
        return []
    physical = [i for i in items() if i.resolution not in NO_PICKUP]
    states = [i.unit.state for i in physical]
    steps: list[SyncStep] = []

    def want(kind: str, started: bool, done: bool) -> None:
        leg = open_legs.get(kind)
        if leg is not None and done:
            steps.append(SyncStep(leg, Leg.complete, "completing event recorded"))
        elif leg is None and started and not done and kind not in ever:
            steps.append(SyncStep(kind=kind))

    if ret.type != ReturnType.DOORSTEP_REFUSAL:
        # With a courier, the pickup clock runs from the booking, not the approval.
        waiting_for_booking = ret.pickup_status in (PickupStatus.BOOKING, PickupStatus.NOT_BOOKED)
        want(
            LegKind.PICKUP,
            bool(physical) and not waiting_for_booking,
            UnitState.RETURN_REQUESTED not in states,
        )
    want(
        LegKind.QC,
        any(s in RECEIVED_OR_LATER for s in states),
        bool(physical) and not any(s in WAITING_QC for s in states),
    )
    exchanges = [
        i for i in physical if i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT)
    ]
    early = ret.policy.exchange_dispatch_before_receipt
    want(
        LegKind.EXCHANGE_DISPATCH,
        bool(exchanges)
        and (early or any(i.unit.state == UnitState.PENDING_EXCHANGE for i in exchanges)),
        all(
            i.dispatched
            or i.unit.state in (UnitState.RETURN_REJECTED, UnitState.RETURNED_TO_CUSTOMER)
            for i in exchanges
        ),
    )
    money = money_open()
    refund_leg = open_legs.get(LegKind.REFUND)
    if refund_leg is None and money:
        attempt = 1 + sum(1 for g in legs if g.leg == LegKind.REFUND)
        steps.append(SyncStep(kind=LegKind.REFUND, attempt=attempt))
    elif refund_leg is not None and not money:
        steps.append(SyncStep(refund_leg, Leg.complete, "refund issued"))
    return steps


def sla_sync(
    ret: Return,
    actor: EventActor,
    *,
    at: datetime | None = None,
    created_items: list[ReturnItem] | None = None,
    items: list[ReturnItem] | None = None,
    money_open: bool | None = None,
) -> list[Leg]:
    """Reaction to every return change: start the legs that should be running
    and complete those whose completing event happened. Returns the return's
    legs afterwards, in primary-key order.

    ``created_items``: the return was created in this transaction and these
    are its items, units loaded: it has no legs and no refunds yet, so neither
    is read. ``items``: the return's items as the caller's transaction holds
    them (units current); ``money_open``: True when the caller knows a refund
    of the return is due and not issued (it just created one)."""
    at = at or timezone.now()
    legs = [] if created_items is not None else _legs_locked(ret.pk)
    for g in legs:
        g.return_request = ret  # the timeline rows name it: no read
    held = created_items if created_items is not None else items

    def read_items() -> list[ReturnItem]:
        if held is not None:
            return held
        return return_items_read(ret)

    def read_money_open() -> bool:
        if money_open is not None:
            return money_open
        return created_items is None and refund_open_for_return(ret)

    starts: list[tuple[str, int]] = []  # started in one insert, before the next close
    for step in sla_sync_plan(ret, legs, read_items, read_money_open):
        if step.leg is not None and step.close is not None:
            legs += _legs_start(ret, starts, at, actor)
            starts = []
            _close(step.leg, step.close, at, actor, step.why)
        else:
            starts.append((step.kind, step.attempt))
    legs += _legs_start(ret, starts, at, actor)
    return legs


def leg_get_for_update(leg_id: int) -> Leg | None:
    """The leg locked (after its order and return: the lock order of every
    return change), or None."""
    leg: Leg | None = (
        Leg.objects.select_for_update(of=("self",))
        .select_related("return_request__order", "return_request__policy")
        .filter(pk=leg_id)
        .first()
    )
    return leg


def leg_mark_at_risk_if_due(leg: Leg, now: datetime) -> bool:
    """Mark a running leg at risk once 80% of its time has gone."""
    if now < leg.at_risk_at or leg.state != LegState.RUNNING:
        return False
    before = leg.state
    leg.mark_at_risk()
    leg.save()
    sla_event(
        leg,
        SlaEventType.LEG_AT_RISK,
        f"{leg.get_leg_display()} at risk: due {fmt(leg.due_at, '%d %b %H:%M')}",
        at=now,
        before=before,
    )
    return True


def sla_rules_copy(*, source_policy_id: int, target_policy_id: int) -> int:
    """Copy a policy version's SLA rules to a new version; how many."""
    rules = [
        SlaRule(
            policy_id=target_policy_id,
            leg=r.leg,
            return_type=r.return_type,
            channel=r.channel,
            hours=r.hours,
            calendar_id=r.calendar_id,
            owner_team=r.owner_team,
        )
        for r in SlaRule.objects.filter(policy_id=source_policy_id).order_by("pk")
    ]
    SlaRule.objects.bulk_create(rules)
    return len(rules)
