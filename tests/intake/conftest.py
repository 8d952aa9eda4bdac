"""Fixtures for channel intake: signed webhook posting and the platform samples.

The samples live unmodified in ``tests/data/channels/`` (copied from the shared
fixtures with their SOURCES.md). Where a sample wraps the webhook body (the
Gadget files keep it under ``"response"``) or lists several objects (the
WooCommerce docs examples), ``raw_slice`` cuts the exact bytes of the part a
platform would send; nothing is re-serialised, so every number keeps its text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "channels"
SECRET = "shpss_test_secret_0123456789"
WOO_SECRET = "wc-test-secret-abcdef"
_WS = " \t\r\n"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def raw_slice(text: str, *path) -> str:
    """The exact source text of the JSON value at ``path`` (keys and indexes)."""
    decoder = json.JSONDecoder()
    start = _skip_ws(text, 0)
    for step in path:
        i = _skip_ws(text, start)
        opener = text[i]
        i = _skip_ws(text, i + 1)
        index = 0
        while True:
            if opener == "{":
                key, i = decoder.raw_decode(text, i)
                i = _skip_ws(text, i)
                assert text[i] == ":"
                i = _skip_ws(text, i + 1)
            else:
                key = index
            value_start = i
            _, i = decoder.raw_decode(text, i)
            if key == step:
                start = value_start
                break
            index += 1
            i = _skip_ws(text, i)
            assert text[i] == ",", f"{step!r} not found"
            i = _skip_ws(text, i + 1)
    _, end = decoder.raw_decode(text, start)
    return text[start:end]


def sample_part(name: str, *path) -> bytes:
    return raw_slice(sample(name).decode("utf-8"), *path).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture(autouse=True)
def _historical_samples(settings):
    """The platform samples are documents dated months or years ago (and the
    builders below use fixed 2026 dates), so the replay window, which would
    rightly refuse them, is off here; ``test_replay_window.py`` turns it on."""
    settings.OMS_WEBHOOK_REPLAY_WINDOW = 0


@pytest.fixture
def shop_channel(db, warehouse_location):
    from intake.services import channel_upsert

    channel, _ = channel_upsert(
        code="shop",
        name="Shopify store",
        platform="shopify",
        webhook_secret=SECRET,
        unknown_sku="create",
    )
    return channel


@pytest.fixture
def woo_channel(db, warehouse_location):
    from intake.services import channel_upsert

    channel, _ = channel_upsert(
        code="woo",
        name="WooCommerce store",
        platform="woocommerce",
        webhook_secret=WOO_SECRET,
        unknown_sku="create",
    )
    return channel


@pytest.fixture
def post_webhook(anon_api, django_capture_on_commit_callbacks):
    """POST a signed webhook as the platform would, running the queued task."""
    ids = itertools.count(1)

    def post(
        platform, channel, body: bytes, topic, *, delivery_id=None, secret=None, signature=None
    ):
        delivery_id = delivery_id or f"{platform}-delivery-{next(ids)}"
        if platform == "shopify":
            headers = {
                "HTTP_X_SHOPIFY_TOPIC": topic,
                "HTTP_X_SHOPIFY_WEBHOOK_ID": delivery_id,
                "HTTP_X_SHOPIFY_SHOP_DOMAIN": "test.myshopify.com",
            }
            sig_header = "HTTP_X_SHOPIFY_HMAC_SHA256"
            secret = secret or SECRET
        else:
            headers = {
                "HTTP_X_WC_WEBHOOK_TOPIC": topic,
                "HTTP_X_WC_WEBHOOK_DELIVERY_ID": delivery_id,
            }
            sig_header = "HTTP_X_WC_WEBHOOK_SIGNATURE"
            secret = secret or WOO_SECRET
        if signature is not False:
            headers[sig_header] = signature or sign(secret, body)
        with django_capture_on_commit_callbacks(execute=True):
            response = anon_api.post(
                f"/api/v1/webhooks/{platform}/{channel}/",
                data=body,
                content_type="application/json",
                **headers,
            )
        return response

    return post


def shopify_order(
    order_id: str,
    lines: list[tuple],
    *,
    shipping: str = "0.00",
    taxes_included: bool = False,
    gateways=("shopify_payments",),
    financial_status: str = "paid",
    email: str = "buyer@example.com",
    cancelled: bool = False,
    updated_at: str = "2026-01-10T11:00:00-05:00",
) -> dict:
    """A Shopify REST-shaped order whose figures add up. ``lines`` items are
    (line_id, sku, qty, price, allocation, tax, rate)."""
    items, total = [], Decimal(shipping)
    for line_id, sku, qty, price, alloc, tax, rate in lines:
        items.append(
            {
                "id": int(line_id),
                "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                "sku": sku,
                "name": f"Item {sku}",
                "product_id": 632910392,
                "variant_id": int(line_id) + 1,
                "quantity": qty,
                "price": price,
                "price_set": {"shop_money": {"amount": price, "currency_code": "USD"}},
                "discount_allocations": [{"amount": alloc, "discount_application_index": 0}]
                if Decimal(alloc)
                else [],
                "tax_lines": [{"title": "Tax", "price": tax, "rate": float(rate)}]
                if Decimal(tax)
                else [],
            }
        )
        total += Decimal(price) * qty - Decimal(alloc)
        if not taxes_included:
            total += Decimal(tax)
    return {
        "id": int(order_id),
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "email": email,
        "created_at": "2026-01-10T10:00:00-05:00",
        "updated_at": updated_at,
        "processed_at": "2026-01-10T10:00:00-05:00",
        "currency": "USD",
        "taxes_included": taxes_included,
        "financial_status": financial_status,
        "cancelled_at": "2026-01-11T10:00:00-05:00" if cancelled else None,
        "total_price": str(total),
        "total_discounts": str(sum((Decimal(ln[4]) for ln in lines), Decimal("0"))),
        "payment_gateway_names": list(gateways),
        "customer": {"first_name": "Ada", "last_name": "Buyer", "email": email},
        "line_items": items,
        "shipping_lines": [{"title": "Standard", "price": shipping, "discount_allocations": []}],
        "refunds": [],
    }


def dumps(payload: dict) -> bytes:
    return json.dumps(payload).encode()
