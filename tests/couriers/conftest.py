"""A local Shiprocket (``shiprocket_server``) per test, the settings that
point the adapter at it, and an order with addresses on both ends."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from couriers.shiprocket import token_cache_clear

from .shiprocket_server import FakeShiprocket, serve

WEBHOOK_TOKEN = "hook-token-123"
CUSTOMER_ADDRESS = {
    "name": "Asha Rao",
    "line1": "12 MG Road",
    "city": "Bengaluru",
    "state": "Karnataka",
    "pincode": "560001",
    "country": "India",
    "phone": "9800000001",
}
WAREHOUSE_ADDRESS = {
    "name": "Main warehouse",
    "line1": "Plot 4, Okhla Phase 2",
    "city": "New Delhi",
    "state": "Delhi",
    "pincode": "110020",
    "phone": "9811111111",
    "courier_pickup_location": "Okhla WH",
}


@pytest.fixture
def shiprocket(settings):
    fake = FakeShiprocket()
    server, url = serve(fake)
    settings.SHIPROCKET_EMAIL = fake.email
    settings.SHIPROCKET_PASSWORD = fake.password
    settings.SHIPROCKET_BASE_URL = url
    settings.SHIPROCKET_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    settings.SHIPROCKET_RETRY_BACKOFF = 0
    settings.SHIPROCKET_MAX_ATTEMPTS = 2
    token_cache_clear()
    yield fake
    server.shutdown()
    server.server_close()
    token_cache_clear()


@pytest.fixture
def order(make_sku, make_order, deliver_order, warehouse_location):
    """A tee (500) and jeans (900), card, delivered; the customer's shipping
    address as the native API received it, the warehouse's address set."""
    from inventory.models import Location
    from orders.models import Order

    Location.objects.filter(pk=warehouse_location.pk).update(address=WAREHOUSE_ADDRESS)
    make_sku("TEE-M", Decimal("500.00"), stock=10)
    make_sku("TEE-L", Decimal("500.00"), stock=10)
    make_sku("JEANS-32", Decimal("900.00"), stock=10)
    o = make_order([("TEE-M", 1), ("JEANS-32", 1)])
    Order.objects.filter(pk=o.pk).update(raw={"shipping_address": CUSTOMER_ADDRESS})
    deliver_order(o)
    o.refresh_from_db()
    return o


def hook(client, payload: dict, token: str = WEBHOOK_TOKEN):
    return client.post(
        "/api/v1/webhooks/couriers/shiprocket/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_X_API_KEY=token,
    )


def tracking(awb: str, status: str, when: str, **extra) -> dict:
    """A tracking update shaped like Shiprocket's documented sample."""
    return {
        "awb": awb,
        "courier_name": "Delhivery Surface",
        "current_status": status,
        "current_status_id": 42,
        "shipment_status": status,
        "shipment_status_id": 42,
        "current_timestamp": when,
        "order_id": extra.pop("order_id", ""),
        "sr_order_id": 348456385,
        "scans": extra.pop("scans", []),
        "is_return": 1,
        **extra,
    }
