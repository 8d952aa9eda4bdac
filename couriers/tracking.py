"""Shiprocket tracking statuses → what they do to a return. One table; a
status not in it is kept on the timeline and changes nothing.

Matched on the webhook's ``current_status`` label (upper case, spaces
collapsed), as documented in Shiprocket's shipment status list."""

from __future__ import annotations

from django.db import models


class Milestone(models.TextChoices):
    PICKED_UP = "picked_up", "Picked up"  # reverse: pickup_completed
    PICKUP_FAILED = "pickup_failed", "Pickup failed"  # reverse: pickup_failed with the NDR reason
    DELIVERED = "delivered", "Delivered"  # reverse: received at our location; forward: delivered
    NOTE = "note", "Timeline only"


STATUS_TABLE: dict[str, Milestone] = {
    # the courier has the parcel
    "PICKED UP": Milestone.PICKED_UP,
    "RETURN PICKED UP": Milestone.PICKED_UP,
    # the pickup did not happen (the courier's reason travels with it)
    "PICKUP EXCEPTION": Milestone.PICKUP_FAILED,
    "PICKUP ERROR": Milestone.PICKUP_FAILED,
    "PICKUP FAILED": Milestone.PICKUP_FAILED,
    "PICKUP CANCELLED": Milestone.PICKUP_FAILED,
    "RETURN PICKUP CANCELLED": Milestone.PICKUP_FAILED,
    "RETURN CANCELLED": Milestone.PICKUP_FAILED,
    "CANCELED": Milestone.PICKUP_FAILED,
    "CANCELLED": Milestone.PICKUP_FAILED,
    # arrived where it was going
    "DELIVERED": Milestone.DELIVERED,
    "RETURN DELIVERED": Milestone.DELIVERED,
    # known steps in between: timeline only
    "AWB ASSIGNED": Milestone.NOTE,
    "PICKUP SCHEDULED": Milestone.NOTE,
    "PICKUP GENERATED": Milestone.NOTE,
    "PICKUP RESCHEDULED": Milestone.NOTE,
    "OUT FOR PICKUP": Milestone.NOTE,
    "MANIFEST GENERATED": Milestone.NOTE,
    "SHIPPED": Milestone.NOTE,
    "IN TRANSIT": Milestone.NOTE,
    "REACHED AT DESTINATION HUB": Milestone.NOTE,
    "OUT FOR DELIVERY": Milestone.NOTE,
}

# For a forward shipment only delivery changes anything; a cancelled or
# failed pickup there is our warehouse's handover, a note for the agents.
FORWARD = {Milestone.DELIVERED}


def status_key(label: object) -> str:
    return " ".join(str(label or "").upper().replace("_", " ").split())


def milestone_for(label: object, *, forward: bool) -> Milestone:
    found = STATUS_TABLE.get(status_key(label), Milestone.NOTE)
    if forward and found not in FORWARD:
        return Milestone.NOTE
    return found


def ndr_reason(payload: dict) -> str:
    """The courier's reason for a failed pickup: an explicit field, else the
    latest scan's activity, else the status itself."""
    for key in ("ndr_reason", "reason", "remarks"):
        if payload.get(key):
            return str(payload[key])[:300]
    scans = payload.get("scans")
    if isinstance(scans, list) and scans:
        last = scans[-1]
        if isinstance(last, dict) and last.get("activity"):
            return str(last["activity"])[:300]
    return str(payload.get("current_status") or "")[:300]
