"""sla reads: the legs of a return and their body in the return's JSON."""

from __future__ import annotations

from .models import Leg


def return_legs(ret) -> list[Leg]:
    return list(Leg.objects.filter(return_request=ret).order_by("started_at", "pk"))


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
