"""SLA checks and breach actions (ETA tasks, the beat sweep, the command)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from sla.services import Outcome, sla_due_leg_ids
from sla.services import sla_check_leg as sla_leg_check

from .return_events import return_handle_event


def sla_check_leg(*, leg_id: int, now: datetime | None = None) -> Outcome | None:
    """Mark a leg at risk or breach it, once. A breach acts on the return
    through the same use case as a person (``return_handle_event``)."""
    return sla_leg_check(leg_id=leg_id, now=now, apply_event=return_handle_event)


def sla_sweep(*, now: datetime | None = None, limit: int = 5000) -> list[Outcome]:
    """One pass in this process: legs past 80% become at risk, legs past due
    are breached and acted on. (The beat task fans the same ids out to the
    workers instead.)"""
    now = now or timezone.now()
    outcomes: list[Outcome] = []
    for leg_id in sla_due_leg_ids(now=now, limit=limit):
        outcome = sla_check_leg(leg_id=leg_id, now=now)
        if outcome is not None and outcome.what != "nothing":
            outcomes.append(outcome)
    return outcomes
