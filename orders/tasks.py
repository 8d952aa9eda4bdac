from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=30)
def message_deliver_task(self, message_id: int) -> bool:
    from .messaging import message_deliver

    try:
        return message_deliver(message_id=message_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=30 * (2**self.request.retries)) from exc


@shared_task(acks_late=True)
def outbox_flush_task() -> int:
    """Safety net run by beat: deliver messages whose after-commit task was lost."""
    from .messaging import message_deliver, outbox_pending_ids

    sent = 0
    for message_id in outbox_pending_ids():
        try:
            sent += bool(message_deliver(message_id=message_id))
        except Exception:  # noqa: S112 - recorded on the message; next sweep retries
            continue
    return sent
