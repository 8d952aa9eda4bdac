"""SLA legs: started and completed by reconciling with the return after every
change (``flows.reactions.return_changed`` calls ``sla_sync``), marked at risk at
80% and breached at 100% by ETA tasks and a beat sweep, and on breach the
system decides by itself through the same services a person would use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from oms.dates import fmt
from oms.errors import ApplicationError
from oms.jobs import job_enqueue
from orders.events import Event, EventActor, timeline_record
from orders.messaging import message_enqueue
from orders.states import UnitState
from refunds.selectors import refund_open_for_return
from refunds.services import refund_escalate
from returns.models import Return, ReturnItem
from returns.services import QcResult, ReturnEventData
from returns.services.common import return_get_for_update
from returns.states import NO_PICKUP, Resolution, ReturnState, ReturnType

from .calendar import add_hours
from .models import Leg
from .selectors import return_sla_rule
from .states import OPEN_LEG_STATES, LegKind, LegState

SYSTEM = EventActor.system("sla")
# How a breach action changes the return: ``flows.return_events.return_handle_event``
# (keyword arguments rma, data, actor), passed in by ``flows.sla``.
ApplyEvent = Callable[..., Return]
RECEIVED_OR_LATER = {
    UnitState.RETURNED,
    UnitState.PENDING_REFUND,
    UnitState.PENDING_EXCHANGE,
    UnitState.REFUNDED,
    UnitState.REPLACED,
    UnitState.RETURN_REJECTED,
    UnitState.NOT_CHARGED,
}
WAITING_QC = {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED}


def _event(
    leg: Leg,
    type_: str,
    message: str,
    *,
    at: datetime,
    actor: EventActor = SYSTEM,
    before: str = "",
    payload: dict | None = None,
) -> None:
    timeline_record(
        order=leg.return_request.order_id,
        actor=actor,
        occurred_at=at,
        event=Event(
            "sla",
            leg.pk,
            type_,
            before,
            leg.state,
            message,
            {
                "rma": leg.return_request.rma,
                "leg": leg.leg,
                "due_at": leg.due_at.isoformat(),
                **(payload or {}),
            },
        ),
    )


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
    _event(
        leg,
        "sla.leg_started",
        f"{leg.get_leg_display()} clock started ({hours}h"
        + (f", {calendar.name} business hours" if calendar else "")
        + f"), due {fmt(leg.due_at, '%d %b %H:%M')}",
        at=at,
        actor=actor,
        payload={"attempt": attempt, "owner": owner},
    )
    from .tasks import sla_leg_check_task

    job_enqueue(sla_leg_check_task, leg.pk, due_at=leg.at_risk_at)
    job_enqueue(sla_leg_check_task, leg.pk, due_at=leg.due_at)
    return leg


def _close(leg: Leg, method: str, at: datetime, actor: EventActor, why: str) -> None:
    before = leg.state
    getattr(leg, method)(at)
    leg.save()
    _event(
        leg,
        f"sla.leg_{leg.state}",
        f"{leg.get_leg_display()} {leg.state}: {why}",
        at=at,
        actor=actor,
        before=before,
    )


def sla_sync(ret: Return, actor: EventActor, *, at: datetime | None = None) -> None:
    """Reaction to every return change: start the legs that should be running
    and complete those whose completing event happened."""
    at = at or timezone.now()
    legs = list(
        Leg.objects.select_for_update(of=("self",)).filter(return_request=ret).order_by("pk")
    )
    open_legs = {g.leg: g for g in legs if g.state in OPEN_LEG_STATES}
    ever = {g.leg for g in legs}
    if ret.state in (ReturnState.CANCELLED, ReturnState.REJECTED):
        for leg in open_legs.values():
            _close(leg, "cancel", at, actor, f"return {ret.state}")
        return
    if ret.state == ReturnState.PENDING_REVIEW:
        return
    items = list(ReturnItem.objects.filter(return_request=ret).select_related("unit"))
    physical = [i for i in items if i.resolution not in NO_PICKUP]
    states = [i.unit.state for i in physical]

    def want(kind: str, started: bool, done: bool) -> None:
        leg = open_legs.get(kind)
        if leg is not None and done:
            _close(leg, "complete", at, actor, "completing event recorded")
        elif leg is None and started and not done and kind not in ever:
            leg_start(ret, kind, at=at, actor=actor)

    if ret.type != ReturnType.DOORSTEP_REFUSAL:
        want(LegKind.PICKUP, bool(physical), UnitState.RETURN_REQUESTED not in states)
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
        all(i.dispatched or i.unit.state == UnitState.RETURN_REJECTED for i in exchanges),
    )
    money_open = refund_open_for_return(ret)
    refund_leg = open_legs.get(LegKind.REFUND)
    if refund_leg is None and money_open:
        attempt = 1 + sum(1 for g in legs if g.leg == LegKind.REFUND)
        leg_start(ret, LegKind.REFUND, at=at, attempt=attempt, actor=actor)
    elif refund_leg is not None and not money_open:
        _close(refund_leg, "complete", at, actor, "refund issued")


# --- at risk and breach --------------------------------------------------------


@dataclass
class Outcome:
    leg: Leg
    what: str  # at_risk | breached | nothing
    action: str = ""
    reason: str = ""

    def line(self) -> str:
        g = self.leg
        base = f"leg {g.pk} {g.leg} of {g.return_request.rma} (due {fmt(g.due_at, '%Y-%m-%d %H:%M %Z')}): {self.what}"
        return base + (f" -> {self.action}: {self.reason}" if self.action else "")


def sla_check_leg(
    *, leg_id: int, apply_event: ApplyEvent, now: datetime | None = None
) -> Outcome | None:
    """Mark a leg at risk or breach it, once. Safe to run any number of times,
    from ETA tasks and sweeps at once: the leg row is locked and its state
    re-read, so the second runner finds it already handled."""
    now = now or timezone.now()
    rma = Leg.objects.filter(pk=leg_id).values_list("return_request__rma", flat=True).first()
    if rma is None:
        return None
    with transaction.atomic():
        # Same lock order as every return change (order, return, then legs),
        # so a sweep racing a courier event queues instead of deadlocking.
        return_get_for_update(rma)
        leg = (
            Leg.objects.select_for_update(of=("self",))
            .select_related("return_request__order", "return_request__policy")
            .filter(pk=leg_id)
            .first()
        )
        if leg is None or leg.state not in OPEN_LEG_STATES:
            return None
        if now >= leg.due_at:
            return _breach(leg, now, apply_event)
        if now >= leg.at_risk_at and leg.state == LegState.RUNNING:
            before = leg.state
            leg.mark_at_risk()
            leg.save()
            _event(
                leg,
                "sla.leg_at_risk",
                f"{leg.get_leg_display()} at risk: due {fmt(leg.due_at, '%d %b %H:%M')}",
                at=now,
                before=before,
            )
            return Outcome(leg, "at_risk")
        return Outcome(leg, "nothing")


def _breach(leg: Leg, now: datetime, apply_event: ApplyEvent) -> Outcome:
    ret = leg.return_request
    decide = {
        LegKind.PICKUP: _on_pickup_breach,
        LegKind.QC: _on_qc_breach,
        LegKind.EXCHANGE_DISPATCH: _on_exchange_breach,
        LegKind.REFUND: _on_refund_breach,
    }[leg.leg]
    before = leg.state
    # Breach first, so the reactions run by the action see the leg closed.
    leg.breach(now, "deciding", "")
    leg.save()
    try:
        with transaction.atomic():
            action, reason, customer = decide(leg, ret, now, apply_event)
    except ApplicationError as exc:
        action, reason, customer = (
            "escalated_to_supervisor",
            f"automatic action failed: {exc.message}",
            "",
        )
    Leg.objects.filter(pk=leg.pk).update(action=action, action_reason=reason[:500])
    leg.action, leg.action_reason = action, reason
    _event(
        leg,
        "sla.leg_breached",
        f"{leg.get_leg_display()} breached → {action.replace('_', ' ')}: {reason}",
        at=now,
        before=before,
        payload={"action": action, "reason": reason},
    )
    if customer:
        message_enqueue(
            order=ret.order,
            template=f"sla_{leg.leg}_breach",
            subject=f"An update on your return {ret.rma}",
            body=customer,
        )
    return Outcome(leg, "breached", action, reason)


def _event_data(type_: str, leg: Leg, **kw) -> ReturnEventData:
    return ReturnEventData(type=type_, event_id=f"sla-leg-{leg.pk}-{type_}", **kw)


def _on_pickup_breach(leg: Leg, ret: Return, now: datetime, apply_event: ApplyEvent):
    policy = ret.policy
    if ReturnItem.objects.filter(return_request=ret, replacement_unit__isnull=False).exists():
        # The replacement already shipped (exchange-first): cancelling or
        # keep-it would give it away, so a person must chase the original.
        return (
            "escalated_to_supervisor",
            "pickup overdue and the replacement already shipped: the original must be collected",
            "We still need to collect the item you're exchanging; our team will contact you today.",
        )
    if leg.attempt < policy.max_pickup_attempts:
        apply_event(
            rma=ret.rma,
            actor=SYSTEM,
            data=_event_data(
                "pickup_failed",
                leg,
                reason=f"pickup not done in time; rescheduled (attempt {leg.attempt + 1})",
            ),
        )
        leg_start(Return.objects.get(pk=ret.pk), LegKind.PICKUP, at=now, attempt=leg.attempt + 1)
        return (
            "rescheduled",
            f"attempt {leg.attempt} of {policy.max_pickup_attempts} missed; pickup booked again",
            "We could not collect your return in time. We've booked another pickup and will keep you posted.",
        )
    waiting = (
        ReturnItem.objects.filter(return_request=ret, unit__state=UnitState.RETURN_REQUESTED)
        .exclude(resolution__in=NO_PICKUP)
        .select_related("unit")
    )
    value = sum((i.unit.net_paid for i in waiting), Decimal("0"))
    if value <= policy.keep_it_max_value:
        apply_event(
            rma=ret.rma,
            actor=SYSTEM,
            data=_event_data(
                "convert_to_keep",
                leg,
                reason=f"{policy.max_pickup_attempts} pickups missed; value {value} within keep-it limit",
            ),
        )
        return (
            "converted_to_keep",
            f"{policy.max_pickup_attempts} pickup attempts missed; {value} ≤ keep-it limit "
            f"{policy.keep_it_max_value}",
            "We couldn't collect your return, so please keep the item(s): "
            "we're refunding you without a pickup.",
        )
    apply_event(
        rma=ret.rma,
        actor=SYSTEM,
        data=_event_data(
            "cancelled", leg, reason=f"{policy.max_pickup_attempts} pickup attempts missed"
        ),
    )
    return (
        "cancelled",
        f"{policy.max_pickup_attempts} pickup attempts missed and {value} is above the keep-it limit",
        "",
    )


def _on_qc_breach(leg: Leg, ret: Return, now: datetime, apply_event: ApplyEvent):
    policy = ret.policy
    waiting = list(
        ReturnItem.objects.filter(
            return_request=ret, unit__state=UnitState.RETURNED
        ).select_related("unit")
    )
    value = sum((i.unit.net_paid for i in ret.items.select_related("unit")), Decimal("0"))
    low_risk = ret.risk_score < policy.risk_threshold / 2
    low_value = value <= policy.qc_auto_pass_max
    if waiting and low_risk and low_value:
        apply_event(
            rma=ret.rma,
            actor=SYSTEM,
            data=_event_data(
                "qc_result",
                leg,
                results=[
                    QcResult(
                        unit=i.unit_id,
                        passed=True,
                        grade="auto",
                        notes="auto-passed: QC SLA breached",
                    )
                    for i in waiting
                ],
            ),
        )
        return (
            "auto_passed",
            f"{len(waiting)} unit(s) auto-passed: risk {ret.risk_score}, value {value} ≤ "
            f"{policy.qc_auto_pass_max}",
            "",
        )
    why = (
        "risk too high"
        if not low_risk
        else ("value above the auto-pass limit" if not low_value else "nothing received to pass")
    )
    return (
        "escalated_to_supervisor",
        f"QC overdue; {why}",
        "Inspection of your return is taking longer than planned; a supervisor is on it today.",
    )


def _on_exchange_breach(leg: Leg, ret: Return, now: datetime, apply_event: ApplyEvent):
    """First breach: move the replacement to another location or an allowed
    variant and restart the clock. After that (or with no alternative): refund."""
    if leg.attempt > 1:
        apply_event(
            rma=ret.rma,
            actor=SYSTEM,
            data=_event_data(
                "convert_to_refund", leg, reason="exchange still not dispatched after moving it"
            ),
        )
        return (
            "converted_to_refund",
            "still not dispatched after moving the replacement",
            "We couldn't ship your exchange in time, so we're refunding you instead.",
        )
    try:
        with transaction.atomic():
            apply_event(
                rma=ret.rma,
                actor=SYSTEM,
                data=_event_data(
                    "exchange_relocated", leg, reason="exchange not dispatched in time"
                ),
            )
        leg_start(
            Return.objects.get(pk=ret.pk),
            LegKind.EXCHANGE_DISPATCH,
            at=now,
            attempt=leg.attempt + 1,
        )
        return ("relocated", "replacement moved to another location or an allowed variant", "")
    except ApplicationError:
        apply_event(
            rma=ret.rma,
            actor=SYSTEM,
            data=_event_data(
                "convert_to_refund",
                leg,
                reason="exchange not dispatched in time; no alternative in stock",
            ),
        )
        return (
            "converted_to_refund",
            "no other location or allowed variant has stock",
            "We couldn't ship your exchange in time, so we're refunding you instead.",
        )


def _on_refund_breach(leg: Leg, ret: Return, now: datetime, apply_event: ApplyEvent):
    new_date = add_hours(now, Decimal("48"), leg.calendar)
    count = refund_escalate(
        ret=ret, reason=f"refund SLA breached (leg {leg.pk})", new_date=new_date, actor=SYSTEM
    )
    return (
        "escalated_to_finance",
        f"{count} refund(s) escalated to finance; new date {fmt(new_date)}",
        f"Your refund is taking longer than we promised. Our finance team is on it; expect it by {fmt(new_date, '%a %d %b %Y')}.",
    )


def sla_due_leg_ids(*, now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Legs past due, then legs past 80%, read through partial indexes."""
    now = now or timezone.now()
    due = list(
        Leg.objects.filter(state__in=OPEN_LEG_STATES, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    risky = list(
        Leg.objects.filter(state=LegState.RUNNING, at_risk_at__lte=now, due_at__gt=now)
        .order_by("at_risk_at")
        .values_list("pk", flat=True)[:limit]
    )
    return [*due, *risky]


def legs_for_returns(return_ids: list[int]) -> dict[int, list[Leg]]:
    out: dict[int, list[Leg]] = {}
    for leg in Leg.objects.filter(return_request_id__in=return_ids).order_by("started_at", "pk"):
        out.setdefault(leg.return_request_id, []).append(leg)
    return out
