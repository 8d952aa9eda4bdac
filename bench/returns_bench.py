"""Return creation throughput and latency through the API, on PostgreSQL.

    python bench/returns_bench.py --n 200

Uses ``DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/oms_bench).
The database named there is created for the run and dropped afterwards
(``--keep`` leaves it), so it must be a throwaway name: the script refuses to
touch an existing database unless ``--reuse`` is given. It migrates, seeds SKUs
with stock and N delivered orders of 3 lines (4 units, an order discount and
shipping) through the services, then creates N returns through
``POST /api/v1/returns/`` with django.test.Client and a storefront API key,
one partial return of 2 units per order, alternating refund and exchange.
Celery runs eagerly, so the customer message each return queues is
delivered (to the in-memory mail backend) inside the timed request. Each
request is timed; it prints returns per second and p50/p95/p99 latency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _throwaway_db import analyze, create_database, django_setup, drop_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oms_bench"


def setup(url: str) -> None:
    django_setup(url, eager=True)


def seed(n: int) -> tuple[str, list[tuple[str, list[int]]]]:
    """SKUs with stock, a storefront key, and n delivered orders."""
    from django.core.management import call_command
    from django.utils import timezone

    from flows.delivery import shipment_deliver
    from inventory.models import Location
    from inventory.services import location_upsert, sku_upsert, stock_adjust
    from orders.events import EventActor
    from orders.models import Channel, Unit
    from orders.services import (
        LineData,
        OrderData,
        PaymentData,
        order_create,
        shipment_create,
    )

    actor = EventActor.system("bench")
    location_upsert(code="wh-main", name="Main warehouse", kind="warehouse", is_default=True)
    location = Location.objects.get(code="wh-main")
    Channel.objects.get_or_create(code="web", defaults={"name": "Web"})
    catalogue = {
        "BTEE-M": ("btee", Decimal("999.00")),
        "BTEE-L": ("btee", Decimal("999.00")),
        "BTEE-XL": ("btee", Decimal("1199.00")),
        "BJEANS-32": ("bjeans", Decimal("2499.00")),
        "BCAP": ("bcap", Decimal("499.00")),
    }
    for code, (product, price) in catalogue.items():
        sku, _ = sku_upsert(code=code, product=product, name=code, price=price)
        stock_adjust(
            sku=sku, location=location, bucket="sellable", quantity=10 * n + 10, reason="bench"
        )
    run = int(time.time())
    orders = []
    for i in range(n):
        lines = [
            LineData("BTEE-M", 2, Decimal("999.00"), discount=Decimal("100.00")),
            LineData("BJEANS-32", 1, Decimal("2499.00")),
            LineData("BCAP", 1, Decimal("499.00")),
        ]
        total = Decimal("999.00") * 2 - Decimal("100.00") + Decimal("2499.00") + Decimal("499.00")
        total = total - Decimal("150.00") + Decimal("49.00")
        order, _ = order_create(
            data=OrderData(
                channel="web",
                external_id=f"BENCH-{run}-{i}",
                currency="INR",
                placed_at=timezone.now(),
                lines=lines,
                payments=[PaymentData("card", total)],
                customer={"email": f"bench{run}-{i}@example.com", "name": f"Bench {i}"},
                order_discount=Decimal("150.00"),
                shipping=Decimal("49.00"),
            ),
            actor=actor,
        )
        units = list(Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True))
        shipment = shipment_create(order=order, unit_ids=units, actor=actor)
        shipment_deliver(shipment_id=shipment.pk, actor=actor)
        orders.append((order.number, units))
    out = StringIO()
    call_command("create_api_key", f"bench-{run}", role="storefront", stdout=out)
    return out.getvalue().strip().splitlines()[-1], orders


def body(i: int, number: str, units: list[int]) -> dict:
    if i % 2:
        items = [
            {
                "unit": units[0],
                "reason": "size_too_small",
                "resolution": "exchange",
                "exchange_sku": "BTEE-XL",
            },
            {"unit": units[2], "reason": "changed_mind", "resolution": "refund"},
        ]
    else:
        items = [
            {"unit": units[1], "reason": "changed_mind", "resolution": "refund"},
            {"unit": units[3], "reason": "not_as_described", "resolution": "refund"},
        ]
    return {"order": number, "items": items}


def pct(sorted_ms: list[float], p: float) -> float:
    k = max(0, min(len(sorted_ms) - 1, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="returns to create")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use an existing database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
    create_database(url, reuse=args.reuse)
    try:
        setup(url)
        from django.db import connection
        from django.test import Client

        t0 = time.perf_counter()
        key, orders = seed(args.n)
        analyze()
        seeded = time.perf_counter() - t0
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        latencies = []
        failures = 0
        start = time.perf_counter()
        for i, (number, units) in enumerate(orders):
            t = time.perf_counter()
            r = client.post(
                "/api/v1/returns/", body(i, number, units), content_type="application/json"
            )
            latencies.append((time.perf_counter() - t) * 1000)
            if r.status_code != 201:
                failures += 1
                if failures <= 3:
                    print(f"request {i}: {r.status_code} {r.content[:300]!r}", file=sys.stderr)
        elapsed = time.perf_counter() - start
        ms = sorted(latencies)
        print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), n={args.n}")
        print(f"seeded {args.n} delivered orders in {seeded:.1f} s")
        print(
            f"created {args.n - failures} returns in {elapsed:.2f} s: "
            f"{args.n / elapsed:.1f} returns/s"
        )
        print(
            f"latency ms: p50 {pct(ms, 50):.1f}  p95 {pct(ms, 95):.1f}  "
            f"p99 {pct(ms, 99):.1f}  mean {statistics.mean(ms):.1f}  max {ms[-1]:.1f}"
        )
        if failures:
            raise SystemExit(f"{failures} request(s) failed")
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
