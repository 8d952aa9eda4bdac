"""Fixtures: the fake Razorpay and Stripe servers (``fake_servers``), the
settings pointing the real SDKs at them, signed webhook senders, and orders
paid through each gateway."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from .fake_servers import FakeGateway, serve

RAZORPAY_WEBHOOK_SECRET = "rzp-webhook-secret-for-tests"
STRIPE_WEBHOOK_SECRET = "whsec_test_secret_for_tests"


@pytest.fixture
def razorpay(settings):
    fake = FakeGateway("razorpay", key="rzp_test_KEY123", secret="rzp-secret-456")
    server = serve(fake)
    settings.RAZORPAY_KEY_ID = fake.key
    settings.RAZORPAY_KEY_SECRET = fake.secret
    settings.RAZORPAY_WEBHOOK_SECRET = RAZORPAY_WEBHOOK_SECRET
    settings.RAZORPAY_BASE_URL = fake.url
    settings.OMS_GATEWAY_TIMEOUT = 1.0
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_fake(settings):
    fake = FakeGateway("stripe", key="sk_test_4eC39HqLyjWDarjtT1zdp7dc")
    server = serve(fake)
    settings.STRIPE_API_KEY = fake.key
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake.url
    settings.OMS_GATEWAY_TIMEOUT = 1.0
    yield fake
    server.shutdown()
    server.server_close()


def razorpay_event(event: str, refund: dict, event_id: str = "evt_rzp_1") -> tuple[bytes, dict]:
    body = json.dumps(
        {
            "entity": "event",
            "account_id": "acc_E7OQJcEANmBHTC",
            "event": event,
            "contains": ["refund", "payment"],
            "payload": {"refund": {"entity": refund}},
            "created_at": int(time.time()),
        }
    ).encode()
    signature = hmac.new(RAZORPAY_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"HTTP_X_RAZORPAY_SIGNATURE": signature, "HTTP_X_RAZORPAY_EVENT_ID": event_id}


def razorpay_link_paid_event(link: dict, payment: str, event_id: str) -> tuple[bytes, dict]:
    """Razorpay's ``payment_link.paid``: the link, the payment and its order."""
    body = json.dumps(
        {
            "entity": "event",
            "account_id": "acc_E7OQJcEANmBHTC",
            "event": "payment_link.paid",
            "contains": ["payment_link", "order", "payment"],
            "payload": {
                "payment_link": {"entity": link},
                "payment": {
                    "entity": {
                        "id": payment,
                        "entity": "payment",
                        "amount": link["amount_paid"],
                        "currency": link["currency"],
                        "status": "captured",
                    }
                },
                "order": {"entity": {"id": "order_LNk2w4VX1cmsjC", "status": "paid"}},
            },
            "created_at": int(time.time()),
        }
    ).encode()
    signature = hmac.new(RAZORPAY_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"HTTP_X_RAZORPAY_SIGNATURE": signature, "HTTP_X_RAZORPAY_EVENT_ID": event_id}


def stripe_event(event_type: str, refund: dict, event_id: str = "evt_1") -> tuple[bytes, dict]:
    body = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2025-04-30.basil",
            "created": int(time.time()),
            "type": event_type,
            "data": {"object": refund},
        }
    ).encode()
    t = int(time.time())
    sig = hmac.new(
        STRIPE_WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return body, {"HTTP_STRIPE_SIGNATURE": f"t={t},v1={sig}"}


def post_webhook(client, gateway: str, body: bytes, headers: dict):
    return client.post(
        f"/api/v1/webhooks/{gateway}/", data=body, content_type="application/json", **headers
    )


@pytest.fixture
def gateway_order(make_sku, make_order, deliver_order):
    """A delivered order of two mugs at 1500.00 paid by card through
    ``gateway`` with payment id ``reference``."""
    from orders.services import PaymentData

    def make(gateway: str, reference: str, *, units: int = 2, extra_payments=()):
        make_sku("MUG-G", Decimal("1500.00"), stock=20)
        total = Decimal("1500.00") * units
        payments = [PaymentData("card", total - sum(p.amount for p in extra_payments))]
        payments[0].gateway, payments[0].reference = gateway, reference
        order = make_order([("MUG-G", units)], payments=[*payments, *extra_payments])
        deliver_order(order)
        return order

    return make


def _ok(response, status=200):
    assert response.status_code == status, response.json()
    return response.json()


def _event(api, rma, body):
    return _ok(api.post(f"/api/v1/returns/{rma}/events/", body, format="json"))


@pytest.fixture
def failed_exchange(make_sku, make_order, deliver_order, storefront_api, warehouse_api):
    """An order of one tee paid by card through ``gateway``, exchanged first
    (the replacement delivered), whose original then fails QC: a function of
    (gateway, payment id) that leaves the QC to the caller."""

    def make(gateway: str, reference: str):
        make_sku("TEE-M", Decimal("999.00"), product="tee", stock=5, attributes={"size": "M"})
        make_sku("TEE-L", Decimal("999.00"), product="tee", stock=5, attributes={"size": "L"})
        from orders.models import Shipment
        from orders.services import PaymentData

        payment = PaymentData("card", Decimal("999.00"))
        payment.gateway, payment.reference = gateway, reference
        order = make_order(
            [("TEE-M", 1)],
            payments=[payment],
            customer={"email": "ada@example.com", "name": "Ada"},
        )
        deliver_order(order)
        unit = order.units.get()
        body = {
            "order": order.number,
            "items": [
                {
                    "unit": unit.pk,
                    "reason": "size_too_small",
                    "resolution": "exchange",
                    "exchange_sku": "TEE-L",
                }
            ],
        }
        rma = _ok(storefront_api.post("/api/v1/returns/", body, format="json"), 201)["rma"]
        _event(warehouse_api, rma, {"type": "exchange_dispatched"})
        shipment = Shipment.objects.get(order=order, kind="replacement")
        _ok(warehouse_api.post(f"/api/v1/shipments/{shipment.pk}/delivered/", {}, format="json"))
        _event(warehouse_api, rma, {"type": "pickup_completed"})
        _event(warehouse_api, rma, {"type": "received", "location": "wh-main"})

        def fail_qc():
            _event(
                warehouse_api,
                rma,
                {"type": "qc_result", "results": [{"unit": unit.pk, "passed": False}]},
            )

        return order, rma, fail_qc

    return make
