from celery import shared_task


@shared_task(acks_late=True, bind=True, max_retries=3, default_retry_delay=30)
def sla_leg_check_task(self, leg_id: int) -> str:
    """One leg's check (the command line and jobs may queue it). Idempotent."""
    from flows.sla import sla_check_leg

    outcome = sla_check_leg(leg_id=leg_id)
    return outcome.what if outcome else "closed"


@shared_task(acks_late=True)
def sla_sweep_task() -> int:
    """Beat runs this every minute: the one clock of every leg (legs have no
    ETA task of their own). The worker takes the due and at-risk legs in
    chunks (``flows.sla.sla_sweep``: one transaction per chunk, rows locked
    with ``SKIP LOCKED``), so sweeps that overlap on several workers share
    the legs instead of waiting on each other. How many legs it acted on."""
    from flows.sla import sla_sweep

    return len(sla_sweep())
