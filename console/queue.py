"""The work queue: open returns with their owner, customer, value and the SLA
time left on their current leg, sorted and filtered, with saved views
("my queue", "at risk", "breached"). Reads only; four queries per page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from orders.models import Channel
from returns.models import Return
from returns.states import OPEN_STATES, ReturnType
from sla.models import Leg
from sla.states import OPEN_LEG_STATES, LegKind, LegState

VIEWS = [
    ("all", "All open"),
    ("mine", "My queue"),
    ("unassigned", "Unassigned"),
    ("at_risk", "At risk"),
    ("breached", "Breached"),
]
SORTS = [
    ("due", "SLA time left"),
    ("age", "Oldest first"),
    ("value", "Highest value"),
]
AGES = [
    ("", "Any age"),
    ("1", "Older than 1 day"),
    ("3", "Older than 3 days"),
    ("7", "Older than 7 days"),
]
PAGE = 100


@dataclass
class QueueRow:
    ret: Return
    value: Decimal
    leg: Leg | None
    status: str  # on_track, at_risk, breached, none

    @property
    def seconds_left(self) -> int | None:
        if self.leg is None:
            return None
        return int((self.leg.due_at - timezone.now()).total_seconds())


def countdown(seconds: int | None) -> str:
    """'2d 3h left', '45m left', 'overdue 5h'."""
    if seconds is None:
        return "—"
    late = seconds < 0
    s = abs(seconds)
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {minutes}m"
    else:
        text = f"{minutes}m"
    return f"overdue {text}" if late else f"{text} left"


def _leg_status(leg: Leg | None, now: datetime) -> str:
    if leg is None:
        return "none"
    if leg.state == LegState.BREACHED or leg.due_at <= now:
        return "breached"
    if leg.state == LegState.AT_RISK or leg.at_risk_at <= now:
        return "at_risk"
    return "on_track"


def filter_choices() -> dict:
    return {
        "views": VIEWS,
        "sorts": SORTS,
        "ages": AGES,
        "legs": [("", "Any leg"), *LegKind.choices],
        "types": [("", "Any type"), *ReturnType.choices],
        "channels": [
            ("", "Any channel"),
            *Channel.objects.order_by("name").values_list("code", "name"),
        ],
    }


def work_queue(
    *,
    user,
    view: str = "all",
    leg: str = "",
    type: str = "",
    channel: str = "",
    age: str = "",
    sort: str = "due",
    limit: int | None = PAGE,
) -> list[QueueRow]:
    now = timezone.now()
    qs = Return.objects.filter(state__in=OPEN_STATES).select_related(
        "order__customer", "order__channel", "assignee"
    )
    if view == "mine":
        qs = qs.filter(assignee=user)
    elif view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if type:
        qs = qs.filter(type=type)
    if channel:
        qs = qs.filter(order__channel__code=channel)
    if age.isdigit():
        qs = qs.filter(created_at__lte=now - timedelta(days=int(age)))
    returns = list(qs.order_by("created_at")[:2000])
    ids = [r.pk for r in returns]
    legs: dict[int, Leg] = {}
    for g in Leg.objects.filter(
        return_request_id__in=ids,
        state__in=[*OPEN_LEG_STATES, LegState.BREACHED],
        completed_at__isnull=True,
    ).order_by("due_at"):
        legs.setdefault(g.return_request_id, g)
    values = dict(
        Return.objects.filter(pk__in=ids)
        .annotate(v=Sum("items__unit__net_paid"))
        .values_list("pk", "v")
    )
    rows = [
        QueueRow(
            r, values.get(r.pk) or Decimal("0.00"), legs.get(r.pk), _leg_status(legs.get(r.pk), now)
        )
        for r in returns
    ]
    if leg:
        rows = [r for r in rows if r.leg is not None and r.leg.leg == leg]
    if view == "at_risk":
        rows = [r for r in rows if r.status == "at_risk"]
    elif view == "breached":
        rows = [r for r in rows if r.status == "breached"]
    far = now + timedelta(days=3650)
    if sort == "age":
        rows.sort(key=lambda r: r.ret.created_at)
    elif sort == "value":
        rows.sort(key=lambda r: -r.value)
    else:
        rows.sort(key=lambda r: r.leg.due_at if r.leg else far)
    return rows[:limit] if limit else rows


def view_counts(user) -> dict[str, int]:
    """How many returns each saved view holds (for the tabs)."""
    rows = work_queue(user=user, view="all", limit=None)
    return {
        "all": len(rows),
        "mine": sum(1 for r in rows if r.ret.assignee_id == user.pk),
        "unassigned": sum(1 for r in rows if r.ret.assignee_id is None),
        "at_risk": sum(1 for r in rows if r.status == "at_risk"),
        "breached": sum(1 for r in rows if r.status == "breached"),
    }


def console_agents():
    """Who a case can be given to: active console users."""
    from django.contrib.auth import get_user_model

    from .forms import CONSOLE_GROUPS

    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__name__in=CONSOLE_GROUPS)
        .distinct()
        .order_by("username")
    )
