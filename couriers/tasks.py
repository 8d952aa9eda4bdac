"""Thin tasks: ids in, the use case does the work (``flows.couriers``).

A courier that fails retries with exponential backoff (30 s, 60 s, ... at
most 30 minutes), ``max_retries`` times; the return meanwhile shows
"pickup not booked" in the console queue, where an agent can book again."""

from celery import shared_task


def _run(task, call):
    from flows.couriers import BookLater

    if task.request.is_eager:
        try:
            return call()
        except BookLater as exc:
            return f"not booked: {exc}"
    try:
        return call()
    except BookLater as exc:
        countdown = min(1800, 30 * 2**task.request.retries)
        raise task.retry(exc=exc, countdown=countdown) from exc


@shared_task(bind=True, acks_late=True, max_retries=8)
def pickup_book_task(self, rma: str, reschedule: bool = False) -> str:
    from flows.couriers import pickup_book

    return _run(self, lambda: pickup_book(rma=rma, reschedule=reschedule))


@shared_task(bind=True, acks_late=True, max_retries=8)
def forward_book_task(self, courier_order_id: int) -> str:
    from flows.couriers import forward_book

    return _run(self, lambda: forward_book(courier_order_id=courier_order_id))
