"""A breached leg: what the system decides (pure, ``breach_decide``), and the
two writes around the action ``flows.sla`` applies to the return: the breach
itself before, the action columns, timeline row and message after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from oms.dates import fmt
from orders.events import TimelineEntry, timeline_record
from orders.messaging import MessageSpec, message_enqueue
from orders.states import UnitState
from returns.models import Return, ReturnItem
from returns.states import NO_PICKUP

from ..calendar import add_hours
from ..events import SlaEventType, sla_event_entry
from ..models import Leg
from ..states import LegKind, LegState


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


@dataclass(frozen=True)
class BreachStep:
    """One return event the breach applies (``ReturnEventData`` in flows)."""

    type: str
    reason: str = ""
    qc_passed_units: tuple[int, ...] = ()


@dataclass(frozen=True)
class BreachDecision:
    action: str
    reason: str
    customer: str = ""
    steps: tuple[BreachStep, ...] = ()
    restart: bool = False  # start the same leg again (next attempt) after the steps
    fallback: BreachDecision | None = None  # when a step fails with an ApplicationError
    escalate_until: datetime | None = None  # escalate the refunds to finance; "{count}" in reason
    extra: dict = field(default_factory=dict)

    def escalated(self, message: str) -> BreachDecision:
        return BreachDecision("escalated_to_supervisor", f"automatic action failed: {message}", "")

    def counted(self, count: int) -> BreachDecision:
        return replace(self, reason=self.reason.format(count=count))


def _on_pickup_breach(
    leg: Leg, ret: Return, now: datetime, items: list[ReturnItem], holidays: set | None
) -> BreachDecision:
    policy = ret.policy
    if any(i.replacement_unit_id is not None for i in items):
        # The replacement already shipped (exchange-first): cancelling or
        # keep-it would give it away, so a person must chase the original.
        return BreachDecision(
            "escalated_to_supervisor",
            "pickup overdue and the replacement already shipped: the original must be collected",
            "We still need to collect the item you're exchanging; our team will contact you today.",
        )
    if leg.attempt < policy.max_pickup_attempts:
        return BreachDecision(
            "rescheduled",
            f"attempt {leg.attempt} of {policy.max_pickup_attempts} missed; pickup booked again",
            "We could not collect your return in time. We've booked another pickup and will keep you posted.",
            steps=(
                BreachStep(
                    "pickup_failed",
                    f"pickup not done in time; rescheduled (attempt {leg.attempt + 1})",
                ),
            ),
            restart=True,
        )
    waiting = [
        i
        for i in items
        if i.unit.state == UnitState.RETURN_REQUESTED and i.resolution not in NO_PICKUP
    ]
    value = sum((i.unit.net_paid for i in waiting), Decimal("0"))
    attempts = policy.max_pickup_attempts
    if value <= policy.keep_it_max_value:
        return BreachDecision(
            "converted_to_keep",
            f"{attempts} pickup attempts missed; {value} ≤ keep-it limit "
            f"{policy.keep_it_max_value}",
            "We couldn't collect your return, so please keep the item(s): "
            "we're refunding you without a pickup.",
            steps=(
                BreachStep(
                    "convert_to_keep",
                    f"{attempts} pickups missed; value {value} within keep-it limit",
                ),
            ),
        )
    return BreachDecision(
        "cancelled",
        f"{attempts} pickup attempts missed and {value} is above the keep-it limit",
        steps=(BreachStep("cancelled", f"{attempts} pickup attempts missed"),),
    )


def _on_qc_breach(
    leg: Leg, ret: Return, now: datetime, items: list[ReturnItem], holidays: set | None
) -> BreachDecision:
    policy = ret.policy
    waiting = [i.unit_id for i in items if i.unit.state == UnitState.RETURNED]
    value = sum((i.unit.net_paid for i in items), Decimal("0"))
    low_risk = ret.risk_score < policy.risk_threshold / 2
    low_value = value <= policy.qc_auto_pass_max
    if waiting and low_risk and low_value:
        return BreachDecision(
            "auto_passed",
            f"{len(waiting)} unit(s) auto-passed: risk {ret.risk_score}, value {value} ≤ "
            f"{policy.qc_auto_pass_max}",
            steps=(BreachStep("qc_result", qc_passed_units=tuple(waiting)),),
        )
    why = (
        "risk too high"
        if not low_risk
        else ("value above the auto-pass limit" if not low_value else "nothing received to pass")
    )
    return BreachDecision(
        "escalated_to_supervisor",
        f"QC overdue; {why}",
        "Inspection of your return is taking longer than planned; a supervisor is on it today.",
    )


REFUND_INSTEAD = "We couldn't ship your exchange in time, so we're refunding you instead."


def _on_exchange_breach(
    leg: Leg, ret: Return, now: datetime, items: list[ReturnItem], holidays: set | None
) -> BreachDecision:
    """First breach: move the replacement to another location or an allowed
    variant and restart the clock. After that (or with no alternative): refund."""
    if leg.attempt > 1:
        return BreachDecision(
            "converted_to_refund",
            "still not dispatched after moving the replacement",
            REFUND_INSTEAD,
            steps=(
                BreachStep("convert_to_refund", "exchange still not dispatched after moving it"),
            ),
        )
    return BreachDecision(
        "relocated",
        "replacement moved to another location or an allowed variant",
        steps=(BreachStep("exchange_relocated", "exchange not dispatched in time"),),
        restart=True,
        fallback=BreachDecision(
            "converted_to_refund",
            "no other location or allowed variant has stock",
            REFUND_INSTEAD,
            steps=(
                BreachStep(
                    "convert_to_refund", "exchange not dispatched in time; no alternative in stock"
                ),
            ),
        ),
    )


def _on_refund_breach(
    leg: Leg, ret: Return, now: datetime, items: list[ReturnItem], holidays: set | None
) -> BreachDecision:
    new_date = add_hours(now, Decimal("48"), leg.calendar, holidays)
    return BreachDecision(
        "escalated_to_finance",
        f"{{count}} refund(s) escalated to finance; new date {fmt(new_date)}",
        f"Your refund is taking longer than we promised. Our finance team is on it; expect it by {fmt(new_date, '%a %d %b %Y')}.",
        escalate_until=new_date,
    )


Decider = Callable[[Leg, Return, datetime, list[ReturnItem], set | None], BreachDecision]
DECIDERS: dict[str, Decider] = {
    LegKind.PICKUP: _on_pickup_breach,
    LegKind.QC: _on_qc_breach,
    LegKind.EXCHANGE_DISPATCH: _on_exchange_breach,
    LegKind.REFUND: _on_refund_breach,
}


def breach_decide(
    leg: Leg,
    ret: Return,
    now: datetime,
    *,
    items: list[ReturnItem] | None = None,
    holidays: set | None = None,
) -> BreachDecision:
    """What the system does about a breached leg (reads only). ``items``: the
    return's items with their units, in their order, if the caller holds them
    (the sweep reads a chunk's at once); ``holidays``: the leg calendar's."""
    if items is None:
        items = (
            list(ReturnItem.objects.filter(return_request=ret).select_related("unit"))
            if leg.leg in (LegKind.PICKUP, LegKind.QC)  # the others decide without them
            else []
        )
    return DECIDERS[leg.leg](leg, ret, now, items, holidays)


def leg_breach_start(leg: Leg, now: datetime) -> str:
    """Breach the leg before the action, so the reactions it causes see the
    leg closed. Returns the state before, for the timeline row."""
    before = leg.state
    leg.breach(now, "deciding", "")
    leg.save()
    return before


def leg_breach_entry(
    leg: Leg, ret: Return, decision: BreachDecision, now: datetime, *, before: str
) -> tuple[TimelineEntry, MessageSpec | None]:
    """The ``sla.leg_breached`` row and the customer's message of a breach
    (``leg.action`` set), for one insert each across a sweep's chunk."""
    action, reason = decision.action, decision.reason
    entry = sla_event_entry(
        leg,
        SlaEventType.LEG_BREACHED,
        f"{leg.get_leg_display()} breached → {action.replace('_', ' ')}: {reason}",
        at=now,
        before=before,
        payload={"action": action, "reason": reason},
    )
    message = None
    if decision.customer:
        message = MessageSpec(
            order=ret.order,
            template=f"sla_{leg.leg}_breach",
            subject=f"An update on your return {ret.rma}",
            body=decision.customer,
        )
    return entry, message


def leg_breach_record(
    leg: Leg, ret: Return, decision: BreachDecision, now: datetime, *, before: str
) -> Outcome:
    """The action columns, the ``sla.leg_breached`` row and the customer's message."""
    action, reason = decision.action, decision.reason
    Leg.objects.filter(pk=leg.pk).update(action=action, action_reason=reason[:500])
    leg.action, leg.action_reason = action, reason
    entry, message = leg_breach_entry(leg, ret, decision, now, before=before)
    timeline_record(order=entry.order_id, actor=entry.actor, occurred_at=now, event=entry.event)
    if message is not None:
        message_enqueue(
            order=message.order,
            template=message.template,
            subject=message.subject,
            body=message.body,
        )
    return Outcome(leg, "breached", action, reason)


def legs_breach_many(breaches: list[tuple[Leg, BreachDecision]], now: datetime) -> dict[int, str]:
    """``leg_breach_start`` and the action columns of ``leg_breach_record`` for
    many locked open legs whose decision is final: one update per distinct
    action and reason (a handful: the reasons of the common actions vary only
    with the attempt, the policy's limits or the new date). The state of each
    leg before, by leg id, for its timeline row."""
    before = {leg.pk: leg.state for leg, _ in breaches}
    groups: dict[tuple[str, str], list[int]] = {}
    for leg, decision in breaches:
        leg.breach(now, decision.action, decision.reason)
        groups.setdefault((decision.action, decision.reason), []).append(leg.pk)
        leg.action_reason = decision.reason
    for (action, reason), ids in groups.items():
        Leg.objects.filter(pk__in=ids).update(
            state=LegState.BREACHED, breached_at=now, action=action, action_reason=reason[:500]
        )
    return before
