from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=30)
def message_deliver_task(self, message_id: int) -> bool:
    from .messaging import message_deliver

    try:
        return message_deliver(message_id=message_id)
    except Exception as exc:
        raise self.retry(exc=exc, countdown=30 * (2**self.request.retries)) from exc


# Retries are bounded by the message's own attempt count (webhooks.MAX_ATTEMPTS),
# which also counts attempts made by tasks the flush started.
@shared_task(bind=True, acks_late=True, max_retries=None)
def webhook_deliver_task(self, message_id: int) -> str:
    """One attempt at a storefront webhook; on failure, retry after the
    backoff recorded on the message (30 s × 2^n)."""
    from .webhooks import Outcome, webhook_deliver

    result = webhook_deliver(message_id=message_id)
    # Run eagerly (tests), a retry would run at once, ignoring the countdown,
    # and raise into the caller: the row keeps next_attempt_at and beat's
    # flush picks it up when due instead.
    if result.outcome == Outcome.RETRY and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.outcome


@shared_task(acks_late=True)
def outbox_flush_task() -> int:
    """Safety net run by beat: deliver messages whose after-commit task was
    lost. Webhooks go to a worker, only once due (next_attempt_at), and never
    once failed; emails are sent here as before."""
    from .messaging import message_deliver, outbox_pending_ids
    from .webhooks import webhook_due_ids

    sent = 0
    for message_id in outbox_pending_ids():
        try:
            sent += bool(message_deliver(message_id=message_id))
        except Exception:  # noqa: S112 - recorded on the message; next sweep retries
            continue
    for message_id in webhook_due_ids():
        webhook_deliver_task.delay(message_id)
    return sent
