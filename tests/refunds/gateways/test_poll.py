"""A refund Razorpay accepted whose webhook never came: the refund-poll beat
task asks for its status once it has waited long enough, and issues it, fails
it, or leaves it processing when the gateway cannot answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from oms.celery import app
from orders.models import LedgerEntry
from refunds.tasks import refunds_poll_processing_task

from .fake_servers import Step
from .helpers import issued_messages, refund_of, return_and_pass_qc

pytestmark = pytest.mark.django_db

PAY = "pay_29QQoUBi66xmPL"


@pytest.fixture
def processing(razorpay, gateway_order, actor, django_capture_on_commit_callbacks):
    order = gateway_order("razorpay", PAY)
    with django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    refund = refund_of(order)
    assert refund.state == "processing"
    return order, refund, refund.tenders.get()


def _poll_later(minutes: int):
    with time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False):
        return refunds_poll_processing_task.apply().get()


def _status_reads(razorpay) -> int:
    return len([r for r in razorpay.requests if r.method == "GET"])


def test_the_poll_runs_on_beat():
    assert any(
        e["task"] == "refunds.tasks.refunds_poll_processing_task"
        for e in app.conf.beat_schedule.values()
    )


def test_a_fresh_refund_is_not_asked_yet(razorpay, processing):
    # given Razorpay processed it but the webhook is still on its way
    _order, refund, tender = processing
    razorpay.set_status(tender.gateway_reference, "processed")
    # when the poll runs five minutes later
    counts = _poll_later(5)
    # then the refund is left to its webhook
    assert counts["asked"] == 0
    assert _status_reads(razorpay) == 0
    refund.refresh_from_db()
    assert refund.state == "processing"


def test_a_lost_webhook_is_made_good_by_the_poll_once(razorpay, processing):
    # given Razorpay processed the refund and its webhook was lost
    order, refund, tender = processing
    razorpay.set_status(tender.gateway_reference, "processed", acquirer_data={"arn": "ARN-POLL-1"})
    # when the poll runs an hour later
    counts = _poll_later(60)
    # then it asked Razorpay for that refund and issued it, telling the customer once
    assert counts == {"asked": 1, "issued": 1, "failed": 0, "unanswered": 0, "errors": 0}
    gets = [r.path for r in razorpay.requests if r.method == "GET"]
    assert gets == [f"/v1/refunds/{tender.gateway_reference}"]
    refund.refresh_from_db()
    tender.refresh_from_db()
    assert refund.state == "issued"
    assert tender.bank_reference == "ARN-POLL-1"
    assert len(issued_messages(order)) == 1
    # and a later poll leaves it alone
    assert _poll_later(120)["asked"] == 0
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1
    assert len(issued_messages(order)) == 1


def test_a_refund_the_gateway_failed_is_failed_for_finance(razorpay, processing):
    _order, refund, tender = processing
    razorpay.set_status(tender.gateway_reference, "failed")
    counts = _poll_later(60)
    assert (counts["asked"], counts["failed"]) == (1, 1)
    refund.refresh_from_db()
    assert refund.state == "failed"


def test_a_gateway_that_cannot_answer_leaves_it_processing(razorpay, processing):
    # given Razorpay answers the status read with a 503
    _order, refund, _tender = processing
    razorpay.script(Step(status=503))
    # when the poll runs
    counts = _poll_later(60)
    # then the refund is still processing (not failed), to be asked again
    assert (counts["asked"], counts["unanswered"]) == (1, 1)
    refund.refresh_from_db()
    assert refund.state == "processing"
    assert refund.failure_reason == ""


def test_a_refused_status_read_fails_nothing_and_keeps_the_gateway_refund_id(razorpay, processing):
    # given Razorpay answers the status read with a 401 (keys rotated, say)
    _order, refund, tender = processing
    reference = tender.gateway_reference
    razorpay.script(Step(status=401))
    # when the poll runs
    counts = _poll_later(60)
    # then the tender keeps its Razorpay refund id and is still processing
    assert (counts["asked"], counts["unanswered"]) == (1, 1)
    tender.refresh_from_db()
    refund.refresh_from_db()
    assert (tender.state, tender.gateway_reference, tender.attempt) == ("processing", reference, 0)
    assert refund.state == "processing"


def test_the_refund_asked_longest_ago_goes_first(
    razorpay, gateway_order, actor, django_capture_on_commit_callbacks
):
    # given two refunds still processing at Razorpay
    refunds = []
    for reference in ("pay_29QQoUBi66xmP1", "pay_29QQoUBi66xmP2"):
        order = gateway_order("razorpay", reference, units=1)
        with django_capture_on_commit_callbacks(execute=True):
            return_and_pass_qc(order, actor)
        refunds.append(refund_of(order))
    later = timezone.now() + timedelta(hours=1)
    # when the poll may ask only one per run, three runs in a row
    asked = []
    for minutes in (0, 15, 30):
        with time_machine.travel(later + timedelta(minutes=minutes), tick=False):
            from flows.refunds import refunds_poll_processing

            before = _status_reads(razorpay)
            refunds_poll_processing(limit=1)
            (get,) = [r.path for r in razorpay.requests if r.method == "GET"][before:]
            asked.append(get.rsplit("/", 1)[-1])
    # then each was asked in turn (the stuck first one does not starve the other)
    first, second = (r.tenders.get().gateway_reference for r in refunds)
    assert asked == [first, second, first]
