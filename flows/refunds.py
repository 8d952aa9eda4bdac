"""Issuing refunds (the after-commit task, retries from the API and admin,
and the payment gateways' reports)."""

from __future__ import annotations

from django.db import transaction

from oms.jobs import jobs_batched
from orders.events import EventActor, timeline_batched
from refunds.gateways import GatewayError, GatewayResult
from refunds.models import Refund
from refunds.services import (
    gateway_webhook_done,
    gateway_webhook_store,
    refund_gateway_report,
    refund_issue_failed,
    refund_issue_money,
    refund_retry_check,
)
from returns.services import return_items, return_lock

from .reactions import ReturnChange, return_changed, return_changed_held


def refund_issue(*, refund_id: int, actor: EventActor | None = None) -> Refund:
    """Issue a pending (or failed, or processing) refund, then its return's
    reactions (the refund leg closes, the return may complete). A gateway that
    could not answer marks the refund failed in a transaction of its own and
    is raised again (the task retries); one that refused leaves it failed with
    the gateway's reason."""
    actor = actor or EventActor.system("refunds")
    try:
        # Timeline rows and jobs written in one statement each at the end.
        with transaction.atomic(), timeline_batched(), jobs_batched():
            refund, issued = refund_issue_money(refund_id, actor)
            if issued and refund.return_request_id is not None:
                # The order is locked (refund_issue_money): the reactions go
                # on the return's items, read once (units not locked, as before).
                ret = return_lock(refund.return_request_id)
                return_changed_held(
                    ret, actor, ReturnChange(return_items(ret, related=("unit__sku",)))
                )
            return refund
    except GatewayError as exc:
        refund_issue_failed(refund_id=refund_id, actor=actor, exc=exc)
        raise


def refund_retry(*, refund_id: int, actor: EventActor) -> Refund:
    """Finance's retry: a failed tender is sent again (as a new submission),
    a processing one is asked for its status. A gateway that still cannot
    answer leaves the refund failed with the reason, not an error."""
    refund_retry_check(refund_id=refund_id)
    try:
        return refund_issue(refund_id=refund_id, actor=actor)
    except GatewayError:
        return Refund.objects.get(pk=refund_id)


def refund_gateway_event(
    *,
    gateway: str,
    event_id: str,
    event_type: str,
    body: bytes,
    headers: dict,
    result: GatewayResult | None,
    key: str = "",
    amount_minor: int | None = None,
) -> tuple[bool, str]:
    """A gateway's webhook, signature already checked: stored raw once, then
    applied (``result`` None: an event we do not act on). Returns whether it
    was a redelivery, and what happened."""
    row, fresh = gateway_webhook_store(
        gateway=gateway, event_id=event_id, event_type=event_type, body=body, headers=headers
    )
    if not fresh:
        return True, row.outcome
    if result is None:
        outcome = f"ignored: {event_type} is not a refund event we act on"
        gateway_webhook_done(row, outcome)
        return False, outcome
    actor = EventActor.system(gateway)
    with transaction.atomic():
        refund, issued, outcome = refund_gateway_report(
            gateway=gateway, result=result, key=key, amount_minor=amount_minor, actor=actor
        )
        if issued and refund is not None and refund.return_request_id is not None:
            return_changed(return_lock(refund.return_request_id), actor)
        gateway_webhook_done(row, outcome, result.reference)
    return False, outcome
