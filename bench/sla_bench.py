"""SLA sweep cost: 200,000 open legs of which 1,000 are due.

    python bench/sla_bench.py                      # PostgreSQL, throwaway database
    python bench/sla_bench.py --open 20000 --due 100

Creates a throwaway PostgreSQL database ``oms_sla_bench`` (dropped at the end;
``--keep`` keeps it) unless DATABASE_URL is set, fills it with returns and
open legs, then times (1) the query that selects the due legs, with its
EXPLAIN plan, and (2) one whole sweep, which breaches and acts on every due
leg through the same services a person would use. The point: the sweep's cost
follows the due legs, not all open legs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "oms_sla_bench"


def setup(own_db: bool) -> None:
    sys.path.insert(0, str(ROOT))
    if own_db:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
            cur.execute(f"CREATE DATABASE {BENCH_DB}")
        conn.close()
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
    # Tasks the sweep queues (messages, the next legs' ETA checks) are
    # published to an in-memory broker, as a worker fleet would receive them;
    # their execution is not part of the sweep.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop_db() -> None:
    from django.db import connections

    connections.close_all()
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
    conn.close()


def fill(n_open: int, n_due: int) -> None:
    from decimal import Decimal

    from django.utils import timezone

    from inventory.services import location_upsert, sku_upsert, stock_adjust
    from orders.events import EventActor
    from orders.services import LineData, OrderData, PaymentData, order_create
    from returns.models import Return
    from returns.services import policy_current
    from sla.models import Leg

    location, _ = location_upsert(code="wh", name="WH", kind="warehouse", is_default=True)
    sku, _ = sku_upsert(code="B-1", product="b", name="B", price=Decimal("100.00"))
    stock_adjust(sku=sku, location=location, bucket="sellable", quantity=10, reason="bench")
    order, _ = order_create(
        data=OrderData(
            channel="web",
            external_id="SLA-BENCH",
            currency="INR",
            placed_at=timezone.now(),
            customer={"email": "bench@example.com"},
            lines=[LineData(sku="B-1", quantity=1, unit_price=Decimal("100.00"))],
            payments=[PaymentData(method="card", amount=Decimal("100.00"))],
        ),
        actor=EventActor.system("bench"),
    )
    policy = policy_current()
    now = timezone.now()
    kinds = ["pickup", "qc", "exchange_dispatch", "refund"]
    n_returns = (n_open + len(kinds) - 1) // len(kinds)
    batch = 5000
    print(f"creating {n_returns} returns and {n_open} open legs ({n_due} due)...", flush=True)
    t = time.perf_counter()
    for start in range(0, n_returns, batch):
        Return.objects.bulk_create(
            [
                Return(
                    rma=f"RMA-B{i:08d}",
                    order=order,
                    type="partial_return",
                    state="approved",
                    policy=policy,
                    approved_at=now,
                )
                for i in range(start, min(start + batch, n_returns))
            ]
        )
    ids = list(Return.objects.order_by("pk").values_list("pk", flat=True))
    legs = []
    made = 0
    for rid in ids:
        for kind in kinds:
            if made >= n_open:
                break
            due = made < n_due and kind == "pickup"
            started = now - timedelta(hours=60) if due else now
            legs.append(
                Leg(
                    return_request_id=rid,
                    leg=kind,
                    owner_team="bench",
                    hours=Decimal("48"),
                    started_at=started,
                    at_risk_at=started + timedelta(hours=38.4),
                    due_at=started + timedelta(hours=48),
                )
            )
            made += 1
        if len(legs) >= batch:
            Leg.objects.bulk_create(legs)
            legs = []
    Leg.objects.bulk_create(legs)
    # due legs: make exactly n_due pickup legs overdue
    due_ids = list(
        Leg.objects.filter(leg="pickup").order_by("pk").values_list("pk", flat=True)[:n_due]
    )
    Leg.objects.filter(pk__in=due_ids).update(
        started_at=now - timedelta(hours=60),
        at_risk_at=now - timedelta(hours=21.6),
        due_at=now - timedelta(hours=12),
    )
    Leg.objects.exclude(pk__in=due_ids).update(
        started_at=now, at_risk_at=now + timedelta(hours=38.4), due_at=now + timedelta(hours=48)
    )
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE sla_leg")
    print(f"filled in {time.perf_counter() - t:.1f}s", flush=True)


def measure() -> None:
    from django.db import connection
    from django.utils import timezone

    from flows.sla import sla_sweep
    from sla.models import Leg
    from sla.states import OPEN_LEG_STATES

    now = timezone.now()
    qs = (
        Leg.objects.filter(state__in=OPEN_LEG_STATES, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:5000]
    )
    open_count = Leg.objects.filter(state__in=OPEN_LEG_STATES).count()
    t = time.perf_counter()
    due = list(qs)
    select_ms = (time.perf_counter() - t) * 1000
    plan = qs.explain()
    t = time.perf_counter()
    outcomes = sla_sweep(now=now)
    sweep_s = time.perf_counter() - t
    breached = sum(1 for o in outcomes if o.what == "breached")
    print(f"database: {connection.vendor}")
    print(f"open legs: {open_count}, due: {len(due)}")
    print(f"select due legs: {select_ms:.1f} ms")
    print("plan: " + " | ".join(line.strip() for line in plan.splitlines()[:3]))
    print(
        f"sweep: {breached} legs breached and acted on in {sweep_s:.2f} s "
        f"({breached / sweep_s:.0f} legs/s, {sweep_s / max(breached, 1) * 1000:.1f} ms per leg)"
    )
    t = time.perf_counter()
    again = sla_sweep(now=now)
    print(
        f"second sweep at the same instant: {len([o for o in again if o.what == 'breached'])} breached "
        f"in {(time.perf_counter() - t) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--open", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    args = parser.parse_args()
    own = "DATABASE_URL" not in os.environ
    setup(own)
    try:
        fill(args.open, args.due)
        measure()
    finally:
        if own and not args.keep:
            drop_db()


if __name__ == "__main__":
    main()
