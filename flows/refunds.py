"""Issuing refunds (the after-commit task, retries from the API and admin,
and the payment gateways' reports)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from oms.jobs import jobs_batched
from orders.events import EventActor, timeline_batched
from refunds.gateways import GatewayError, GatewayResult
from refunds.models import Refund, RefundTender
from refunds.services import (
    gateway_webhook_done,
    gateway_webhook_store,
    refund_gateway_report,
    refund_issue_failed,
    refund_issue_money,
    refund_retry_check,
)
from refunds.states import RefundState, TenderState
from returns.services import return_items, return_lock

from .reactions import ReturnChange, return_changed, return_changed_held

logger = logging.getLogger(__name__)


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


def refunds_poll_processing(*, limit: int = 200) -> dict[str, int]:
    """Beat: ask the gateways about refunds still processing
    ``OMS_REFUND_POLL_AFTER_SECONDS`` after they were made, so a lost webhook
    does not leave a refund (and its customer) waiting for ever. Those never
    asked first, then the longest since asked, so a few stuck refunds cannot
    starve the rest; each in its own transaction under the order's lock, as
    a webhook would be; at most ``OMS_REFUND_POLL_BUDGET_SECONDS`` per run.
    A gateway that cannot answer, or refuses to, leaves the refund processing
    with its gateway refund id (asked again next time); one that says
    processed issues it, one that says failed fails it for finance."""
    actor = EventActor.system("refund-poll")
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.OMS_REFUND_POLL_AFTER_SECONDS)
    waiting = RefundTender.objects.filter(refund=OuterRef("pk"), state=TenderState.PROCESSING)
    ids = list(
        Refund.objects.filter(state=RefundState.PROCESSING, created_at__lt=cutoff)
        .filter(Exists(waiting))
        .order_by(F("polled_at").asc(nulls_first=True), "created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    deadline = time.monotonic() + settings.OMS_REFUND_POLL_BUDGET_SECONDS
    counts = {"asked": 0, "issued": 0, "failed": 0, "unanswered": 0, "errors": 0}
    for refund_id in ids:
        if time.monotonic() > deadline:
            break
        counts["asked"] += 1
        Refund.objects.filter(pk=refund_id).update(polled_at=timezone.now())
        try:
            with transaction.atomic():
                refund, issued = refund_issue_money(refund_id, actor, refused_read_fails=False)
                if issued and refund.return_request_id is not None:
                    return_changed(return_lock(refund.return_request_id), actor)
        except GatewayError:
            counts["unanswered"] += 1
            continue
        except Exception:  # one bad refund must not stop the rest; it is logged
            logger.exception("refund poll: refund %s", refund_id)
            counts["errors"] += 1
            continue
        if refund.state == RefundState.ISSUED:
            counts["issued"] += 1
        elif refund.state == RefundState.FAILED:
            counts["failed"] += 1
    return counts


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
