"""The sweep's chunk: due legs taken in bulk with ``SKIP LOCKED``, what the
decisions of the chunk read (in a few queries for all its legs), and the
at-risk marks written at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oms.dates import fmt
from orders.events import TimelineEntry
from orders.models import Order
from refunds.selectors import refund_open_return_ids
from returns.models import Return, ReturnItem

from ..calendar import calendar_holidays
from ..events import SlaEventType, sla_event_entry
from ..models import Leg, SlaRule
from ..selectors import return_sla_rules_set
from ..states import OPEN_LEG_STATES, LegState


def sla_chunk_lock(leg_ids: list[int]) -> list[Leg]:
    """Lock the legs' orders, then their returns, then the open legs (the lock
    order of every return change), skipping rows another transaction holds.
    Four statements for the chunk. The legs come back in ``leg_ids`` order,
    each with its locked return (order, its channel and policy loaded) as
    ``return_request``; a leg whose order, return or row was held is left out."""
    if not leg_ids:
        return []
    owners = list(
        Leg.objects.filter(pk__in=leg_ids).values_list(
            "return_request_id", "return_request__order_id"
        )
    )
    order_ids = sorted({o for _, o in owners})
    locked_orders = set(
        Order.objects.select_for_update(skip_locked=True)
        .filter(pk__in=order_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return_ids = sorted({r for r, o in owners if o in locked_orders})
    returns = {
        r.pk: r
        for r in Return.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("order__channel", "policy")
        .filter(pk__in=return_ids)
        .order_by("pk")
    }
    legs = {
        g.pk: g
        for g in Leg.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("calendar")
        .filter(pk__in=leg_ids, return_request_id__in=list(returns), state__in=OPEN_LEG_STATES)
        .order_by("pk")
    }
    out = []
    for pk in leg_ids:
        leg = legs.get(pk)
        if leg is not None:
            leg.return_request = returns[leg.return_request_id]
            out.append(leg)
    return out


@dataclass
class ChunkContext:
    """What a chunk's decisions and reactions read, for all its returns at
    once: each return's items (units loaded, in their order) and legs (all of
    them, locked, oldest first), the returns with a refund not issued, each
    policy's SLA rules and each calendar's holidays."""

    items: dict[int, list[ReturnItem]]
    legs: dict[int, list[Leg]]
    money_open: set[int]
    rules: dict[int, list[SlaRule]]
    holidays: dict[int, set]

    def leg_holidays(self, leg: Leg) -> set | None:
        return None if leg.calendar_id is None else self.holidays[leg.calendar_id]


def sla_chunk_context(legs: list[Leg]) -> ChunkContext:
    """Five queries for the chunk (six with a business calendar). The rules
    are read once per chunk (one transaction) rather than cached across
    transactions: ops edit them in the admin, and a chunk sees one version."""
    returns = {g.return_request_id: g.return_request for g in legs}
    ids = sorted(returns)
    items: dict[int, list[ReturnItem]] = {r: [] for r in ids}
    for item in (
        ReturnItem.objects.filter(return_request_id__in=ids)
        .select_related("unit")
        .order_by("return_request_id", "pk")
    ):
        items[item.return_request_id].append(item)
    all_legs: dict[int, list[Leg]] = {r: [] for r in ids}
    for leg in (
        Leg.objects.select_for_update(of=("self",)).filter(return_request_id__in=ids).order_by("pk")
    ):
        leg.return_request = returns[leg.return_request_id]
        all_legs[leg.return_request_id].append(leg)
    policy_ids = sorted({r.policy_id for r in returns.values()})
    rules: dict[int, list[SlaRule]] = {p: [] for p in policy_ids}
    for rule in SlaRule.objects.filter(policy_id__in=policy_ids).select_related("calendar"):
        rules[rule.policy_id].append(rule)
    for ret in returns.values():
        return_sla_rules_set(ret, rules[ret.policy_id])
    calendars = {g.calendar_id for g in legs if g.calendar_id is not None}
    calendars |= {r.calendar_id for rs in rules.values() for r in rs if r.calendar_id is not None}
    return ChunkContext(
        items=items,
        legs=all_legs,
        money_open=refund_open_return_ids(ids) if ids else set(),
        rules=rules,
        holidays=calendar_holidays(calendars),
    )


def legs_mark_at_risk_many(legs: list[Leg], now: datetime) -> list[TimelineEntry]:
    """``leg_mark_at_risk_if_due`` for running legs past 80 %: one update; the
    ``sla.leg_at_risk`` rows are returned for the caller's one timeline insert."""
    if not legs:
        return []
    for leg in legs:
        leg.mark_at_risk()
    Leg.objects.filter(pk__in=[g.pk for g in legs]).update(state=LegState.AT_RISK)
    return [
        sla_event_entry(
            leg,
            SlaEventType.LEG_AT_RISK,
            f"{leg.get_leg_display()} at risk: due {fmt(leg.due_at, '%d %b %H:%M')}",
            at=now,
            before=LegState.RUNNING,
        )
        for leg in legs
    ]
