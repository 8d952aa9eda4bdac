"""Review of a held return: approve or reject."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from oms.errors import ApplicationError, Conflict
from orders.events import EventActor

from ..events import ReturnEventType, return_event
from ..messages import REJECT_REASONS, notify
from ..models import Return
from ..states import ReturnState
from .common import return_get_for_update, return_items, transition
from .create import keep_units_on_approval
from .events.cancel import _close_unstarted


def return_review_approve(*, rma: str, actor: EventActor, note: str = "") -> Return:
    from django.utils import timezone

    with transaction.atomic(
        savepoint=False
    ):  # inside its flow's transaction: no savepoint (no extra queries)
        return_request = return_get_for_update(rma)
        if return_request.state != ReturnState.PENDING_REVIEW:
            raise Conflict(
                f"Return {rma} is {return_request.state}, not waiting for review.",
                code="invalid_state",
                extra={"state": return_request.state},
            )
        transition(
            return_request,
            Return.approve,
            actor.user,
            note,
            timezone.now(),
            actor=actor,
            message=note or "Approved in review",
        )
        return_event(
            return_request, ReturnEventType.APPROVED, actor=actor, message=note or "Approved"
        )
        keep_units_on_approval(return_request, return_items(return_request, lock_units=True), actor)
        return return_request


def return_approved_notify(return_request: Return, dates: Mapping[str, Any]) -> None:
    """Tell the customer; ``dates`` are the promised ones (sla's clock, passed
    in by ``flows.return_review``)."""
    notify(return_request, "return_approved", dates=dates)


def return_review_reject(
    *, rma: str, actor: EventActor, note: str = "", reason: str = "other"
) -> Return:
    """Reject a held return. ``reason`` (a ``REJECT_REASONS`` code) picks what
    the customer is told; ``note`` is for the record only."""
    from django.utils import timezone

    reason = reason or "other"
    if reason not in REJECT_REASONS:
        raise ApplicationError(
            f"reason: unknown reason {reason!r}; one of {', '.join(REJECT_REASONS)}.",
            extra={"field": "reason"},
        )
    with transaction.atomic():
        return_request = return_get_for_update(rma)
        if return_request.state != ReturnState.PENDING_REVIEW:
            raise Conflict(
                f"Return {rma} is {return_request.state}, not waiting for review.",
                code="invalid_state",
                extra={"state": return_request.state},
            )
        items = return_items(return_request, lock_units=True)
        _close_unstarted(
            return_request,
            items,
            actor,
            Return.reject,
            actor.user,
            note,
            timezone.now(),
            why="rejected in review",
        )
        label = REJECT_REASONS[reason][0]
        return_event(
            return_request,
            ReturnEventType.REJECTED,
            actor=actor,
            message=f"{label}: {note}" if note else label,
            payload={"reason": reason, "note": note},
        )
        notify(return_request, "return_rejected", reason=reason)
        return return_request
