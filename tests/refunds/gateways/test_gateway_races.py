"""Races between a gateway's webhook and our own poll, on PostgreSQL with real
threads: the order's row lock makes each outcome happen once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import close_old_connections, connection
from django.utils import timezone
from rest_framework.test import APIClient

from flows.refunds import refunds_poll_processing
from orders.models import LedgerEntry
from refunds.models import Recovery

from .conftest import post_webhook, razorpay_event, razorpay_link_paid_event
from .helpers import issued_messages, refund_of, return_and_pass_qc

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _together(*works) -> list:
    barrier = threading.Barrier(len(works))
    results: list = [None] * len(works)

    def run(i: int) -> None:
        try:
            barrier.wait(5)
            results[i] = works[i]()
        except Exception as exc:  # recorded for the assertions
            results[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_a_late_webhook_racing_the_poll_issues_the_refund_once(
    razorpay, gateway_order, actor, django_capture_on_commit_callbacks
):
    # given a refund Razorpay processed an hour ago, its webhook late
    order = gateway_order("razorpay", "pay_29QQoUBi66xmRC")
    with django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    refund = refund_of(order)
    tender = refund.tenders.get()
    entity = razorpay.set_status(tender.gateway_reference, "processed")
    body, headers = razorpay_event("refund.processed", entity, "evt_rzp_race")
    later = timezone.now() + timedelta(hours=1)

    def poll():
        with time_machine.travel(later, tick=False):
            return refunds_poll_processing()

    def webhook():
        return post_webhook(APIClient(), "razorpay", body, headers).status_code

    # when the webhook and the poll arrive together
    results = _together(poll, webhook)
    # then neither failed, and the money moved once
    assert results[1] == 200, results
    assert isinstance(results[0], dict), results
    refund.refresh_from_db()
    assert refund.state == "issued"
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1
    assert len(issued_messages(order)) == 1


def test_two_paid_deliveries_of_one_link_collect_the_recovery_once(
    razorpay,
    failed_exchange,
    django_capture_on_commit_callbacks,
):
    order, _rma, fail_qc = failed_exchange("razorpay", "pay_29QQoUBi66xmRD")
    with django_capture_on_commit_callbacks(execute=True):
        fail_qc()
    (link,) = razorpay.links.values()
    paid, payment = razorpay.pay_link(link["id"])
    # two events (Razorpay's own retry under a new id, say) at the same moment
    deliveries = [razorpay_link_paid_event(paid, payment, f"evt_rzp_twice_{i}") for i in (1, 2)]

    def deliver(i):
        return lambda: post_webhook(APIClient(), "razorpay", *deliveries[i]).json()

    results = _together(deliver(0), deliver(1))
    outcomes = sorted(r["outcome"] for r in results)
    recovery = Recovery.objects.get()
    assert outcomes == [
        f"recovery {recovery.pk} already collected",
        f"recovery {recovery.pk} collected",
    ], results
    assert recovery.state == "collected"
    assert LedgerEntry.objects.filter(order=order, kind="recovery_collected").count() == 1
