"""Channel intake maps a Razorpay or Stripe transaction to a gateway tender
(gateway + the provider's payment id), so its refund goes back through the
provider; other gateways keep their platform name and refund offline."""

import json
from decimal import Decimal

import pytest

from intake.adapters import parse_body, shopify, woocommerce
from intake.models import WebhookDelivery
from orders.models import Order

from .conftest import sample, sample_part

ORDER_450 = "shopify/order-450789469-rest-docs-discount-allocations-partial-refund.json"
WOO_ORDERS = "woocommerce/orders-list-v3-docs-example.json"

pytestmark = pytest.mark.django_db


def _shopify_450_paid_through(gateway: str, authorization: str) -> bytes:
    payload = json.loads(sample(ORDER_450))
    order = payload["order"]
    order["payment_gateway_names"] = [gateway]
    order["transactions"] = [
        {
            "id": 389404469,
            "kind": "sale",
            "status": "success",
            "gateway": gateway,
            "amount": order["total_price"],
            "authorization": authorization,
        }
    ]
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("gateway", "authorization", "expected"),
    [
        ("razorpay", "pay_29QQoUBi66xm2f", ("razorpay", "pay_29QQoUBi66xm2f")),
        ("stripe", "pi_3MtwBwLkdIwHu7ix28a3tqPa", ("stripe", "pi_3MtwBwLkdIwHu7ix28a3tqPa")),
        # no provider payment id: the platform's name stays, refunded offline
        ("razorpay", "", ("razorpay", "")),
        ("bogus", "53433", ("bogus", "")),
    ],
)
def test_shopify_transaction_gateway_and_id_become_the_tender(gateway, authorization, expected):
    # given order 450789469 paid through ``gateway`` with ``authorization``
    body = _shopify_450_paid_through(gateway, authorization)
    # when the adapter reads it
    intake = shopify.order_from_payload(parse_body(body), channel="shop")
    # then one card tender for the total, with the gateway and payment id
    (payment,) = intake.data.payments
    assert (payment.method, payment.amount) == ("card", Decimal("598.94"))
    assert (payment.gateway, payment.reference) == expected


def test_shopify_razorpay_order_through_the_webhook_stores_the_gateway_tender(
    post_webhook, shop_channel
):
    # when the signed orders/create of a Razorpay-paid order arrives
    body = _shopify_450_paid_through("razorpay", "pay_29QQoUBi66xm2f")
    r = post_webhook("shopify", "shop", body, "orders/create")
    # then the order's tender is a Razorpay tender with its payment id
    assert WebhookDelivery.objects.get(pk=r.json()["id"]).state == "processed"
    payment = Order.objects.get(external_id="450789469").payments.get()
    assert (payment.gateway, payment.reference) == ("razorpay", "pay_29QQoUBi66xm2f")


@pytest.mark.parametrize(
    ("method", "transaction_id", "expected"),
    [
        ("razorpay", "pay_29QQoUBi66xm2f", ("razorpay", "pay_29QQoUBi66xm2f")),
        ("stripe", "pi_3MtwBwLkdIwHu7ix28a3tqPa", ("stripe", "pi_3MtwBwLkdIwHu7ix28a3tqPa")),
        ("stripe_cc", "ch_3MtwBwLkdIwHu7ix0snN0B15", ("stripe", "ch_3MtwBwLkdIwHu7ix0snN0B15")),
        ("bacs", "", ("bacs", "")),
    ],
)
def test_woocommerce_payment_method_and_transaction_id_become_the_tender(
    post_webhook, woo_channel, method, transaction_id, expected
):
    # given WooCommerce order #723 (docs sample) paid through ``method``
    order = json.loads(sample_part(WOO_ORDERS, 1))
    order["payment_method"], order["transaction_id"] = method, transaction_id
    body = json.dumps(order).encode()
    assert woocommerce.order_from_payload(parse_body(body), channel="woo").data.payments
    # when its signed order.created arrives
    r = post_webhook("woocommerce", "woo", body, "order.created")
    # then the tender carries the gateway and the payment id
    assert WebhookDelivery.objects.get(pk=r.json()["id"]).state == "processed"
    payment = Order.objects.get(external_id="723").payments.get()
    assert (payment.gateway, payment.reference) == expected
