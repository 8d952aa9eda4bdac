"""Refunds through Stripe's SDK against the local Stripe server: what the SDK
sent, errors and retries, and the signed webhook."""

from decimal import Decimal

import pytest
from celery.exceptions import Retry

from orders.models import LedgerEntry, Payment
from refunds.tasks import refund_issue_task
from tests.returns.helpers import assert_invariants

from .conftest import post_webhook, stripe_event
from .fake_servers import Step
from .helpers import issued_messages, refund_of, return_and_pass_qc

pytestmark = pytest.mark.django_db

PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"


@pytest.fixture
def processing(stripe_fake, gateway_order, actor, django_capture_on_commit_callbacks):
    order = gateway_order("stripe", PI)
    with django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    return order, refund_of(order)


def test_refund_goes_to_stripe_with_minor_units_bearer_key_metadata_and_idempotency_key(
    stripe_fake, processing
):
    order, refund = processing
    tender = refund.tenders.get()
    (sent,) = stripe_fake.posts()
    assert sent.path == "/v1/refunds"
    assert sent.headers["Authorization"] == f"Bearer {stripe_fake.key}"
    assert sent.headers["Idempotency-Key"] == tender.idempotency_key
    assert sent.body["payment_intent"] == PI
    assert sent.body["amount"] == "300000"
    assert sent.body["metadata[oms_refund]"] == f"oms-refund-{refund.pk}"
    assert refund.state == "processing"
    assert tender.gateway_reference.startswith("re_")
    assert Payment.objects.get(order=order).refunded_amount == Decimal("0")


def test_refund_updated_succeeded_issues_it_with_the_arn_once(stripe_fake, processing, anon_api):
    order, refund = processing
    tender = refund.tenders.get()
    obj = stripe_fake.set_status(
        tender.gateway_reference,
        "succeeded",
        destination_details={"type": "card", "card": {"reference": "4785 1234", "type": "refund"}},
    )
    body, headers = stripe_event("refund.updated", obj, "evt_succeeded")
    r = post_webhook(anon_api, "stripe", body, headers)
    assert r.status_code == 200, r.content
    refund.refresh_from_db()
    assert refund.state == "issued"
    assert refund.tenders.get().bank_reference == "4785 1234"
    assert "4785 1234" in issued_messages(order)[0].body
    again = post_webhook(anon_api, "stripe", body, headers)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1
    assert len(issued_messages(order)) == 1
    assert_invariants(order)


def test_refund_failed_event_fails_it_with_stripes_reason(stripe_fake, processing, anon_api):
    order, refund = processing
    tender = refund.tenders.get()
    obj = stripe_fake.set_status(
        tender.gateway_reference, "failed", failure_reason="expired_or_canceled_card"
    )
    body, headers = stripe_event("refund.failed", obj, "evt_failed")
    assert post_webhook(anon_api, "stripe", body, headers).status_code == 200
    refund.refresh_from_db()
    assert refund.state == "failed"
    assert "expired_or_canceled_card" in refund.failure_reason
    assert issued_messages(order) == []


def test_bad_signature_is_401(stripe_fake, processing, anon_api):
    order, refund = processing
    obj = stripe_fake.set_status(refund.tenders.get().gateway_reference, "succeeded")
    body, headers = stripe_event("refund.updated", obj)
    for bad in ({"HTTP_STRIPE_SIGNATURE": "t=1,v1=deadbeef"}, {}):
        r = post_webhook(anon_api, "stripe", body, bad)
        assert r.status_code == 401
    assert post_webhook(anon_api, "stripe", body + b" ", headers).status_code == 401
    assert refund_of(order).state == "processing"


def test_a_4xx_fails_it_clearly_and_a_5xx_is_retried_once_refunded(
    stripe_fake, gateway_order, actor, django_capture_on_commit_callbacks
):
    # a 402 (card error) fails the refund with Stripe's message, one request
    stripe_fake.script(Step(status=402))
    order = gateway_order("stripe", PI)
    with django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    refund = refund_of(order)
    assert refund.state == "failed"
    assert "Stripe refused the refund (402)" in refund.failure_reason
    assert len(stripe_fake.posts()) == 1
    # a 500 then success: the retry carries the same key, one refund at Stripe
    stripe_fake.script(Step(status=500))
    with pytest.raises(Retry):
        refund_issue_task.apply((refund.pk,))
    assert refund_issue_task.apply((refund.pk,), retries=1).get() == "processing"
    keys = [p.headers["Idempotency-Key"] for p in stripe_fake.posts()]
    assert keys[1] == keys[2] != keys[0]
    assert len(stripe_fake.refunds) == 1
