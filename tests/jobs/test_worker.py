"""Real workers on Redis and PostgreSQL: work committed while the broker was
down is done once it is back, and a worker killed with SIGKILL in the middle
of issuing a refund is replaced by one that issues it exactly once, within
two minutes (the job's lease, not Redis's one-hour visibility timeout)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.utils import timezone

from intake.models import WebhookDelivery
from oms.jobs import job_sweep
from oms.models import Job
from orders.models import Order, OutboundMessage, Payment, Unit
from refunds.models import GatewayRefund, Refund, RefundTender

from .conftest import closed_port

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


def wait_until(check, *, timeout: float, worker=None, what: str = "") -> float:
    """Poll ``check`` until true; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        if worker is not None:
            assert worker.alive(), f"worker died:\n{worker.output()[-4000:]}"
        time.sleep(0.25)
    log = worker.output()[-4000:] if worker is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{log}")


def due_pending() -> int:
    return Job.objects.filter(state="pending", due_at__lte=timezone.now()).count()


def emails_sent(worker_logs: str) -> int:
    return len(re.findall(r"^Message-ID: ", worker_logs, flags=re.M))


def snapshot() -> dict:
    """Everything that must happen once, counted."""
    emails = OutboundMessage.objects.exclude(channel="webhook")
    return {
        "gateway_refunds": GatewayRefund.objects.count(),
        "refunds": list(Refund.objects.order_by("pk").values_list("state", "attempts")),
        "refunded": list(Payment.objects.order_by("pk").values_list("refunded_amount", flat=True)),
        "deliveries": list(WebhookDelivery.objects.values_list("state", "attempts")),
        "webhook_orders": Order.objects.filter(channel__code="shop").count(),
        "emails": list(emails.order_by("pk").values_list("state", "attempts")),
    }


def test_work_committed_while_the_broker_was_down_is_done_once_when_it_is_back(
    settings, broker_at, redis_url, worker_queue, start_worker, do_the_four_writes
):
    settings.OMS_JOB_LEASE_SECONDS = 1
    # given a return refunded by QC, an order cancel and a Shopify webhook,
    # all committed while the broker was down
    broker_at(f"redis://127.0.0.1:{closed_port()}/0", queue=worker_queue)
    work = do_the_four_writes()
    assert {n: r.status_code for n, r in work.responses.items()} == {
        "return": 201,
        "pickup": 200,
        "received": 200,
        "qc_result": 200,
        "cancel": 200,
        "webhook": 202,
    }
    assert set(Refund.objects.values_list("state", flat=True)) == {"pending"}
    assert WebhookDelivery.objects.get().state == "received"
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.llen(worker_queue) == 0, "nothing reached the real broker"
    finally:
        client.close()
    time.sleep(1.2)  # their leases run out
    # when the broker is back and a worker starts (its start sweeps the jobs)
    broker_at(redis_url, queue=worker_queue)
    worker = start_worker(OMS_JOB_LEASE_SECONDS=30)
    wait_until(lambda: due_pending() == 0, timeout=90, worker=worker, what="due jobs done")
    # then every refund is issued once, the delivery processed once, every email sent once
    first = snapshot()
    assert [state for state, _ in first["refunds"]] == ["issued", "issued"]
    assert [attempts for _, attempts in first["refunds"]] == [1, 1]
    assert first["gateway_refunds"] == RefundTender.objects.count() == 2
    for refund in Refund.objects.all():
        assert GatewayRefund.objects.filter(payment__order=refund.order).count() == 1
    assert sum(first["refunded"], Decimal("0")) == sum(
        Refund.objects.values_list("amount", flat=True), Decimal("0")
    )
    assert first["deliveries"] == [("processed", 1)]
    assert first["webhook_orders"] == 1
    assert first["emails"], "the refunds and the return send emails"
    assert set(first["emails"]) == {("sent", 1)}
    assert emails_sent(worker.output()) == len(first["emails"])
    assert not Job.objects.filter(state="failed").exists()
    # and when every job is published once more (a sweep racing a slow
    # worker), nothing happens twice
    Job.objects.filter(state="done").update(
        state="pending", next_publish_at=timezone.now() - timedelta(seconds=1)
    )
    republished = job_sweep()
    assert republished >= 5
    wait_until(lambda: due_pending() == 0, timeout=90, worker=worker, what="re-run jobs done")
    assert snapshot() == first
    assert emails_sent(worker.output()) == len(first["emails"])


def test_a_worker_killed_mid_refund_is_replaced_and_the_refund_issued_once(
    settings, broker_at, redis_url, worker_queue, start_worker, make_sku, make_order, storefront_api
):
    settings.OMS_JOB_LEASE_SECONDS = 5
    broker_at(redis_url, queue=worker_queue)
    # given a worker with beat whose gateway takes 4 s to refund, and 5 s leases
    env = {"OMS_JOB_LEASE_SECONDS": 5, "OMS_JOB_SWEEP_SECONDS": 1, "OMS_OFFLINE_GATEWAY_DELAY": 4}
    worker = start_worker(beat=True, **env)
    make_sku("LAMP-1", Decimal("1500.00"), stock=5)
    order = make_order([("LAMP-1", 2)])
    unit = Unit.objects.filter(order=order).order_by("pk").first()
    # and a cancel that makes a refund due
    r = storefront_api.post(
        f"/api/v1/orders/{order.number}/cancel/",
        {"units": [unit.pk], "reason": "customer asked"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    refund = Refund.objects.get(order=order)
    job = Job.objects.get(task="refunds.tasks.refund_issue_task", args=[refund.pk])
    # when the worker is killed with SIGKILL while it issues the refund
    wait_until(
        lambda: Job.objects.get(pk=job.pk).runs >= 1, timeout=60, worker=worker, what="start"
    )
    time.sleep(1)
    refund.refresh_from_db()
    assert refund.state == "pending"
    worker.kill()
    killed_at = time.monotonic()
    assert refund.state == "pending"
    assert not GatewayRefund.objects.exists()
    # and a worker starts again
    replacement = start_worker(beat=True, **env)
    # then the refund is issued within two minutes of the kill
    wait_until(
        lambda: Refund.objects.get(pk=refund.pk).state == "issued",
        timeout=120 - (time.monotonic() - killed_at),
        worker=replacement,
        what="the refund issued",
    )
    assert time.monotonic() - killed_at < 120
    # and exactly once, even after more sweeps had the chance to run it again
    time.sleep(6)
    refund.refresh_from_db()
    assert refund.attempts == 1
    assert GatewayRefund.objects.filter(payment__order=order).count() == 1
    assert Payment.objects.get(order=order).refunded_amount == refund.amount
    assert Job.objects.get(pk=job.pk).state == "done"
