"""The sla timeline vocabulary and its one writer."""

from __future__ import annotations

from datetime import datetime

from django.db import models

from orders.events import Event, EventActor, TimelineEntry, timeline_record

from .models import Leg

SYSTEM = EventActor.system("sla")


class SlaEventType(models.TextChoices):
    LEG_STARTED = "sla.leg_started", "Leg started"
    LEG_AT_RISK = "sla.leg_at_risk", "Leg at risk"
    LEG_COMPLETED = "sla.leg_completed", "Leg completed"
    LEG_CANCELLED = "sla.leg_cancelled", "Leg cancelled"
    LEG_BREACHED = "sla.leg_breached", "Leg breached"


def sla_event_entry(
    leg: Leg,
    type_: SlaEventType,
    message: str,
    *,
    at: datetime,
    actor: EventActor = SYSTEM,
    before: str = "",
    payload: dict | None = None,
) -> TimelineEntry:
    """The row ``sla_event`` writes, for ``timeline_record_rows`` (the sweep
    writes a chunk's rows in one insert)."""
    return TimelineEntry(
        leg.return_request.order_id,
        Event(
            "sla",
            leg.pk,
            type_.value,
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
        actor,
        at,
    )


def sla_event(
    leg: Leg,
    type_: SlaEventType,
    message: str,
    *,
    at: datetime,
    actor: EventActor = SYSTEM,
    before: str = "",
    payload: dict | None = None,
) -> None:
    entry = sla_event_entry(leg, type_, message, at=at, actor=actor, before=before, payload=payload)
    timeline_record(order=entry.order_id, actor=entry.actor, occurred_at=at, event=entry.event)
