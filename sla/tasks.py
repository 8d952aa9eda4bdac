from celery import shared_task


@shared_task(acks_late=True, bind=True, max_retries=3, default_retry_delay=30)
def sla_leg_check_task(self, leg_id: int) -> str:
    """One leg's check, queued by the minute sweep (``sla_sweep_task``). Idempotent."""
    from flows.sla import sla_check_leg

    outcome = sla_check_leg(leg_id=leg_id)
    return outcome.what if outcome else "closed"


@shared_task(acks_late=True)
def sla_sweep_task() -> int:
    """Beat runs this every minute: the one clock of every leg (legs have no
    ETA task of their own). It only selects the due and at-risk legs (index
    scans) and fans out one idempotent task per leg, so several workers share
    the breach work."""
    from .selectors import sla_due_leg_ids

    ids = sla_due_leg_ids()
    for leg_id in ids:
        sla_leg_check_task.delay(leg_id)
    return len(ids)
