"""SLA legs: started and completed by reconciling with the return after every
change (``flows.reactions.return_changed`` calls ``sla_sync``), and marked at
risk at 80% of their time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from oms.dates import fmt
from orders.events import EventActor
from orders.states import UnitState
from refunds.selectors import refund_open_for_return
from returns.models import Return, ReturnItem
from returns.states import NO_PICKUP, PickupStatus, Resolution, ReturnState, ReturnType

from ..calendar import add_hours
from ..events import SYSTEM, SlaEventType, sla_event
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


def leg_start(
    ret: Return, kind: str, *, at: datetime, attempt: int = 1, actor: EventActor = SYSTEM
) -> Leg:
    rule = return_sla_rule(ret, kind)
    hours, calendar, owner = rule.hours, rule.calendar, rule.owner_team
    leg = Leg.objects.create(
        return_request=ret,
        leg=kind,
        attempt=attempt,
        owner_team=owner,
        hours=hours,
        calendar=calendar,
        started_at=at,
        at_risk_at=add_hours(at, hours * Decimal("0.8"), calendar),
        due_at=add_hours(at, hours, calendar),
    )
    sla_event(
        leg,
        SlaEventType.LEG_STARTED,
        f"{leg.get_leg_display()} clock started ({hours}h"
        + (f", {calendar.name} business hours" if calendar else "")
        + f"), due {fmt(leg.due_at, '%d %b %H:%M')}",
        at=at,
        actor=actor,
        payload={"attempt": attempt, "owner": owner},
    )
    # No ETA task per leg: beat's sla-sweep runs every minute and finds the leg
    # at 80 % and at 100 % through the partial indexes (an ETA 48 h away would
    # also outlive Redis's one-hour visibility timeout and be redelivered).
    return leg


def _close(
    leg: Leg, close: Callable[[Leg, datetime], None], at: datetime, actor: EventActor, why: str
) -> None:
    before = leg.state
    close(leg, at)
    leg.save()
    sla_event(
        leg,
        CLOSED_EVENT[LegState(leg.state)],
        f"{leg.get_leg_display()} {leg.state}: {why}",
        at=at,
        actor=actor,
        before=before,
    )


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
    legs = (
        []
        if created_items is not None
        else list(
            Leg.objects.select_for_update(of=("self",)).filter(return_request=ret).order_by("pk")
        )
    )
    for g in legs:
        g.return_request = ret  # the timeline rows name it: no read
    open_legs = {g.leg: g for g in legs if g.state in OPEN_LEG_STATES}
    ever = {g.leg for g in legs}
    if ret.state in (ReturnState.CANCELLED, ReturnState.REJECTED):
        for leg in open_legs.values():
            _close(leg, Leg.cancel, at, actor, f"return {ret.state}")
        return legs
    if ret.state == ReturnState.PENDING_REVIEW:
        return legs
    if created_items is not None:
        items = created_items
    elif items is None:
        items = list(ReturnItem.objects.filter(return_request=ret).select_related("unit"))
    physical = [i for i in items if i.resolution not in NO_PICKUP]
    states = [i.unit.state for i in physical]

    def want(kind: str, started: bool, done: bool) -> None:
        leg = open_legs.get(kind)
        if leg is not None and done:
            _close(leg, Leg.complete, at, actor, "completing event recorded")
        elif leg is None and started and not done and kind not in ever:
            legs.append(leg_start(ret, kind, at=at, actor=actor))

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
    if money_open is None:
        money_open = created_items is None and refund_open_for_return(ret)
    refund_leg = open_legs.get(LegKind.REFUND)
    if refund_leg is None and money_open:
        attempt = 1 + sum(1 for g in legs if g.leg == LegKind.REFUND)
        legs.append(leg_start(ret, LegKind.REFUND, at=at, attempt=attempt, actor=actor))
    elif refund_leg is not None and not money_open:
        _close(refund_leg, Leg.complete, at, actor, "refund issued")
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
