"""Issuing refunds (the after-commit task, retries from the API and admin)."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from refunds.gateways import GatewayError
from refunds.models import Refund
from refunds.services import refund_issue_failed, refund_issue_money, refund_retry_check
from returns.services import return_lock

from .reactions import return_changed


def refund_issue(*, refund_id: int, actor: EventActor | None = None) -> Refund:
    """Issue a pending (or failed) refund, then its return's reactions (the
    refund leg closes, the return may complete). A gateway failure marks the
    refund failed in a transaction of its own and is raised again."""
    actor = actor or EventActor.system("refunds")
    try:
        with transaction.atomic():
            refund, issued = refund_issue_money(refund_id, actor)
            if issued and refund.return_request_id is not None:
                return_changed(return_lock(refund.return_request_id), actor)
            return refund
    except GatewayError as exc:
        refund_issue_failed(refund_id=refund_id, actor=actor, exc=exc)
        raise


def refund_retry(*, refund_id: int, actor: EventActor) -> Refund:
    refund_retry_check(refund_id=refund_id)
    return refund_issue(refund_id=refund_id, actor=actor)
