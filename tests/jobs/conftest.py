"""Durable work: a broker that is down, a real worker, a worker killed.

``broker_at(url)`` points this process's Celery app at a broker (publishing
for real, not eagerly) and puts everything back afterwards. ``start_worker``
runs ``celery -A oms worker`` on the live test database (``transaction=True``
tests only: the worker must see committed rows) with its own queue, so stale
messages from other runs on the same Redis never reach it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.celery_worker import worker_env, worker_start


def closed_port() -> int:
    """A TCP port on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reset_pools(app) -> None:
    # Drop the app's references only: kombu's global pools are shared, keyed
    # by broker URL, and a closed one would be handed out again.
    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


@pytest.fixture
def broker_at(monkeypatch):
    """``broker_at(url, queue=None)``: publish for real to ``url``. (Celery
    reads ``CELERY_BROKER_URL`` from the environment before its settings, so
    the variable is changed too.)"""
    from oms.celery import app

    saved = {
        "broker_url": app.conf.broker_url,
        "task_always_eager": app.conf.task_always_eager,
        "task_default_queue": app.conf.task_default_queue,
    }

    def point(url: str, queue: str | None = None) -> None:
        import oms.jobs

        _reset_pools(app)
        oms.jobs._broker_down_until = 0.0
        oms.jobs._routes.clear()
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
        app.conf.broker_url = url
        assert app.connection_for_write().as_uri().endswith(url.rsplit("@", 1)[-1].split("//")[-1])
        app.conf.task_always_eager = False
        if queue:
            app.conf.task_default_queue = queue

    yield point
    import oms.jobs

    _reset_pools(app)
    oms.jobs._broker_down_until = 0.0
    oms.jobs._routes.clear()
    for key, value in saved.items():
        app.conf[key] = value


@pytest.fixture
def redis_url():
    """The Redis broker the PostgreSQL run configures (CI: CELERY_BROKER_URL)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        if os.environ.get("OMS_REQUIRE_POSTGRES") == "1":
            pytest.fail("The PostgreSQL run needs CELERY_BROKER_URL=redis://...")
        pytest.skip("needs CELERY_BROKER_URL=redis://...")
    return url


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (no clean shutdown)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def worker_queue(redis_url):
    """A queue of this test's own on the shared Redis, deleted afterwards."""
    queue = f"oms-test-{uuid.uuid4().hex[:10]}"
    yield queue
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(queue)
    finally:
        client.close()


@pytest.fixture
def start_worker(tmp_path, redis_url, worker_queue):
    """``start_worker(beat=False, **env)``: a real worker on the test database."""
    started: list[Worker] = []

    def start(*, beat: bool = False, **extra_env) -> Worker:
        env = worker_env(
            redis_url,
            **{
                "CELERY_TASK_DEFAULT_QUEUE": worker_queue,
                "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
                "OMS_VAR_DIR": str(tmp_path / f"var{len(started) + 1}"),
                **{k: str(v) for k, v in extra_env.items()},
            },
        )
        log = tmp_path / f"worker-{len(started) + 1}.log"
        with log.open("wb") as out:
            process = worker_start(env, stdout=out, beat=beat)
        worker = Worker(process, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@dataclass
class Work:
    """What the four writes left behind."""

    returned_order: object
    cancelled_order: object
    rma: str
    delivery_id: int
    responses: dict


@pytest.fixture
def do_the_four_writes(
    make_sku, make_order, deliver_order, storefront_api, warehouse_api, anon_api
):
    """A return made due for a refund by ``qc_result``, an order cancel (a
    refund too) and a signed Shopify order webhook, all through HTTP. Every
    response is kept; callers assert on them."""
    from intake.services import channel_upsert
    from orders.models import Unit
    from tests.intake.conftest import SECRET, dumps, shopify_order, sign

    def run() -> Work:
        make_sku("TEE-M", "500.00", stock=20)
        returned = make_order([("TEE-M", 1)])
        deliver_order(returned)
        cancelled = make_order([("TEE-M", 2)])
        channel_upsert(
            code="shop",
            name="Shopify store",
            platform="shopify",
            webhook_secret=SECRET,
            unknown_sku="create",
        )
        r = {}
        unit = Unit.objects.get(order=returned)
        r["return"] = storefront_api.post(
            "/api/v1/returns/",
            {
                "order": returned.number,
                "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
            },
            format="json",
        )
        rma = r["return"].json().get("rma", "")

        def event(body):
            return warehouse_api.post(f"/api/v1/returns/{rma}/events/", body, format="json")

        r["pickup"] = event({"type": "pickup_completed"})
        r["received"] = event({"type": "received", "location": "wh-main"})
        r["qc_result"] = event(
            {"type": "qc_result", "results": [{"unit": unit.pk, "passed": True, "grade": "A"}]}
        )
        first = Unit.objects.filter(order=cancelled).order_by("pk").first()
        r["cancel"] = storefront_api.post(
            f"/api/v1/orders/{cancelled.number}/cancel/",
            {"units": [first.pk], "reason": "customer asked"},
            format="json",
        )
        body = dumps(
            shopify_order(
                "7001",
                [("11", "TEE-M", 1, "20.00", "0.00", "1.20", "0.06")],
                # inside the inbound replay window (intake/replay.py)
                updated_at=timezone.now().isoformat(),
            )
        )
        r["webhook"] = anon_api.post(
            "/api/v1/webhooks/shopify/shop/",
            data=body,
            content_type="application/json",
            HTTP_X_SHOPIFY_TOPIC="orders/create",
            HTTP_X_SHOPIFY_WEBHOOK_ID="durable-delivery-1",
            HTTP_X_SHOPIFY_SHOP_DOMAIN="test.myshopify.com",
            HTTP_X_SHOPIFY_HMAC_SHA256=sign(SECRET, body),
        )
        delivery_id = r["webhook"].json().get("id") if r["webhook"].status_code < 300 else 0
        return Work(returned, cancelled, rma, delivery_id, r)

    return run
