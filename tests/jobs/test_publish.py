"""oms.jobs publishes a plainly routed job as ``apply_async`` would, with less
work: the same message, producer arguments and fallbacks."""

from __future__ import annotations

from datetime import timedelta

import kombu.messaging
import pytest
from celery import signals
from django.utils import timezone

import oms.jobs
from oms.celery import app
from orders.tasks import message_deliver_task


@pytest.fixture
def published(monkeypatch):
    """Publishes recorded, not sent: [(body, producer.publish kwargs)]."""
    sent: list = []

    def record(self, body, **kwargs):
        sent.append((body, kwargs))

    monkeypatch.setattr(kombu.messaging.Producer, "publish", record)
    saved = {k: app.conf[k] for k in ("task_always_eager", "task_routes")}
    app.conf.task_always_eager = False
    oms.jobs._routes.clear()
    yield sent
    oms.jobs._routes.clear()
    for key, value in saved.items():
        app.conf[key] = value


def _same(a, b) -> None:
    (body_a, kw_a), (body_b, kw_b) = a, b
    assert body_a == body_b
    assert kw_a.pop("declare") in ([], kw_b["declare"]) or kw_b["declare"] == []
    kw_b.pop("declare")
    assert kw_a == kw_b


def test_a_plain_job_is_the_message_apply_async_sends(published):
    # when the same job is published by apply_async and by the plain path
    message_deliver_task.apply_async([640], task_id="oms-job-640-abc")
    with pytest.MonkeyPatch.context() as mp:  # the plain path never reaches send_task
        mp.setattr(type(app), "send_task", lambda *a, **k: pytest.fail("send_task used"))
        oms.jobs._task_publish(message_deliver_task, [640], task_id="oms-job-640-abc", eta=None)
    # then the plain path took its route from the task
    assert oms.jobs._route(message_deliver_task) is not None
    # and the producer got the same body, headers, properties and options
    apply_async, plain = published
    assert plain[1]["headers"]["task"] == "orders.tasks.message_deliver_task"
    assert plain[1]["headers"]["argsrepr"] == "[640]"
    assert plain[1]["exchange"] == ""
    assert plain[1]["routing_key"] == app.conf.task_default_queue
    _same(apply_async, plain)


def test_a_job_published_from_a_task_keeps_its_lineage(published, monkeypatch):
    class Request:
        id = "oms-job-7-parent"
        root_id = "oms-job-1-root"
        delivery_info: dict = {}

    class Parent:
        request = Request()

        def add_trail(self, result):
            pass

    monkeypatch.setattr(type(app), "current_worker_task", property(lambda self: Parent()))
    message_deliver_task.apply_async([641], task_id="oms-job-641-abc")
    oms.jobs._task_publish(message_deliver_task, [641], task_id="oms-job-641-abc", eta=None)
    apply_async, plain = published
    assert plain[1]["headers"]["parent_id"] == "oms-job-7-parent"
    assert plain[1]["headers"]["root_id"] == "oms-job-1-root"
    _same(apply_async, plain)


def test_a_listener_to_the_publish_signals_sends_it_through_apply_async(published):
    heard = []

    def listener(sender=None, **kwargs):
        heard.append(sender)

    signals.before_task_publish.connect(listener, weak=False)
    try:
        oms.jobs._task_publish(message_deliver_task, [642], task_id="oms-job-642-abc", eta=None)
    finally:
        signals.before_task_publish.disconnect(listener)
    assert heard == ["orders.tasks.message_deliver_task"]
    assert len(published) == 1


def test_a_job_with_an_eta_goes_through_apply_async(published, monkeypatch):
    calls = []
    monkeypatch.setattr(
        message_deliver_task, "apply_async", lambda *a, **kw: calls.append(kw), raising=False
    )
    eta = timezone.now() + timedelta(minutes=5)
    oms.jobs._task_publish(message_deliver_task, [643], task_id="oms-job-643-abc", eta=eta)
    assert calls
    assert calls[0]["eta"] == eta
    assert calls[0]["task_id"] == "oms-job-643-abc"
    assert published == []


def test_a_task_with_its_own_options_or_routes_is_not_plain(published, monkeypatch):
    monkeypatch.setattr(message_deliver_task, "priority", 5, raising=False)
    monkeypatch.setattr(message_deliver_task, "_exec_options", None, raising=False)
    assert oms.jobs._route(message_deliver_task) is None
    oms.jobs._routes.clear()
    monkeypatch.setattr(message_deliver_task, "priority", None, raising=False)
    monkeypatch.setattr(message_deliver_task, "_exec_options", None, raising=False)
    app.conf.task_routes = {"orders.tasks.*": {"queue": "slow"}}  # put back by the fixture
    assert oms.jobs._route(message_deliver_task) is None


def test_a_long_argument_list_is_cut_in_the_log_repr():
    assert oms.jobs._args_repr([1, "a"]) == "[1, 'a']"
    text = oms.jobs._args_repr(["x" * 5000])
    assert len(text) == 1024
    assert text.endswith("...")


def test_arguments_that_do_not_fit_the_task_are_refused_before_publishing(published):
    # as apply_async refuses them (Task.typing): the job stays pending
    with pytest.raises(TypeError):
        oms.jobs._task_publish(message_deliver_task, [1, 2], task_id="oms-job-9-abc", eta=None)
    assert published == []


def test_a_task_class_that_overrides_apply_async_keeps_it(published, monkeypatch):
    calls = []
    real = oms.jobs._unproxied(message_deliver_task)

    class Instrumented(type(real)):
        def apply_async(self, *args, **kwargs):
            calls.append(kwargs["task_id"])

    monkeypatch.setattr(real, "__class__", Instrumented)
    oms.jobs._task_publish(message_deliver_task, [644], task_id="oms-job-644-abc", eta=None)
    assert calls == ["oms-job-644-abc"]
    assert published == []


def test_the_route_follows_the_settings_it_was_decided_from(published):
    plain = oms.jobs._route(message_deliver_task)
    assert plain is not None
    app.conf.task_routes = {"orders.tasks.*": {"queue": "slow"}}  # put back by the fixture
    assert oms.jobs._route(message_deliver_task) is None
