"""Customer messages and storefront webhooks through the transactional outbox.

``message_enqueue`` (email) and ``webhook_enqueue`` (signed JSON POST, see
``orders.webhooks``) write an OutboundMessage inside the caller's transaction,
with a job (``oms.jobs.job_enqueue``) that delivers it after commit; the job
sweep publishes it again if the broker or the worker lost it, and the beat
sweep ``outbox_flush_task`` still picks up whatever message is pending.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from oms.jobs import job_enqueue, job_enqueue_for, job_enqueue_many

from .events import Event, EventActor, TimelineEntry, timeline_record, timeline_record_rows
from .models import Order, OutboundMessage
from .webhooks import EVENT_TYPES, WEBHOOK, channel_wants


def message_enqueue(
    *, order: Order, template: str, subject: str, body: str
) -> OutboundMessage | None:
    to = order.email
    if not to:
        return None
    from .tasks import message_deliver_task

    message = OutboundMessage(
        order=order, to=to, template=template, subject=subject[:255], body=body
    )
    job_enqueue_for(message_deliver_task, message)  # the message and its job: one insert
    timeline_record(
        order=order,
        actor=EventActor.system("outbox"),
        event=Event(
            "message",
            message.pk,
            "message.queued",
            "",
            "pending",
            subject[:200],
            {"template": template, "to": to},
        ),
    )
    return message


@dataclass(frozen=True)
class MessageSpec:
    """One email for ``message_enqueue_many``."""

    order: Order
    template: str
    subject: str
    body: str


def message_enqueue_many(specs: list[MessageSpec]) -> list[OutboundMessage | None]:
    """``message_enqueue`` for many orders with a constant number of
    statements (the rows, their ``message.queued`` timeline rows and their
    jobs: three inserts). None where the order has no email, as there."""
    wanted = [(i, s) for i, s in enumerate(specs) if s.order.email]
    out: list[OutboundMessage | None] = [None] * len(specs)
    if not wanted:
        return out
    messages = OutboundMessage.objects.bulk_create(
        [
            OutboundMessage(
                order=s.order,
                to=s.order.email,
                template=s.template,
                subject=s.subject[:255],
                body=s.body,
            )
            for _, s in wanted
        ]
    )
    outbox = EventActor.system("outbox")
    timeline_record_rows(
        [
            TimelineEntry(
                m.order_id,
                Event(
                    "message",
                    m.pk,
                    "message.queued",
                    "",
                    "pending",
                    s.subject[:200],
                    {"template": s.template, "to": m.to},
                ),
                outbox,
            )
            for m, (_, s) in zip(messages, wanted, strict=True)
        ]
    )
    from .tasks import message_deliver_task

    job_enqueue_many(message_deliver_task, [(m.pk,) for m in messages])
    for m, (i, _) in zip(messages, wanted, strict=True):
        out[i] = m
    return out


def message_deliver(*, message_id: int) -> bool:
    """Send one message. Idempotent: a sent message is not sent again."""
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(of=("self",)).filter(pk=message_id).first()
        )
        if message is None or message.state == OutboundMessage.State.SENT:
            return False
        message.attempts += 1
        try:
            send_mail(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to])
        except Exception as exc:  # delivery is retried; the error is kept for ops
            message.last_error = str(exc)[:500]
            message.state = (
                OutboundMessage.State.FAILED
                if message.attempts >= 5
                else OutboundMessage.State.PENDING
            )
            message.save(update_fields=["attempts", "last_error", "state"])
            raise
        message.state = OutboundMessage.State.SENT
        message.sent_at = timezone.now()
        message.save(update_fields=["attempts", "state", "sent_at"])
    return True


def webhook_wanted(order: Order, type: str) -> bool:
    """Whether ``webhook_enqueue`` would write a row: lets callers skip
    building the payload for channels that take no webhooks."""
    return channel_wants(order.channel, type)


def webhook_enqueue(
    *, order: Order, type: str, data: dict, occurred_at: datetime | None = None
) -> OutboundMessage | None:
    """Write one storefront webhook for a change, in the caller's transaction,
    and post it after commit. Nothing is written when the order's channel has
    no outbound URL or is not subscribed to ``type``. No timeline row: the
    timeline is what the customer sees, and this is system-to-system."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {type!r}.")
    channel = order.channel
    if not channel_wants(channel, type):
        return None
    delivery = str(uuid.uuid4())
    envelope = {
        "id": delivery,
        "type": type,
        "occurred_at": occurred_at or timezone.now(),
        "order": order.number,
        "channel": channel.code,
        "data": data,
    }
    message = OutboundMessage.objects.create(
        order=order,
        channel=WEBHOOK,
        to=channel.outbound_url,
        template=type,
        subject=type,
        body=json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":")),
        headers={"X-OMS-Event": type, "X-OMS-Delivery": delivery},
    )
    from .tasks import webhook_deliver_task

    job_enqueue(webhook_deliver_task, message.pk)
    return message


def outbox_pending_ids(limit: int = 500) -> list[int]:
    """Pending emails; webhooks have their own schedule (``webhook_due_ids``)."""
    return list(
        OutboundMessage.objects.filter(state=OutboundMessage.State.PENDING)
        .exclude(channel=WEBHOOK)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
