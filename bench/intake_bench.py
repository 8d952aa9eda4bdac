"""Intake throughput: N signed Shopify webhooks vs N native API orders.

    python bench/intake_bench.py --n 200

Runs on a throwaway SQLite database in a temporary folder (or on
``DATABASE_URL`` if set: it migrates that database and adds rows to it).
Celery runs eagerly, so each webhook is stored, acknowledged and processed
into an order inside its request, the full path a worker would take. Both
paths go through django.test.Client and the real URL routing, auth and
services; the figure is orders per second, end to end.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _throwaway_db import django_setup

SECRET = "bench-secret"  # noqa: S105 - a throwaway channel in a throwaway database

NOW = datetime.now(UTC).replace(microsecond=0).isoformat()


def setup() -> None:
    if "DATABASE_URL" not in os.environ:
        os.environ["OMS_VAR_DIR"] = tempfile.mkdtemp(prefix="oms-intake-bench-")
    django_setup(None, eager=True)


def shopify_order(i: int) -> bytes:
    """A paid Shopify REST-shaped order that adds up: 2 x 25.00 at 10% with a
    1.00 allocation, 1 x 9.99 untaxed, 4.99 shipping."""
    order_id = 5_000_000_000_000 + i
    lines = [
        {
            "id": order_id * 10 + 1,
            "sku": "BENCH-TEE",
            "name": "Tee",
            "product_id": 1,
            "quantity": 2,
            "price": "25.00",
            "discount_allocations": [{"amount": "1.00", "discount_application_index": 0}],
            "tax_lines": [{"price": "4.90", "rate": 0.1, "title": "VAT"}],
        },
        {
            "id": order_id * 10 + 2,
            "sku": "BENCH-CAP",
            "name": "Cap",
            "product_id": 2,
            "quantity": 1,
            "price": "9.99",
            "discount_allocations": [],
            "tax_lines": [],
        },
    ]
    return json.dumps(
        {
            "id": order_id,
            "email": f"bench{i}@example.com",
            # Signed timestamps inside the replay window (OMS_WEBHOOK_REPLAY_WINDOW).
            "created_at": NOW,
            "updated_at": NOW,
            "currency": "USD",
            "taxes_included": False,
            "financial_status": "paid",
            "total_price": "68.88",
            "total_discounts": "1.00",
            "payment_gateway_names": ["shopify_payments"],
            "line_items": lines,
            "shipping_lines": [{"price": "4.99", "discount_allocations": []}],
        }
    ).encode()


def native_order(i: int) -> dict:
    return {
        "channel": "web-bench",
        "external_id": f"N-{i}",
        "currency": "USD",
        "placed_at": "2026-01-10T10:00:00-05:00",
        "customer": {"email": f"native{i}@example.com"},
        "prices_include_tax": False,
        "lines": [
            {
                "sku": "BENCH-TEE",
                "quantity": 2,
                "unit_price": "25.00",
                "tax_rate": "10",
                "discount": "1.00",
            },
            {"sku": "BENCH-CAP", "quantity": 1, "unit_price": "9.99"},
        ],
        "shipping": "4.99",
        "payments": [{"method": "card", "amount": "68.88"}],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    setup()

    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client

    from intake.services import channel_upsert
    from inventory.models import Location
    from inventory.services import location_upsert, sku_upsert, stock_adjust
    from inventory.states import Bucket
    from orders.models import Channel

    location = Location.objects.filter(is_default=True).first()
    if location is None:
        location, _ = location_upsert(
            code="bench-wh", name="Bench warehouse", kind="warehouse", is_default=True
        )
    for code, price in (("BENCH-TEE", "25.00"), ("BENCH-CAP", "9.99")):
        sku, _ = sku_upsert(code=code, product=code.lower(), name=code, price=Decimal(price))
        stock_adjust(
            sku=sku,
            location=location,
            bucket=Bucket.SELLABLE,
            quantity=10 * args.n + 10,
            reason="bench stock",
        )
    channel_upsert(
        code="shop-bench",
        name="Bench Shopify",
        platform="shopify",
        webhook_secret=SECRET,
        unknown_sku="reject",
    )
    Channel.objects.get_or_create(code="web-bench", defaults={"name": "Bench native"})
    out = StringIO()
    call_command("create_api_key", "bench", role="storefront", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    run = str(int(time.time()))

    client = Client()
    bodies = [shopify_order(int(run) * 100_000 + i) for i in range(args.n)]
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        signature = base64.b64encode(
            hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        ).decode()
        response = client.post(
            "/api/v1/webhooks/shopify/shop-bench/",
            data=body,
            content_type="application/json",
            HTTP_X_SHOPIFY_TOPIC="orders/create",
            HTTP_X_SHOPIFY_WEBHOOK_ID=f"bench-{run}-{i}",
            HTTP_X_SHOPIFY_HMAC_SHA256=signature,
        )
        assert response.status_code == 202, response.content
    webhook_seconds = time.perf_counter() - started
    from intake.models import WebhookDelivery

    states = dict(
        WebhookDelivery.objects.filter(delivery_id__startswith=f"bench-{run}-")
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    if states != {"processed": args.n}:
        sample = WebhookDelivery.objects.exclude(state="processed").first()
        raise SystemExit(f"deliveries: {states}; e.g. {sample and sample.last_error}")

    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    payloads = [native_order(int(run) * 100_000 + i) for i in range(args.n)]
    started = time.perf_counter()
    for payload in payloads:
        response = api.post("/api/v1/orders/", data=payload, content_type="application/json")
        assert response.status_code == 201, response.content
    native_seconds = time.perf_counter() - started

    from django.db import connection

    print(f"database: {connection.vendor}, n={args.n}")
    print(
        f"shopify webhooks (signed, stored, processed): {args.n / webhook_seconds:.1f} orders/s "
        f"({webhook_seconds:.2f}s)"
    )
    print(
        f"native API orders:                            {args.n / native_seconds:.1f} orders/s "
        f"({native_seconds:.2f}s)"
    )


if __name__ == "__main__":
    main()
