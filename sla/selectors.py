"""sla reads: the only reader of legs and SLA rules. The dates a customer is
promised (messages, portal, console) come from the same rules and business
calendar as the breach times, so the promise and the clock agree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from oms.config_cache import config_cached
from oms.prepared import prepared
from returns.models import Return, ReturnPolicy
from returns.states import Resolution, ReturnState, ReturnType

from .calendar import add_hours
from .models import BusinessCalendar, Leg, SlaRule
from .states import OPEN_LEG_STATES, OWNER_TEAMS, TRANSIT_HOURS, LegKind, LegState


@dataclass(frozen=True)
class SlaRuleView:
    hours: Decimal
    calendar: BusinessCalendar | None
    owner_team: str


@dataclass(frozen=True)
class PromisedDates:
    """When each step is due. Item access (``dates["pickup_by"]``) keeps the
    keys the templates and messages read."""

    pickup_by: datetime | None
    received_by: datetime
    qc_by: datetime
    refund_by: datetime
    exchange_by: datetime

    def __getitem__(self, key: str) -> datetime | None:
        value: datetime | None = getattr(self, key)
        return value


@prepared
def _rules_of_policy(policy_id):
    return SlaRule.objects.filter(policy_id=policy_id).select_related("calendar")


def sla_rules_of_policy(policy_id: int) -> list[SlaRule]:
    """A policy version's rules, kept per process for a few seconds
    (``oms.config_cache``)."""
    return config_cached(("sla_rules", policy_id), lambda: _rules_of_policy(policy_id))


def _best(
    rules: Iterable[SlaRule], policy: ReturnPolicy, leg: str, return_type: str, channel: str
) -> SlaRuleView:
    fits = [
        r
        for r in rules
        if r.leg == leg and r.return_type in ("", return_type) and r.channel in ("", channel)
    ]
    if fits:
        best = max(fits, key=lambda r: (bool(r.return_type), bool(r.channel)))
        return SlaRuleView(best.hours, best.calendar, best.owner_team or OWNER_TEAMS[leg])
    hours = Decimal(str((policy.sla_hours or {}).get(leg, 48)))
    return SlaRuleView(hours, None, OWNER_TEAMS[leg])


def _return_rules(ret: Return) -> list[SlaRule]:
    """The policy's rules, read once per return instance: starting a leg and
    the message sent in the same change share one read."""
    cached: list[SlaRule] | None = ret.__dict__.get("_sla_rules")
    if cached is None:
        cached = ret.__dict__["_sla_rules"] = sla_rules_of_policy(ret.policy_id)
    return cached


def return_sla_rules_set(ret: Return, rules: list[SlaRule]) -> None:
    """Give a return instance its policy's rules already read (the sweep reads
    a chunk's policies at once), so ``return_sla_rule`` reads none."""
    ret.__dict__["_sla_rules"] = rules


def return_sla_rule(ret: Return, leg: str) -> SlaRuleView:
    """The most specific rule for the leg (type and channel, blank = any), of
    the return's policy; with none, the policy's ``sla_hours`` on wall-clock time."""
    return _best(_return_rules(ret), ret.policy, leg, ret.type, ret.order.channel.code)


def _due(start: datetime, rule: SlaRuleView) -> datetime:
    return add_hours(start, rule.hours, rule.calendar)


def promised_dates(
    *,
    policy: ReturnPolicy,
    return_type: str,
    channel: str,
    start: datetime | None = None,
    pickup: bool = True,
) -> PromisedDates:
    """Before a return exists (quote page, creation message): each leg
    projected from the one before it, on the leg's own rule and calendar."""
    rules = sla_rules_of_policy(policy.pk)
    return _project(rules, policy, return_type, channel, start or timezone.now(), pickup, {})


def _project(
    rules: list[SlaRule],
    policy: ReturnPolicy,
    return_type: str,
    channel: str,
    start: datetime,
    pickup: bool,
    known: dict[str, datetime],
) -> PromisedDates:
    def rule(leg: str) -> SlaRuleView:
        return _best(rules, policy, leg, return_type, channel)

    pickup_by = known.get(LegKind.PICKUP) or (_due(start, rule(LegKind.PICKUP)) if pickup else None)
    received_by = known.get("received") or (pickup_by or start) + timedelta(hours=TRANSIT_HOURS)
    qc_by = known.get(LegKind.QC) or _due(received_by, rule(LegKind.QC))
    refund_by = known.get(LegKind.REFUND) or _due(qc_by, rule(LegKind.REFUND))
    exchange_from = start if policy.exchange_dispatch_before_receipt else qc_by
    exchange_by = known.get(LegKind.EXCHANGE_DISPATCH) or _due(
        exchange_from, rule(LegKind.EXCHANGE_DISPATCH)
    )
    return PromisedDates(pickup_by, received_by, qc_by, refund_by, exchange_by)


def return_promised_dates(ret: Return, *, legs: list[Leg] | None = None) -> PromisedDates:
    """For a return: a leg's ``due_at`` once it started, else projected from
    the last real point with the same rules and calendar as the legs."""
    legs = return_legs(ret) if legs is None else legs
    known: dict[str, datetime] = {}
    for leg in legs:  # oldest first: the latest attempt wins
        known[leg.leg] = leg.due_at
    return _project(
        _return_rules(ret),
        ret.policy,
        ret.type,
        ret.order.channel.code,
        ret.approved_at or ret.created_at,
        ret.type != ReturnType.DOORSTEP_REFUSAL,
        known,
    )


def return_progress(ret: Return, events: Iterable[Any]) -> list[dict]:
    """Requested → (review) → picked up → received → inspected → refunded /
    exchange dispatched, each done, current or to come, with when it happened
    or is due (the leg's due time, else the projected one)."""
    first: dict[str, object] = {}
    for e in events:
        first.setdefault(e.type, e.occurred_at)
    items = list(ret.items.select_related("unit"))
    resolutions = {i.resolution for i in items}
    legs = return_legs(ret)
    due = {g.leg: g.due_at for g in legs}
    expected = return_promised_dates(ret, legs=legs)
    steps: list[dict] = [{"key": "requested", "label": "Return requested", "at": ret.created_at}]
    if "return.held_for_review" in first or ret.state in (
        ReturnState.PENDING_REVIEW,
        ReturnState.REJECTED,
    ):
        steps.append(
            {
                "key": "review",
                "label": "Rejected after review"
                if ret.state == ReturnState.REJECTED
                else "Reviewed and approved",
                "at": first.get("return.approved") or first.get("return.rejected"),
                "failed": ret.state == ReturnState.REJECTED,
            }
        )
    needs_pickup = ret.type != ReturnType.DOORSTEP_REFUSAL and resolutions != {Resolution.KEEP}
    if needs_pickup:
        steps.append(
            {
                "key": "pickup",
                "label": "Picked up by the courier",
                "at": first.get("return.pickup_completed"),
                "due": due.get(LegKind.PICKUP) or expected["pickup_by"],
            }
        )
        steps.append(
            {
                "key": "received",
                "label": "Received at our warehouse",
                "at": first.get("return.received"),
            }
        )
        steps.append(
            {
                "key": "qc",
                "label": "Inspected",
                "at": first.get("return.qc_result"),
                "due": due.get(LegKind.QC),
            }
        )
    if resolutions & {Resolution.EXCHANGE, Resolution.REPLACEMENT}:
        steps.append(
            {
                "key": "exchange",
                "label": "Exchange dispatched",
                "at": first.get("return.exchange_dispatched"),
                "due": due.get(LegKind.EXCHANGE_DISPATCH) or expected["exchange_by"],
            }
        )
    if (
        resolutions & {Resolution.REFUND, Resolution.KEEP}
        or ret.type == ReturnType.DOORSTEP_REFUSAL
    ):
        steps.append(
            {
                "key": "refund",
                "label": "Refund issued",
                "at": first.get("refund.issued"),
                "due": due.get(LegKind.REFUND) or expected["refund_by"],
            }
        )
    closed = ret.state in (ReturnState.CANCELLED, ReturnState.REJECTED)
    current_set = False
    for step in steps:
        if step.get("failed"):
            step["status"] = "failed"
        elif step["at"]:
            step["status"] = "done"
        elif not current_set and not closed:
            step["status"] = "current"
            current_set = True
        else:
            step["status"] = "todo"
    if ret.state == ReturnState.CANCELLED:
        steps.append(
            {"key": "cancelled", "label": "Cancelled", "at": ret.closed_at, "status": "failed"}
        )
    return steps


@prepared
def _return_legs(return_id):
    return Leg.objects.filter(return_request_id=return_id).order_by("started_at", "pk")


def return_legs(ret: Return) -> list[Leg]:
    return _return_legs(ret.pk)


def legs_for_returns(return_ids: list[int]) -> dict[int, list[Leg]]:
    out: dict[int, list[Leg]] = {}
    for leg in Leg.objects.filter(return_request_id__in=return_ids).order_by("started_at", "pk"):
        out.setdefault(leg.return_request_id, []).append(leg)
    return out


def leg_rma(leg_id: int) -> str | None:
    rma: str | None = (
        Leg.objects.filter(pk=leg_id).values_list("return_request__rma", flat=True).first()
    )
    return rma


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


def leg_body(leg: Leg) -> dict:
    return {
        "leg": leg.leg,
        "state": leg.state,
        "attempt": leg.attempt,
        "owner_team": leg.owner_team,
        "started_at": leg.started_at,
        "due_at": leg.due_at,
        "completed_at": leg.completed_at,
        "breached_at": leg.breached_at,
        "action": leg.action or None,
        "action_reason": leg.action_reason or None,
    }
