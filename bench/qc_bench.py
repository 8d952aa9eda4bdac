"""QC results that create a refund, through the API, on PostgreSQL, beside the
raw ceiling measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_qc_bench python bench/qc_bench.py --n 100

The database named in ``DATABASE_URL`` (default ``oms_qc_bench``) is created
for the run and dropped afterwards (``--keep`` leaves it); an existing one is
refused unless ``--reuse``. Celery is not eager (as in production): the
refund each QC result makes due is issued by a worker after commit, so it is
not in the timed request (the job row is written; publishing it goes to the
settings' broker, ``filesystem://`` by default).

Seeds N delivered orders (``returns_bench.seed``) and N returns of 2 units,
picked up and received, through the API; then times N ``POST
/api/v1/returns/{rma}/events/`` ``qc_result`` requests (both units pass) made
one after another with django.test.Client and a warehouse key whose
authentication is cached. Prints the rate, p50/p95/p99, the statements of
one request (SAVEPOINTs not counted) and the rate as a share of the raw
ceiling (``_ceiling.py``: 13-statement transactions from 4 threads), measured
before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ceiling import ceiling, line  # noqa: E402
from _throwaway_db import analyze, create_database, django_setup, drop_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oms_qc_bench"


def setup(url: str) -> None:
    django_setup(url, eager=False)


def received_returns(storefront, warehouse, orders) -> list[tuple[str, list[int]]]:
    out = []
    for number, units in orders:
        body = {
            "order": number,
            "items": [
                {"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in units[1:3]
            ],
        }
        r = storefront.post("/api/v1/returns/", body, content_type="application/json")
        assert r.status_code == 201, r.content[:300]
        rma = r.json()["rma"]
        for event in ({"type": "pickup_completed"}, {"type": "received", "location": "wh-main"}):
            r = warehouse.post(
                f"/api/v1/returns/{rma}/events/", event, content_type="application/json"
            )
            assert r.status_code == 200, r.content[:300]
        out.append((rma, units[1:3]))
    return out


def qc_body(units: list[int]) -> dict:
    return {
        "type": "qc_result",
        "results": [{"unit": u, "passed": True, "grade": "A"} for u in units],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="QC results to time")
    parser.add_argument("--ceiling-threads", type=int, default=4)
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use an existing database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
    create_database(url, reuse=args.reuse)
    try:
        setup(url)
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from returns_bench import seed

        from orders.models import Order

        key, orders = seed(args.n + 1)
        out = StringIO()
        call_command("create_api_key", f"qc-bench-{time.time():.0f}", role="warehouse", stdout=out)
        storefront = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        warehouse = Client(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip().splitlines()[-1]}")
        returns = received_returns(storefront, warehouse, orders)
        analyze()
        order_ids = list(Order.objects.values_list("pk", flat=True))

        c1, _ = ceiling(url, order_ids, args.ceiling_threads, args.ceiling_seconds)
        # One request counted (the key's authentication is cached by then).
        rma, units = returns.pop()
        assert warehouse.get("/api/v1/orders/?limit=1").status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            r = warehouse.post(
                f"/api/v1/returns/{rma}/events/", qc_body(units), content_type="application/json"
            )
        assert r.status_code == 200, r.content[:300]
        stmts = len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"].upper()])
        latencies = []
        start = time.perf_counter()
        for rma, units in returns:
            t = time.perf_counter()
            r = warehouse.post(
                f"/api/v1/returns/{rma}/events/", qc_body(units), content_type="application/json"
            )
            latencies.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.content[:300]
            assert r.json()["refunds"][0]["state"] == "pending"
        elapsed = time.perf_counter() - start
        c2, _ = ceiling(url, order_ids, args.ceiling_threads, args.ceiling_seconds)
        base = (c1 + c2) / 2
        print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), n={args.n}")
        print(
            f"raw ceiling: {c1:.0f} tx/s before, {c2:.0f} after "
            f"({args.ceiling_threads} threads, 13 statements each)"
        )
        print(
            line("QC result + refund (1 client)", len(latencies), elapsed, latencies, base, stmts)
        )
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
