"""A recovery (an amount a customer owes after a unit failed QC) on an order
paid through Razorpay or Stripe: the gateway makes the payment link (its
Payment Links API, through the SDK, against the local server), the customer
is sent it, and the gateway's "paid" webhook collects the recovery, once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from celery.exceptions import Retry

from orders.models import LedgerEntry, OutboundMessage, TimelineEvent
from refunds.gateways.razorpay_gateway import RazorpayGateway
from refunds.models import GatewayWebhook, Recovery, RefundTender
from refunds.selectors import order_ledger
from refunds.tasks import recovery_link_task

from .conftest import post_webhook, razorpay_link_paid_event, stripe_event
from .fake_servers import Step

pytestmark = pytest.mark.django_db


def _ok(response, status=200):
    assert response.status_code == status, response.json()
    return response.json()


def _event(api, rma, body):
    return _ok(api.post(f"/api/v1/returns/{rma}/events/", body, format="json"))


def test_razorpay_makes_the_link_and_its_paid_webhook_collects_the_recovery_once(
    razorpay, failed_exchange, anon_api, django_capture_on_commit_callbacks
):
    # given an exchange paid through Razorpay whose original fails QC
    order, rma, fail_qc = failed_exchange("razorpay", "pay_29QQoUBi66xmRL")
    with django_capture_on_commit_callbacks(execute=True):
        fail_qc()
    # then Razorpay was asked for one payment link of 999.00, keyed by the recovery
    recovery = Recovery.objects.get()
    (link,) = razorpay.links.values()
    sent = [r for r in razorpay.posts() if r.path == "/v1/payment_links"]
    assert len(sent) == 1
    assert sent[0].body["amount"] == 99900
    assert sent[0].body["currency"] == "INR"
    assert sent[0].body["reference_id"] == f"oms-recovery-{recovery.pk}"
    assert sent[0].body["notify"] == {"sms": False, "email": False}  # we tell the customer
    assert sent[0].body["customer"]["email"] == "ada@example.com"
    assert rma in sent[0].body["description"]
    # and the recovery carries the link, and the customer was sent it
    assert (recovery.state, recovery.method) == ("open", "payment_link")
    assert recovery.payment_link == link["short_url"]
    assert recovery.gateway_link == f"razorpay:{link['id']}"
    message = OutboundMessage.objects.get(order=order, template="recovery_link")
    assert link["short_url"] in message.body
    # when the customer pays it and Razorpay reports it
    paid, payment = razorpay.pay_link(link["id"])
    body, headers = razorpay_link_paid_event(paid, payment, "evt_rzp_link_paid")
    out = _ok(post_webhook(anon_api, "razorpay", body, headers))
    # then the recovery is collected with the payment id, on the ledger
    assert out["duplicate"] is False
    assert out["outcome"] == f"recovery {recovery.pk} collected"
    recovery.refresh_from_db()
    assert (recovery.state, recovery.method, recovery.reference) == (
        "collected",
        "payment_link",
        f"razorpay:{payment}",
    )
    assert order_ledger(order)["balanced"] is True
    # and the same event again changes nothing
    again = _ok(post_webhook(anon_api, "razorpay", body, headers))
    assert again["duplicate"] is True
    assert LedgerEntry.objects.filter(order=order, kind="recovery_collected").count() == 1
    assert OutboundMessage.objects.filter(order=order, template="recovery_collected").count() == 1
    assert GatewayWebhook.objects.filter(event_type="payment_link.paid").count() == 1
    # and no refund was touched by it
    assert not RefundTender.objects.filter(gateway="razorpay").exists()


def test_a_link_asked_for_twice_is_made_once(razorpay):
    # a job that made the link and died before its commit runs again: Razorpay
    # is asked for the link by our reference first
    gateway = RazorpayGateway()
    args = {
        "key": "oms-recovery-77",
        "amount": Decimal("250.50"),
        "currency": "INR",
        "description": "Return R-1: amount owed",
        "customer": {"name": "Ada", "email": "ada@example.com", "contact": ""},
    }
    first = gateway.payment_link(**args)
    second = gateway.payment_link(**args)
    assert first == second
    assert len(razorpay.links) == 1
    assert razorpay.links[first.reference]["amount"] == 25050
    assert "contact" not in razorpay.links[first.reference]["customer"]


def test_a_link_for_a_different_amount_or_a_webhook_for_another_link_collects_nothing(
    razorpay, failed_exchange, anon_api, django_capture_on_commit_callbacks
):
    _order, _rma, fail_qc = failed_exchange("razorpay", "pay_29QQoUBi66xmRM")
    with django_capture_on_commit_callbacks(execute=True):
        fail_qc()
    recovery = Recovery.objects.get()
    (link,) = razorpay.links.values()
    # a partial payment is not the amount owed
    partial = {**link, "status": "partially_paid", "amount_paid": 50000}
    body, headers = razorpay_link_paid_event(partial, "pay_partial1", "evt_rzp_partial")
    out = _ok(post_webhook(anon_api, "razorpay", body, headers))
    assert out["outcome"].startswith("ignored: 50000 paid of 99900")
    # a link we did not make is acknowledged and ignored
    other = {**link, "id": "plink_SomebodyElse", "amount_paid": 99900}
    body, headers = razorpay_link_paid_event(other, "pay_other1", "evt_rzp_other")
    out = _ok(post_webhook(anon_api, "razorpay", body, headers))
    assert out["outcome"] == "ignored: no recovery has the payment link plink_SomebodyElse"
    recovery.refresh_from_db()
    assert recovery.state == "open"


def test_razorpay_unreachable_is_retried_and_a_refusal_falls_back_to_the_brands_page(
    razorpay, failed_exchange, django_capture_on_commit_callbacks
):
    # given Razorpay answers the link lookup with a 503
    _order, _rma, fail_qc = failed_exchange("razorpay", "pay_29QQoUBi66xmRN")
    razorpay.script(Step(status=503))
    with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):
        fail_qc()
    # then no link yet: the job runs again later
    recovery = Recovery.objects.get()
    assert (recovery.method, recovery.payment_link) == ("", "")
    # when it runs again and Razorpay refuses to make the link
    razorpay.script(Step(), Step(status=400))
    assert recovery_link_task.apply((recovery.pk,), retries=1).get() == "payment_link"
    # then the customer is sent the brand's payment page instead, and why
    recovery.refresh_from_db()
    assert recovery.gateway_link == ""
    assert f"REC{recovery.pk}-" in recovery.payment_link
    assert (
        TimelineEvent.objects.filter(order=recovery.order, type="recovery.link_failed").count() == 1
    )


def test_stripe_makes_the_link_and_its_checkout_completing_collects_the_recovery(
    stripe_fake, failed_exchange, anon_api, django_capture_on_commit_callbacks
):
    order, _rma, fail_qc = failed_exchange("stripe", "pi_3MtwBwLkdIwHu7ix28a3tqPa")
    with django_capture_on_commit_callbacks(execute=True):
        fail_qc()
    recovery = Recovery.objects.get()
    (link,) = stripe_fake.links.values()
    (sent,) = [r for r in stripe_fake.posts() if r.path == "/v1/payment_links"]
    assert sent.headers["Idempotency-Key"] == f"oms-recovery-{recovery.pk}"
    assert sent.body["line_items[0][price_data][unit_amount]"] == "99900"
    assert sent.body["line_items[0][price_data][currency]"] == "inr"
    assert sent.body["line_items[0][quantity]"] == "1"
    assert sent.body["restrictions[completed_sessions][limit]"] == "1"  # paid once
    assert (recovery.payment_link, recovery.gateway_link) == (link["url"], f"stripe:{link['id']}")
    # when the customer chose a delayed method: the session completes unpaid
    _paid, payment = stripe_fake.pay_link(link["id"])
    session = {
        "id": "cs_test_a1b2c3",
        "object": "checkout.session",
        "payment_link": link["id"],
        "payment_status": "unpaid",
        "status": "complete",
        "amount_total": 99900,
        "currency": "inr",
        "payment_intent": payment,
    }
    body, headers = stripe_event("checkout.session.completed", session, "evt_link_unpaid")
    out = _ok(post_webhook(anon_api, "stripe", body, headers))
    # then nothing is collected yet
    assert out["outcome"].startswith("ignored"), out
    recovery.refresh_from_db()
    assert recovery.state == "open"
    # when the delayed payment succeeds
    paid = {**session, "payment_status": "paid"}
    body, headers = stripe_event("checkout.session.async_payment_succeeded", paid, "evt_async")
    out = _ok(post_webhook(anon_api, "stripe", body, headers))
    # then the recovery is collected with the PaymentIntent, once
    assert out["outcome"] == f"recovery {recovery.pk} collected"
    recovery.refresh_from_db()
    assert (recovery.state, recovery.reference) == ("collected", f"stripe:{payment}")
    assert order_ledger(order)["balanced"] is True
    assert LedgerEntry.objects.filter(order=order, kind="recovery_collected").count() == 1


def test_writing_a_recovery_off_cancels_its_link_and_a_late_payment_is_flagged_not_collected(
    razorpay, failed_exchange, anon_api, supervisor_api, django_capture_on_commit_callbacks
):
    # given a recovery whose Razorpay link was sent
    order, _rma, fail_qc = failed_exchange("razorpay", "pay_29QQoUBi66xmRW")
    with django_capture_on_commit_callbacks(execute=True):
        fail_qc()
    recovery = Recovery.objects.get()
    (link,) = razorpay.links.values()
    # when a supervisor writes it off
    with django_capture_on_commit_callbacks(execute=True):
        _ok(
            supervisor_api.post(
                f"/api/v1/recoveries/{recovery.pk}/write-off/",
                {"reason": "loyal customer"},
                format="json",
            )
        )
    # then its link is cancelled at Razorpay
    cancels = [r.path for r in razorpay.posts() if r.path.endswith("/cancel")]
    assert cancels == [f"/v1/payment_links/{link['id']}/cancel"]
    assert razorpay.links[link["id"]]["status"] == "cancelled"
    assert TimelineEvent.objects.filter(order=order, type="recovery.link_cancelled").count() == 1
    # when a payment arrives on that link all the same (made just before the cancel)
    razorpay.links[link["id"]]["status"] = "created"
    paid, payment = razorpay.pay_link(link["id"])
    body, headers = razorpay_link_paid_event(paid, payment, "evt_rzp_late")
    out = _ok(post_webhook(anon_api, "razorpay", body, headers))
    # then it is not collected, and finance is told to give it back
    assert "give it back to the customer" in out["outcome"]
    recovery.refresh_from_db()
    assert recovery.state == "written_off"
    assert not LedgerEntry.objects.filter(order=order, kind="recovery_collected").exists()
    late = TimelineEvent.objects.get(order=order, type="recovery.paid_late")
    assert payment in late.message


def test_after_the_last_retry_the_brands_page_is_sent(
    razorpay, failed_exchange, django_capture_on_commit_callbacks
):
    _order, _rma, fail_qc = failed_exchange("razorpay", "pay_29QQoUBi66xmRX")
    razorpay.script(Step(status=503))
    with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):
        fail_qc()
    recovery = Recovery.objects.get()
    # when the job's last retry runs (Razorpay still down)
    razorpay.script(Step(status=503))
    assert recovery_link_task.apply((recovery.pk,), retries=6).get() == "payment_link"
    # then the customer is not left without a way to pay
    recovery.refresh_from_db()
    assert f"REC{recovery.pk}-" in recovery.payment_link
    assert recovery.gateway_link == ""
