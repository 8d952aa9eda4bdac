"""``manage.py jobs_recover``: queue the work an older version (or a lost
broker) dropped. It lives in intake, the entry layer, because it reaches two
apps below it: intake's own webhook deliveries and refunds' pending refunds."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Queue work lost before durable jobs existed (or by hand): a job for every pending "
        "refund and every webhook delivery not processed yet (received or failed) that has "
        "no pending job. Safe to run twice; the tasks are idempotent."
    )

    def handle(self, *args, **options):
        from intake.models import WebhookDelivery
        from intake.states import DeliveryState
        from intake.tasks import delivery_process_task
        from oms.jobs import job_enqueue
        from oms.models import Job
        from refunds.models import Refund
        from refunds.states import RefundState
        from refunds.tasks import refund_issue_task

        wanted = [
            (refund_issue_task, Refund.objects.filter(state=RefundState.PENDING)),
            (
                delivery_process_task,
                WebhookDelivery.objects.filter(
                    state__in=[DeliveryState.RECEIVED, DeliveryState.FAILED]
                ),
            ),
        ]
        made = 0
        with transaction.atomic():
            for task, rows in wanted:
                queued = {
                    tuple(args)
                    for args in Job.objects.filter(
                        task=task.name, state=Job.State.PENDING
                    ).values_list("args", flat=True)
                }
                for pk in rows.order_by("pk").values_list("pk", flat=True):
                    if (pk,) not in queued:
                        job_enqueue(task, pk)
                        made += 1
        self.stdout.write(f"{made} job(s) queued")
