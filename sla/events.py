"""The sla timeline vocabulary and its one writer."""

from __future__ import annotations

from datetime import datetime

from django.db import models

from orders.events import Event, EventActor, timeline_record

from .models import Leg

SYSTEM = EventActor.system("sla")


class SlaEventType(models.TextChoices):
    LEG_STARTED = "sla.leg_started", "Leg started"
    LEG_AT_RISK = "sla.leg_at_risk", "Leg at risk"
    LEG_COMPLETED = "sla.leg_completed", "Leg completed"
    LEG_CANCELLED = "sla.leg_cancelled", "Leg cancelled"
    LEG_BREACHED = "sla.leg_breached", "Leg breached"


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
    timeline_record(
        order=leg.return_request.order_id,
        actor=actor,
        occurred_at=at,
        event=Event(
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
    )
