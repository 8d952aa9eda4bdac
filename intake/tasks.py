"""Thin task: an id in, the service does the work."""

from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=5)
def delivery_process_task(self, delivery_id: int) -> str:
    """Process a stored webhook. Transient failures retry with exponential
    backoff (2, 4, 8, ... seconds, at most 10 minutes); the last attempt
    settles the delivery as a dead letter instead of raising.

    Run eagerly (tests, the benchmark), Celery cannot retry while it
    propagates errors, so the attempts run inline without the wait.
    """
    from .services import RetryLater, delivery_process

    if self.request.is_eager:
        for attempt in range(self.max_retries + 1):
            try:
                return delivery_process(
                    delivery_id=delivery_id, final_attempt=attempt >= self.max_retries
                )
            except RetryLater:
                continue
    final = self.request.retries >= self.max_retries
    try:
        return delivery_process(delivery_id=delivery_id, final_attempt=final)
    except RetryLater as exc:
        countdown = min(600, 2 ** (self.request.retries + 1))
        raise self.retry(exc=exc, countdown=countdown) from exc
