"""Review of a held return: approve or reject."""

from __future__ import annotations

from django.db import transaction

from oms.errors import Conflict
from orders.events import EventActor

from ..events import ReturnEventType, return_event
from ..messages import notify
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
        ret = return_get_for_update(rma)
        if ret.state != ReturnState.PENDING_REVIEW:
            raise Conflict(
                f"Return {rma} is {ret.state}, not waiting for review.",
                code="invalid_state",
                extra={"state": ret.state},
            )
        transition(
            ret,
            Return.approve,
            actor.user,
            note,
            timezone.now(),
            actor=actor,
            message=note or "Approved in review",
        )
        return_event(ret, ReturnEventType.APPROVED, actor=actor, message=note or "Approved")
        notify(ret, "return_approved")
        keep_units_on_approval(ret, return_items(ret, lock_units=True), actor)
        return ret


def return_review_reject(*, rma: str, actor: EventActor, note: str = "") -> Return:
    from django.utils import timezone

    with transaction.atomic():
        ret = return_get_for_update(rma)
        if ret.state != ReturnState.PENDING_REVIEW:
            raise Conflict(
                f"Return {rma} is {ret.state}, not waiting for review.",
                code="invalid_state",
                extra={"state": ret.state},
            )
        items = return_items(ret, lock_units=True)
        _close_unstarted(
            ret,
            items,
            actor,
            Return.reject,
            actor.user,
            note,
            timezone.now(),
            why="rejected in review",
        )
        return_event(ret, ReturnEventType.REJECTED, actor=actor, message=note or "Rejected")
        notify(ret, "return_rejected", note=note)
        return ret
