"""Delivery of one webhook, driven by calling ``webhook_deliver`` directly:
retries with backoff, gives up after MAX_ATTEMPTS, never posts twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.messaging import webhook_enqueue
from orders.models import OutboundMessage
from orders.tasks import outbox_flush_task, webhook_deliver_task
from orders.webhooks import (
    MAX_ATTEMPTS,
    Outcome,
    backoff_seconds,
    webhook_deliver,
    webhook_due_ids,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(hooked_channel, make_order):
    return make_order([("TEE-M", 1)])


@pytest.fixture
def hook(order):
    """One pending webhook whose after-commit task never ran (as if the worker
    were down): the tests below play the worker."""
    return webhook_enqueue(order=order, type="order.delivered", data={"units": []})


def _time_passes(message) -> None:
    """Bring the next attempt due, as the backoff's countdown would."""
    OutboundMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_500_then_a_200_ends_sent_after_two_attempts(hook, storefront):
    # given a storefront that fails once
    storefront.fail(1, status=500)
    # when the first attempt fails
    first = webhook_deliver(message_id=hook.pk)
    # then it is pending, due again after the first backoff
    hook.refresh_from_db()
    assert first.outcome == Outcome.RETRY
    assert first.retry_in == backoff_seconds(1) == 30
    assert hook.state == "pending"
    assert hook.attempts == 1
    assert "500" in hook.last_error
    assert hook.next_attempt_at > timezone.now() + timedelta(seconds=25)
    # and an early run (the flush, a duplicate task) does not post
    assert webhook_deliver(message_id=hook.pk).outcome == Outcome.NOT_DUE
    assert webhook_due_ids() == []
    assert len(storefront.requests) == 1
    # when it is due and the storefront answers 200
    _time_passes(hook)
    assert webhook_due_ids() == [hook.pk]
    second = webhook_deliver(message_id=hook.pk)
    # then exactly one success was recorded, with the same delivery id
    hook.refresh_from_db()
    assert second.outcome == Outcome.SENT
    assert (hook.state, hook.attempts) == ("sent", 2)
    assert hook.sent_at is not None
    assert len(storefront.requests) == 2
    assert len(storefront.succeeded) == 1
    assert {r.headers["X-OMS-Delivery"] for r in storefront.requests} == {
        hook.headers["X-OMS-Delivery"]
    }
    assert all(r.signature_valid() for r in storefront.requests)
    # and a sent webhook is never posted again
    assert webhook_deliver(message_id=hook.pk).outcome == Outcome.SKIPPED
    assert len(storefront.requests) == 2


def test_backoff_doubles_from_thirty_seconds():
    assert [backoff_seconds(n) for n in range(1, MAX_ATTEMPTS)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
    ]


def test_after_max_attempts_it_ends_failed_and_the_flush_leaves_it(hook, storefront):
    # given a storefront that always fails
    storefront.fail(MAX_ATTEMPTS + 2, status=503)
    # when every attempt fails
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        _time_passes(hook)
        outcomes.append(webhook_deliver(message_id=hook.pk).outcome)
    # then the last one gives up
    hook.refresh_from_db()
    assert outcomes == [Outcome.RETRY] * (MAX_ATTEMPTS - 1) + [Outcome.FAILED]
    assert (hook.state, hook.attempts, hook.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    assert "503" in hook.last_error
    assert len(storefront.requests) == MAX_ATTEMPTS
    # and neither another run nor beat's flush posts it again
    assert webhook_deliver(message_id=hook.pk).outcome == Outcome.SKIPPED
    assert webhook_due_ids() == []
    outbox_flush_task()
    assert len(storefront.requests) == MAX_ATTEMPTS


def test_a_network_error_is_retried(order, hooked_channel):
    # given a URL where nothing listens
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hooked_channel.outbound_url = f"http://127.0.0.1:{port}/gone"
    hooked_channel.save()
    order.refresh_from_db()
    hook = webhook_enqueue(order=order, type="order.delivered", data={})
    # when it is delivered
    result = webhook_deliver(message_id=hook.pk)
    # then the error is kept and it will be retried
    hook.refresh_from_db()
    assert result.outcome == Outcome.RETRY
    assert hook.state == "pending"
    assert hook.last_error


def test_a_redirect_is_a_failure_not_a_success(hook, storefront):
    storefront.fail(1, status=302)
    assert webhook_deliver(message_id=hook.pk).outcome == Outcome.RETRY


def test_the_task_retries_once_per_due_time_and_not_in_a_burst(hook, storefront):
    # given a storefront that fails once (tasks run eagerly in tests, where a
    # Celery retry runs at once instead of after its countdown)
    storefront.fail(1)
    # when the task runs
    webhook_deliver_task.delay(hook.pk)
    # then it made one attempt and left the retry to its due time
    hook.refresh_from_db()
    assert (hook.state, hook.attempts) == ("pending", 1)
    assert len(storefront.requests) == 1
    # when it is due, beat's flush hands it to a worker
    _time_passes(hook)
    outbox_flush_task()
    hook.refresh_from_db()
    assert (hook.state, hook.attempts) == ("sent", 2)


def test_the_flush_sends_webhooks_whose_task_was_lost_after_a_grace_period(hook, storefront):
    # given a webhook never attempted, just written
    outbox_flush_task()
    # then the flush leaves it to its own task for a minute
    assert storefront.requests == []
    # when it is older than that
    OutboundMessage.objects.filter(pk=hook.pk).update(
        created_at=timezone.now() - timedelta(minutes=2)
    )
    outbox_flush_task()
    hook.refresh_from_db()
    assert hook.state == "sent"
    assert len(storefront.requests) == 1


def test_the_flush_still_sends_pending_emails_and_never_mails_a_webhook(hook, order, mailoutbox):
    # given a pending email and a pending webhook
    from orders.messaging import message_enqueue

    email = message_enqueue(order=order, template="t", subject="Hello", body="Body")
    # when beat flushes the outbox
    outbox_flush_task()
    # then the email was mailed; the webhook was not mailed
    email.refresh_from_db()
    assert email.state == "sent"
    assert [m.subject for m in mailoutbox] == ["Hello"]


def test_only_http_urls_are_posted(order, hooked_channel):
    # given a row whose URL is not http(s) (the settings refuse one)
    hook = webhook_enqueue(order=order, type="order.delivered", data={})
    OutboundMessage.objects.filter(pk=hook.pk).update(to="file:///etc/passwd")
    # when it is delivered
    result = webhook_deliver(message_id=hook.pk)
    # then it fails at once, without a request
    hook.refresh_from_db()
    assert result.outcome == Outcome.FAILED
    assert hook.state == "failed"
    assert "http" in hook.last_error


def test_an_unknown_event_type_is_a_programming_error(order):
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        webhook_enqueue(order=order, type="order.exploded", data={})
