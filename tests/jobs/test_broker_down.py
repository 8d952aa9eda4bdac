"""A committed change never turns into an error because the broker is down,
and the work it queued waits as a job row until the sweep publishes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from intake.models import WebhookDelivery
from oms.jobs import job_enqueue, job_sweep
from oms.models import Job
from refunds.models import Refund

from .conftest import closed_port


@pytest.mark.django_db(transaction=True)
def test_returns_events_cancels_and_webhooks_answer_2xx_with_the_broker_down(
    broker_at, do_the_four_writes
):
    # given a broker nobody listens on, and tasks published for real
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    # when a return is created and refunded by QC, an order is cancelled and a
    # signed Shopify webhook arrives (each commits, then publishes its work)
    work = do_the_four_writes()
    # then every request answered 2xx
    codes = {name: r.status_code for name, r in work.responses.items()}
    assert codes == {
        "return": 201,
        "pickup": 200,
        "received": 200,
        "qc_result": 200,
        "cancel": 200,
        "webhook": 202,
    }, {n: r.content[:300] for n, r in work.responses.items()}
    # and the work is waiting as pending jobs: both refunds, the delivery, the emails
    refunds = list(Refund.objects.order_by("pk"))
    assert [r.state for r in refunds] == ["pending", "pending"]
    assert WebhookDelivery.objects.get(pk=work.delivery_id).state == "received"
    pending = Job.objects.filter(state="pending")
    assert sorted(
        pending.filter(task="refunds.tasks.refund_issue_task").values_list("args", flat=True)
    ) == sorted([[r.pk] for r in refunds])
    assert list(
        pending.filter(task="intake.tasks.delivery_process_task").values_list("args", flat=True)
    ) == [[work.delivery_id]]
    assert pending.filter(task="orders.tasks.message_deliver_task").count() >= 2
    assert not Job.objects.exclude(state="pending").exists()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_with_the_broker_still_down_publishes_nothing_and_raises_nothing(
    broker_at,
):
    # given a job whose lease ran out, and a broker that is down
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    job = job_enqueue("sla.tasks.sla_leg_check_task", 999999)
    Job.objects.filter(pk=job.pk).update(next_publish_at=timezone.now() - timedelta(seconds=1))
    # when the sweep runs, it publishes nothing and the job keeps its place
    assert job_sweep() == 0
    job.refresh_from_db()
    assert (job.state, job.publishes) == ("pending", 0)


@pytest.mark.django_db
def test_the_sweep_publishes_due_jobs_whose_lease_ran_out_and_the_worker_marks_them(
    django_capture_on_commit_callbacks,
):
    # given (run eagerly) a job whose lease ran out, one still leased, one not due
    now = timezone.now()
    expired = job_enqueue("sla.tasks.sla_leg_check_task", 999991)
    leased = job_enqueue("sla.tasks.sla_leg_check_task", 999992)
    later = job_enqueue("sla.tasks.sla_leg_check_task", 999993, due_at=now + timedelta(hours=1))
    Job.objects.filter(pk=expired.pk).update(next_publish_at=now - timedelta(seconds=1))
    # when the sweep runs
    published = job_sweep()
    # then only the expired one ran, and it is done
    assert published == 1
    states = dict(Job.objects.values_list("pk", "state"))
    assert states == {expired.pk: "done", leased.pk: "pending", later.pk: "pending"}
    assert Job.objects.get(pk=expired.pk).runs == 1
    assert later.next_publish_at > now + timedelta(hours=1)


@pytest.mark.django_db
def test_a_task_that_fails_marks_its_job_failed_with_the_error():
    # given a job for a refund that does not exist
    job = job_enqueue("refunds.tasks.refund_issue_task", 987654)
    Job.objects.filter(pk=job.pk).update(next_publish_at=timezone.now() - timedelta(seconds=1))
    # when the sweep runs it (eagerly: the error propagates, as before)
    with pytest.raises(Exception, match="987654"):
        job_sweep()
    # then the job is failed, with the error, and no sweep publishes it again
    job.refresh_from_db()
    assert job.state == "failed"
    assert "987654" in job.last_error
    assert job_sweep(now=timezone.now() + timedelta(days=1)) == 0


@pytest.mark.django_db
def test_replay_queues_again_a_delivery_stuck_in_received(ops_api):
    from intake.services import channel_upsert

    # given a delivery whose work was lost (no job ran) before this change
    channel, _ = channel_upsert(
        code="shop", name="Shop", platform="shopify", webhook_secret="s", unknown_sku="create"
    )
    delivery = WebhookDelivery.objects.create(
        channel=channel, platform="shopify", topic="shop/update", delivery_id="d-1", body=b"{}"
    )
    # when ops replay it
    r = ops_api.post(f"/api/v1/dead-letters/{delivery.pk}/replay/")
    # then it is queued as a job
    assert r.status_code == 202, r.json()
    assert list(
        Job.objects.filter(task="intake.tasks.delivery_process_task").values_list("args", flat=True)
    ) == [[delivery.pk]]


@pytest.mark.django_db(transaction=True)
def test_work_due_later_than_a_lease_waits_for_the_sweep_not_the_broker(broker_at, monkeypatch):
    import oms.jobs

    published = []
    monkeypatch.setattr(oms.jobs, "job_publish", lambda job: published.append(job.pk) or True)
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    now = timezone.now()
    # given an SLA check due in a day and one due now, both committed
    later = job_enqueue("sla.tasks.sla_leg_check_task", 1, due_at=now + timedelta(days=1))
    soon = job_enqueue("sla.tasks.sla_leg_check_task", 2)
    # then only the one due now went to the broker at commit
    assert published == [soon.pk]
    assert later.next_publish_at == later.due_at
    # and the sweep leaves the later one until it falls due, then publishes it
    published.clear()
    assert job_sweep(now=now + timedelta(hours=23)) == 1
    assert published == [soon.pk]
    published.clear()
    job_sweep(now=now + timedelta(days=1, seconds=1))
    assert later.pk in published


@pytest.mark.django_db(transaction=True)
def test_a_job_naming_no_task_is_failed_and_does_not_block_the_sweep(broker_at, monkeypatch):
    import oms.jobs

    # given (publishing for real) a job whose task was removed, due before another
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")
    gone = job_enqueue("orders.tasks.no_such_task", 1)
    fine = job_enqueue("sla.tasks.sla_leg_check_task", 2)
    Job.objects.update(next_publish_at=timezone.now() - timedelta(seconds=1))
    sent = []
    monkeypatch.setattr(
        "oms.jobs._task_publish", lambda task, args, **kw: sent.append((task.name, args))
    )
    oms.jobs._broker_down_until = 0.0
    # when the sweep runs
    assert job_sweep() == 1
    # then the broken one is failed with its reason and the other was published
    gone.refresh_from_db()
    assert gone.state == "failed"
    assert "no_such_task" in gone.last_error
    assert sent == [("sla.tasks.sla_leg_check_task", [2])]
    assert Job.objects.get(pk=fine.pk).publishes == 1
