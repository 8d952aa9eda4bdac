"""The timeline as people read it: grouped by return and by shipment, newest
first, one row for a change made to several units at once, every time in the
brand's time zone (``oms.dates``), labelled.

The rows stay the append-only ``TimelineEvent`` rows; this only arranges
them for the console. The raw event type is kept on each row for search."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from oms.dates import local
from orders.states import UnitState
from returns.states import ReturnState

# Events of one change are written in one transaction: a few ms apart.
SAME_CHANGE = timedelta(seconds=5)
SHIPMENT_RE = re.compile(r"\bshipment (\d+)")
RMA_RE = re.compile(r"\b(RMA-[A-Z0-9-]+)\b")


@dataclass
class Row:
    occurred_at: datetime
    entity: str
    type: str
    what: str
    message: str
    actor: str
    from_state: str = ""
    to_state: str = ""
    units: list[int] = field(default_factory=list)


@dataclass
class Group:
    key: str
    label: str
    rows: list[Row] = field(default_factory=list)

    @property
    def latest(self) -> datetime:
        return self.rows[0].occurred_at


def tz_label() -> str:
    """'IST, Asia/Kolkata': the zone every console time is shown in."""
    now = local(timezone.now())
    return f"{now.tzname()}, {settings.TIME_ZONE}"


def _state_label(value: str) -> str:
    for choices in (UnitState, ReturnState):
        if value in choices.values:
            return str(choices(value).label)
    return value.replace("_", " ")


def _words(event_type: str) -> str:
    name = event_type.split(".", 1)[-1].replace("_", " ")
    return name[:1].upper() + name[1:]


def _group_key(event, refund_rma: dict[str, str]) -> tuple[str, str]:
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.entity == "refund" and refund_rma.get(str(event.entity_id)):
        rma = refund_rma[str(event.entity_id)]
        return f"return:{rma}", f"Return {rma}"
    if event.entity == "return":
        return f"return:{event.entity_id}", f"Return {event.entity_id}"
    if payload.get("rma"):
        return f"return:{payload['rma']}", f"Return {payload['rma']}"
    if event.entity == "shipment":
        return f"shipment:{event.entity_id}", f"Shipment {event.entity_id}"
    m = RMA_RE.search(event.message or "")
    if m:
        return f"return:{m.group(1)}", f"Return {m.group(1)}"
    m = SHIPMENT_RE.search(event.message or "")
    if m:
        return f"shipment:{m.group(1)}", f"Shipment {m.group(1)}"
    return "order", "Order"


def _row(event) -> Row:
    actor = event.actor_label or event.actor_kind
    if event.entity == "unit":
        what = f"{_state_label(event.from_state)} → {_state_label(event.to_state)}"
        return Row(
            event.occurred_at,
            "unit",
            event.type,
            what,
            event.message,
            actor,
            event.from_state,
            event.to_state,
            [int(event.entity_id)] if str(event.entity_id).isdigit() else [],
        )
    return Row(
        event.occurred_at,
        event.entity,
        event.type,
        _words(event.type),
        event.message,
        actor,
        event.from_state,
        event.to_state,
    )


def _same_change(a: Row, b: Row) -> bool:
    return (
        a.entity == b.entity == "unit"
        and (a.type, a.from_state, a.to_state, a.actor)
        == (b.type, b.from_state, b.to_state, b.actor)
        and abs(a.occurred_at - b.occurred_at) <= SAME_CHANGE
    )


def timeline_groups(events, refund_rma: dict[str, str] | None = None) -> list[Group]:
    """Groups (a return, a shipment, the order), the most recently active
    first; in each, rows newest first, unit changes made together merged."""
    groups: dict[str, Group] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.pk)):
        key, label = _group_key(event, refund_rma or {})
        group = groups.setdefault(key, Group(key, label))
        row = _row(event)
        last = group.rows[-1] if group.rows else None
        if last is not None and _same_change(last, row):
            last.units.extend(row.units)
            last.occurred_at = row.occurred_at
            if row.message and row.message not in last.message:
                last.message = f"{last.message}; {row.message}" if last.message else row.message
            continue
        group.rows.append(row)
    for group in groups.values():
        group.rows.reverse()
    return sorted(groups.values(), key=lambda g: g.latest, reverse=True)


def timeline_rows(events, return_request, refunds) -> list[Group]:
    """The same, for one return's page: its refunds' rows count as its own."""
    return timeline_groups(list(events), {str(r.pk): return_request.rma for r in refunds})


def qc_error_place(exc, unit_ids: list[int]) -> tuple[int | None, str, str]:
    """(unit, field, message) for a refused QC event: the service names the
    n-th result (``results[2].disposition: …``), the console names the unit."""
    extra = getattr(exc, "extra", None) or {}
    message = exc.message
    m = re.match(r"results\[(\d+)\]\.(\w+): (.*)", message, re.S)
    if m:
        n, fld, text = int(m.group(1)), m.group(2), m.group(3)
        unit = unit_ids[n] if n < len(unit_ids) else None
        return unit, fld, text[:1].upper() + text[1:]
    unit = extra.get("unit")
    return (int(unit) if unit is not None else None), "passed", message
