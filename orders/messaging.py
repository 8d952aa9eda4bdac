"""Customer messages through the transactional outbox.

``message_enqueue`` writes an OutboundMessage inside the caller's transaction
and schedules delivery for after commit. If the worker is down, the beat sweep
``outbox_flush_task`` picks up whatever is still pending.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .events import Event, EventActor, timeline_record
from .models import Order, OutboundMessage


def message_enqueue(
    *, order: Order, template: str, subject: str, body: str
) -> OutboundMessage | None:
    to = order.email
    if not to:
        return None
    message = OutboundMessage.objects.create(
        order=order, to=to, template=template, subject=subject[:255], body=body
    )
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
    from .tasks import message_deliver_task

    transaction.on_commit(lambda: message_deliver_task.delay(message.pk))
    return message


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


def outbox_pending_ids(limit: int = 500) -> list[int]:
    return list(
        OutboundMessage.objects.filter(state=OutboundMessage.State.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
