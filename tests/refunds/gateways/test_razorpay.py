"""Refunds through Razorpay's SDK against the local Razorpay server: what the
SDK sent, the refund's states, errors and retries, and the webhook."""

from decimal import Decimal

import pytest
from celery.exceptions import Retry

from orders.models import LedgerEntry, Payment
from refunds.models import GatewayWebhook, RefundTender
from refunds.selectors import order_ledger
from refunds.tasks import refund_issue_task
from tests.returns.helpers import assert_invariants

from .conftest import post_webhook, razorpay_event
from .fake_servers import Step
from .helpers import issued_messages, refund_of, return_and_pass_qc

pytestmark = pytest.mark.django_db

PAY = "pay_29QQoUBi66xm2f"


@pytest.fixture
def processing(razorpay, gateway_order, actor, django_capture_on_commit_callbacks):
    """A refund of 3000.00 INR that Razorpay accepted (status pending)."""
    order = gateway_order("razorpay", PAY)
    with django_capture_on_commit_callbacks(execute=True):
        ret = return_and_pass_qc(order, actor)
    return order, ret, refund_of(order)


def test_refund_goes_to_razorpay_with_paise_basic_auth_receipt_and_idempotency_key(
    razorpay, processing
):
    order, ret, refund = processing
    tender = refund.tenders.get()
    # then the SDK posted one refund of the payment, in paise, authenticated
    (sent,) = razorpay.posts()
    assert sent.path == f"/v1/payments/{PAY}/refund"
    assert sent.headers["Authorization"].startswith("Basic ")
    assert razorpay.authorised(sent.headers)
    assert sent.body["amount"] == 300000
    assert sent.body["receipt"] == f"oms-refund-{refund.pk}"
    assert sent.headers["X-Refund-Idempotency"] == tender.idempotency_key
    assert sent.body["notes"]["oms_key"] == tender.idempotency_key
    # and the refund is processing: no money in the ledger, nobody told yet
    assert refund.state == "processing"
    assert (tender.state, tender.gateway) == ("processing", "razorpay")
    assert tender.gateway_reference in razorpay.refunds
    assert Payment.objects.get(order=order).refunded_amount == Decimal("0")
    assert issued_messages(order) == []
    ret.refresh_from_db()
    assert ret.state == "received"


def test_refund_processed_webhook_issues_it_with_the_arn_once(
    razorpay, processing, anon_api, finance_api
):
    order, ret, refund = processing
    tender = refund.tenders.get()
    # when Razorpay reports it processed, with the ARN
    entity = razorpay.set_status(
        tender.gateway_reference, "processed", acquirer_data={"arn": "74836264833849283721"}
    )
    body, headers = razorpay_event("refund.processed", entity, "evt_rzp_processed")
    r = post_webhook(anon_api, "razorpay", body, headers)
    # then the refund is issued with the gateway's refund id and ARN
    assert r.status_code == 200, r.content
    assert r.json()["duplicate"] is False
    refund.refresh_from_db()
    tender.refresh_from_db()
    assert refund.state == "issued"
    assert (tender.state, tender.bank_reference) == ("processed", "74836264833849283721")
    listed = finance_api.get(f"/api/v1/refunds/?order={order.number}").json()[0]
    assert listed["tenders"][0]["reference"] == tender.gateway_reference
    assert listed["tenders"][0]["bank_reference"] == "74836264833849283721"
    # and the customer is told once, with both references; the return completes
    (message,) = issued_messages(order)
    assert tender.gateway_reference in message.body
    assert "74836264833849283721" in message.body
    ret.refresh_from_db()
    assert ret.state == "completed"
    assert Payment.objects.get(order=order).refunded_amount == Decimal("3000.00")
    # when the same event is delivered again
    again = post_webhook(anon_api, "razorpay", body, headers)
    # then 200, and nothing changes twice
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1
    assert len(issued_messages(order)) == 1
    assert GatewayWebhook.objects.filter(gateway="razorpay").count() == 1
    assert order_ledger(order)["balanced"] is True
    assert_invariants(order)
    assert len(razorpay.refunds) == 1


def test_bad_or_missing_signature_is_401_and_changes_nothing(razorpay, processing, anon_api):
    order, _, refund = processing
    tender = refund.tenders.get()
    entity = razorpay.set_status(tender.gateway_reference, "processed")
    body, headers = razorpay_event("refund.processed", entity)
    for bad in ({"HTTP_X_RAZORPAY_SIGNATURE": "0" * 64}, {}):
        r = post_webhook(anon_api, "razorpay", body, bad)
        assert r.status_code == 401
        assert r.json()["code"] == "invalid_signature"
    # a body changed after signing is refused too
    r = post_webhook(anon_api, "razorpay", body.replace(b"processed", b"failed"), headers)
    assert r.status_code == 401
    assert refund_of(order).state == "processing"
    assert GatewayWebhook.objects.count() == 0


def test_unknown_event_and_unknown_refund_are_200_and_change_nothing(
    razorpay, processing, anon_api
):
    order, _, _refund = processing
    body, headers = razorpay_event("payment.captured", {"id": "pay_X"}, "evt_other")
    r = post_webhook(anon_api, "razorpay", body, headers)
    assert r.status_code == 200
    assert "ignored" in r.json()["outcome"]
    stranger = {"id": "rfnd_NotOurs1234", "amount": 100, "status": "processed", "notes": {}}
    body, headers = razorpay_event("refund.processed", stranger, "evt_stranger")
    r = post_webhook(anon_api, "razorpay", body, headers)
    assert r.status_code == 200
    assert "no refund of ours" in r.json()["outcome"]
    assert refund_of(order).state == "processing"


def test_refund_failed_webhook_fails_it_for_finance_and_retry_sends_a_new_refund(
    razorpay, processing, anon_api, finance_api, storefront_api
):
    order, _, refund = processing
    tender = refund.tenders.get()
    first_key = tender.idempotency_key
    # when Razorpay reports the refund failed
    entity = razorpay.set_status(tender.gateway_reference, "failed")
    body, headers = razorpay_event("refund.failed", entity, "evt_rzp_failed")
    assert post_webhook(anon_api, "razorpay", body, headers).status_code == 200
    # then it is failed with the reason, in finance's queue, nobody told
    queue = finance_api.get("/api/v1/refunds/?state=failed").json()
    assert [q["id"] for q in queue] == [refund.pk]
    assert "Razorpay reports the refund failed" in queue[0]["failure_reason"]
    assert queue[0]["tenders"][0]["state"] == "failed"
    assert issued_messages(order) == []
    assert Payment.objects.get(order=order).refunded_amount == Decimal("0")
    # when finance retries (the storefront may not)
    assert storefront_api.post(f"/api/v1/refunds/{refund.pk}/retry/").status_code == 403
    razorpay.refund_status = "processed"
    r = finance_api.post(f"/api/v1/refunds/{refund.pk}/retry/")
    # then a new refund is sent under a new key, and it is issued
    assert r.status_code == 200, r.json()
    assert r.json()["state"] == "issued"
    first, second = razorpay.posts()
    assert first.headers["X-Refund-Idempotency"] == first_key
    assert second.headers["X-Refund-Idempotency"] == f"{first_key}-a1"
    assert Payment.objects.get(order=order).refunded_amount == Decimal("3000.00")
    assert len(issued_messages(order)) == 1
    assert_invariants(order)


def test_a_400_fails_the_refund_with_the_reason_and_is_not_retried(
    razorpay, gateway_order, actor, django_capture_on_commit_callbacks
):
    # given Razorpay answers the refund with 400
    razorpay.script(Step(status=400))
    order = gateway_order("razorpay", PAY)
    # when the refund falls due and its task runs
    with django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    # then it is failed with Razorpay's reason after one request
    refund = refund_of(order)
    assert refund.state == "failed"
    assert "Razorpay refused the refund: scripted 400" in refund.failure_reason
    assert len(razorpay.posts()) == 1
    assert razorpay.refunds == {}
    assert RefundTender.objects.get(refund=refund).attempt == 1


@pytest.mark.parametrize("step", [Step(status=500), Step(status=503), Step(delay=2.5)])
def test_5xx_or_timeout_is_retried_with_the_same_key_and_refunds_once(
    razorpay, gateway_order, actor, django_capture_on_commit_callbacks, step
):
    # given Razorpay's first answer is an error, or comes after the SDK gave up
    # (the refund made all the same), and the next is fine
    razorpay.script(step)
    order = gateway_order("razorpay", PAY)
    # when the refund falls due and its task runs: it asks Celery for a retry
    with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    refund = refund_of(order)
    assert refund.state == "failed"
    assert "will retry" in refund.failure_reason
    assert razorpay.refunds == {} or step.delay  # a late answer: made, not known to us
    # and the retry runs (as the worker would, after the countdown)
    assert refund_issue_task.apply((refund.pk,), retries=1).get() == "processing"
    # then the task sent it again under the same key, and Razorpay made one refund
    refund = refund_of(order)
    posts = razorpay.posts()
    assert len(posts) == 2
    assert len({p.headers["X-Refund-Idempotency"] for p in posts}) == 1
    assert len(razorpay.refunds) == 1
    assert refund.state == "processing"
    assert refund.tenders.get().gateway_reference == next(iter(razorpay.refunds))


def test_retry_of_a_processing_refund_reads_its_status(razorpay, processing, finance_api):
    _order, _, refund = processing
    tender = refund.tenders.get()
    razorpay.set_status(tender.gateway_reference, "processed", acquirer_data={"arn": "ARN123"})
    r = finance_api.post(f"/api/v1/refunds/{refund.pk}/retry/")
    assert r.status_code == 200, r.json()
    assert r.json()["state"] == "issued"
    assert r.json()["tenders"][0]["bank_reference"] == "ARN123"
    gets = [s for s in razorpay.requests if s.method == "GET"]
    assert [g.path for g in gets] == [f"/v1/refunds/{tender.gateway_reference}"]
    assert len(razorpay.posts()) == 1


def test_a_refund_processed_at_once_is_issued_from_the_response(
    razorpay, gateway_order, actor, django_capture_on_commit_callbacks
):
    razorpay.refund_status, razorpay.arn = "processed", "1234567890"
    order = gateway_order("razorpay", PAY)
    with django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    refund = refund_of(order)
    assert refund.state == "issued"
    assert refund.tenders.get().bank_reference == "1234567890"
    assert "1234567890" in issued_messages(order)[0].body


def test_without_razorpay_keys_the_tender_fails_clearly(
    settings, gateway_order, actor, django_capture_on_commit_callbacks
):
    settings.RAZORPAY_KEY_ID = settings.RAZORPAY_KEY_SECRET = ""
    order = gateway_order("razorpay", PAY)
    with django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    refund = refund_of(order)
    assert refund.state == "failed"
    assert "Razorpay is not configured" in refund.failure_reason
