"""The outbox: queue failed customer messages and storefront webhooks again."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from oms.jobs import job_enqueue

from ..models import OutboundMessage
from ..tasks import message_deliver_task, webhook_deliver_task
from ..webhooks import WEBHOOK


def outbound_messages_retry(*, ids: Iterable[int]) -> int:
    """Put the failed messages among ``ids`` back to pending, with their
    attempts reset, and queue their delivery. Returns how many were queued."""
    with transaction.atomic():
        rows = list(
            OutboundMessage.objects.filter(
                pk__in=ids, state=OutboundMessage.State.FAILED
            ).values_list("pk", "channel")
        )
        OutboundMessage.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            state=OutboundMessage.State.PENDING, attempts=0, next_attempt_at=None
        )
        for message_id, channel in rows:
            task = webhook_deliver_task if channel == WEBHOOK else message_deliver_task
            job_enqueue(task, message_id)
    return len(rows)
