"""The whole path through the API: an order paid through Razorpay (gateway
and payment id validated at intake), its return, QC, the refund processing at
Razorpay, the webhook, and the customer shown the ARN."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order, Payment
from tests.returns.helpers import assert_invariants, create, refund_item, unit_ids, walk_to_qc

from .conftest import post_webhook, razorpay_event
from .helpers import issued_messages

pytestmark = pytest.mark.django_db

PAY = "pay_29QQoUBi66xm2f"


def order_body(payments, external_id="W-RZP-1"):
    return {
        "channel": "web",
        "external_id": external_id,
        "currency": "INR",
        "placed_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "customer": {"email": "asha@example.com", "name": "Asha"},
        "lines": [{"sku": "MUG-A", "quantity": 1, "unit_price": "1500.00"}],
        "payments": payments,
    }


@pytest.fixture
def sku(make_sku, channel):
    return make_sku("MUG-A", Decimal("1500.00"), stock=10)


@pytest.mark.parametrize(
    ("payment", "field", "words"),
    [
        ({"gateway": "paypal", "reference": PAY}, "payments[0].gateway", "not a valid choice"),
        ({"gateway": "razorpay", "reference": "pi_123456789"}, "payments[0].reference", "pay_"),
        ({"gateway": "razorpay"}, "payments[0].reference", "Razorpay payment id"),
        ({"gateway": "stripe", "reference": "pay_1234567"}, "payments[0].reference", "pi_"),
        (
            {"method": "cod", "gateway": "razorpay", "reference": PAY},
            "payments[0].gateway",
            "cannot take a cod tender",
        ),
    ],
)
def test_intake_refuses_an_unknown_gateway_or_a_malformed_reference(
    sku, storefront_api, payment, field, words
):
    body = order_body([{"method": "card", "amount": "1500.00", **payment}])
    r = storefront_api.post("/api/v1/orders/", body, format="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["extra"]["fields"]
    assert words in r.json()["message"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "payment",
    [
        {"gateway": "razorpay", "reference": PAY},
        {"gateway": "stripe", "reference": "pi_3MtwBwLkdIwHu7ix28a3tqPa"},
        {"gateway": "offline"},
        {},  # as before: no gateway at all
    ],
)
def test_intake_stores_the_gateway_and_reference(sku, storefront_api, payment):
    body = order_body([{"method": "card", "amount": "1500.00", **payment}])
    r = storefront_api.post("/api/v1/orders/", body, format="json")
    assert r.status_code == 201, r.json()
    stored = Payment.objects.get(order__number=r.json()["number"])
    assert (stored.gateway, stored.reference) == (
        payment.get("gateway", ""),
        payment.get("reference", ""),
    )


def test_razorpay_refund_end_to_end_through_the_api_shows_the_arn(
    sku,
    razorpay,
    storefront_api,
    warehouse_api,
    finance_api,
    anon_api,
    client,
    mailoutbox,
    deliver_order,
    django_capture_on_commit_callbacks,
):
    # given an order paid through Razorpay, created through the API, delivered
    body = order_body(
        [{"method": "card", "amount": "1500.00", "gateway": "razorpay", "reference": PAY}]
    )
    r = storefront_api.post("/api/v1/orders/", body, format="json")
    assert r.status_code == 201, r.json()
    order = Order.objects.get(number=r.json()["number"])
    deliver_order(order)
    # when the customer returns it and it passes QC
    r = create(storefront_api, refund_item(order.number, unit_ids(order)[0]))
    assert r.status_code == 201, r.json()
    rma = r.json()["rma"]
    with django_capture_on_commit_callbacks(execute=True):
        walk_to_qc(warehouse_api, rma, unit_ids(order))
    # then Razorpay got the refund in paise, and it is processing
    (sent,) = razorpay.posts()
    assert (sent.path, sent.body["amount"]) == (f"/v1/payments/{PAY}/refund", 150000)
    (listed,) = finance_api.get(f"/api/v1/refunds/?order={order.number}").json()
    assert listed["state"] == "processing"
    assert listed["tenders"][0]["state"] == "processing"
    refund_id = listed["tenders"][0]["reference"]
    assert issued_messages(order) == []
    # when Razorpay's webhook reports it processed with the ARN
    entity = razorpay.set_status(refund_id, "processed", acquirer_data={"arn": "10000000000017"})
    with django_capture_on_commit_callbacks(execute=True):
        r = post_webhook(anon_api, "razorpay", *razorpay_event("refund.processed", entity))
    assert r.status_code == 200, r.content
    # then the refund is issued with the gateway's refund id and ARN, everywhere
    (listed,) = finance_api.get(f"/api/v1/refunds/?order={order.number}").json()
    assert listed["state"] == "issued"
    assert listed["tenders"][0]["bank_reference"] == "10000000000017"
    detail = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    assert detail["state"] == "completed"
    assert detail["refunds"][0]["tenders"][0]["bank_reference"] == "10000000000017"
    (message,) = issued_messages(order)
    assert refund_id in message.body
    assert "10000000000017" in message.body
    # and the customer sees it in the portal
    client.post("/returns/", {"order_number": order.number, "contact": order.email})
    code = mailoutbox[-1].subject.rsplit(" ", 1)[-1]
    assert client.post("/returns/verify/", {"code": code}).status_code == 302
    page = client.get(f"/returns/r/{rma}/").content.decode()
    assert "10000000000017" in page
    assert refund_id in page
    assert_invariants(order)
