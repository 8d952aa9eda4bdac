"""A real Celery worker against the machine's Redis breaches a leg from beat's
minute sweep (legs have no ETA task of their own); two sweeps racing
afterwards do nothing more."""

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from flows.return_intake import return_create
from flows.sla import sla_sweep
from returns.models import ReturnPolicy
from returns.services import ItemRequest, ReturnRequest
from sla.models import Leg
from tests.celery_worker import worker_env, worker_start

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def real_broker():
    """Publish for real (not eagerly) to the Redis broker CI configures."""
    from oms.celery import app

    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        if os.environ.get("OMS_REQUIRE_POSTGRES") == "1":
            pytest.fail("The PostgreSQL run needs CELERY_BROKER_URL=redis://...")
        pytest.skip("needs CELERY_BROKER_URL=redis://...")
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield url
    app.conf.task_always_eager = saved


def test_the_sweep_task_breaches_on_a_worker_and_concurrent_sweeps_do_nothing_more(
    real_broker, make_sku, make_order, deliver_order
):
    # given a worker consuming from Redis
    worker = worker_start(worker_env(real_broker), stdout=subprocess.PIPE)
    try:
        # and a return whose pickup is due in about four seconds
        ReturnPolicy.objects.create(
            version=2, sla_hours={"pickup": 0.001, "qc": 24, "refund": 24}, max_pickup_attempts=5
        )
        make_sku("TEE-W", Decimal("500.00"), stock=5)
        order = make_order([("TEE-W", 1)])
        deliver_order(order)
        unit = order.units.get()
        ret = return_create(
            ReturnRequest(
                order=order.number,
                items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
            ),
            actor=__import__("orders.events", fromlist=["EventActor"]).EventActor.system("test"),
        )
        leg = Leg.objects.get(return_request=ret, leg="pickup", attempt=1)
        # when it is due and beat publishes the minute sweep, the worker's
        # tasks (the sweep, then the leg's check it fans out) breach it
        while timezone.now() <= leg.due_at:
            time.sleep(0.2)
        from sla.tasks import sla_sweep_task

        sla_sweep_task.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            leg.refresh_from_db()
            if leg.state == "breached":
                break
            assert worker.poll() is None, worker.communicate()[0].decode()
            time.sleep(0.5)
        assert leg.state == "breached", f"leg still {leg.state}"
        assert leg.action == "rescheduled"
        # then two sweeps racing at the same instant escalate nothing more
        results: list = []
        barrier = threading.Barrier(2)
        at = leg.due_at + timedelta(seconds=1)

        def sweep():
            try:
                barrier.wait()
                results.append([o for o in sla_sweep(now=at) if o.what == "breached"])
            finally:
                connection.close()

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [[], []]
        ret.refresh_from_db()
        assert ret.pickup_attempts == 1
        assert Leg.objects.filter(return_request=ret, state="breached").count() == 1
        assert (
            Leg.objects.filter(return_request=ret, leg="pickup", attempt=2, state="running").count()
            == 1
        )
        assert timezone.now() < leg.breached_at + timedelta(seconds=60)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.communicate()
