from celery import shared_task


@shared_task(acks_late=True)
def job_sweep_task() -> int:
    """Beat's safety net for queued work: publish again every pending job whose
    lease ran out (never published, lost by the broker, or its worker died),
    and drop done jobs after two weeks."""
    from .jobs import job_prune, job_sweep

    published = job_sweep()
    job_prune()
    return published
