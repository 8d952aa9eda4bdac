"""SLA sweep cost: 1,000 due legs among 200,000 open.

    python bench/sla_bench.py                      # PostgreSQL, throwaway database
    python bench/sla_bench.py --open 20000 --due 100

Creates a throwaway PostgreSQL database ``oms_sla_bench`` (dropped at the end;
``--keep`` keeps it) unless DATABASE_URL is set. The due legs belong to real
returns: ``--due`` delivered 3-line orders, each with a refund-only return of
2 units created through ``flows.return_intake.return_create`` (items, units,
timeline, legs as production writes them), whose pickup legs are then moved
12 h past due. The rest of ``--open`` are bulk-inserted legs (not due) on
bulk-inserted returns, there for the index. It times (1) the query that
selects the due legs, with its EXPLAIN plan, and (2) one whole sweep, which
breaches and acts on every due leg; it prints legs per second, statements per
leg, customer messages per breach and the ratio to the raw ceiling
(``_ceiling.py``) measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
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


def fill_real(n_due: int) -> list[int]:
    """n_due real returns with items; their pickup legs made overdue. Leg ids."""
    from datetime import timedelta

    import returns_bench
    from django.utils import timezone

    from flows.return_intake import return_create
    from orders.events import EventActor
    from returns.services import ItemRequest, ReturnRequest
    from sla.models import Leg

    t = time.perf_counter()
    _key, orders = returns_bench.seed(n_due)
    actor = EventActor.system("bench")
    for i, (number, units) in enumerate(orders):
        body = returns_bench.body(0, number, units)
        return_create(
            ReturnRequest(
                order=number,
                channel="api",
                items=[
                    ItemRequest(unit=it["unit"], reason=it["reason"], resolution="refund")
                    for it in body["items"]
                ],
            ),
            actor=actor,
        )
        if i % 200 == 199:
            print(f"  {i + 1} real returns", flush=True)
    now = timezone.now()
    ids = list(Leg.objects.filter(leg="pickup").values_list("pk", flat=True))
    Leg.objects.filter(pk__in=ids).update(
        started_at=now - timedelta(hours=60),
        at_risk_at=now - timedelta(hours=21.6),
        due_at=now - timedelta(hours=12),
    )
    print(f"{n_due} real returns with items in {time.perf_counter() - t:.1f}s", flush=True)
    return ids


def fill(n_open: int) -> None:
    from decimal import Decimal

    from django.utils import timezone

    from orders.models import Order
    from returns.models import Return
    from returns.services import policy_current
    from sla.models import Leg

    order = Order.objects.order_by("pk").first()
    policy = policy_current()
    now = timezone.now()
    kinds = ["pickup", "qc", "exchange_dispatch", "refund"]
    n_returns = (n_open + len(kinds) - 1) // len(kinds)
    batch = 5000
    print(f"creating {n_returns} bulk returns and {n_open} open legs (none due)...", flush=True)
    t = time.perf_counter()
    for start in range(0, n_returns, batch):
        Return.objects.bulk_create(
            [
                Return(
                    rma=f"BULK-{i:08d}",
                    order=order,
                    type="partial_return",
                    state="approved",
                    policy=policy,
                    approved_at=now,
                )
                for i in range(start, min(start + batch, n_returns))
            ]
        )
    ids = list(
        Return.objects.filter(rma__startswith="BULK-").order_by("pk").values_list("pk", flat=True)
    )
    legs = []
    made = 0
    for rid in ids:
        for kind in kinds:
            if made >= n_open:
                break
            started = now
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
    Leg.objects.filter(return_request__rma__startswith="BULK-").update(
        started_at=now, at_risk_at=now + timedelta(hours=38.4), due_at=now + timedelta(hours=48)
    )
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE sla_leg")
    print(f"filled in {time.perf_counter() - t:.1f}s", flush=True)


def measure(n_ceiling_threads: int, ceiling_seconds: float) -> None:
    from _ceiling import ceiling
    from django.db import connection, connections
    from django.utils import timezone

    from flows.sla import sla_sweep
    from orders.models import Order, OutboundMessage
    from sla.models import Leg
    from sla.states import OPEN_LEG_STATES

    url = os.environ["DATABASE_URL"]
    order_ids = list(Order.objects.values_list("pk", flat=True)[:1000])
    connections.close_all()
    c1, _ = ceiling(url, order_ids, n_ceiling_threads, ceiling_seconds)
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
    messages_before = OutboundMessage.objects.count()
    t = time.perf_counter()
    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        outcomes = sla_sweep(now=now)
    sweep_s = time.perf_counter() - t
    messages = OutboundMessage.objects.count() - messages_before
    breached = sum(1 for o in outcomes if o.what == "breached")
    connections.close_all()
    c2, _ = ceiling(url, order_ids, n_ceiling_threads, ceiling_seconds)
    base = (c1 + c2) / 2
    rate = breached / sweep_s if sweep_s else 0.0
    print(f"database: {connection.vendor}")
    print(f"open legs: {open_count}, due: {len(due)} (real returns with 2 items each)")
    print(f"select due legs: {select_ms:.1f} ms")
    print("plan: " + " | ".join(line.strip() for line in plan.splitlines()[:3]))
    print(
        f"raw ceiling: {c1:.0f} tx/s before, {c2:.0f} after ({n_ceiling_threads} threads; "
        f"mean {base:.0f})"
    )
    print(
        f"sweep (one worker): {breached} legs breached and acted on in {sweep_s:.2f} s: "
        f"{rate:.0f} legs/s, {sweep_s / max(breached, 1) * 1000:.1f} ms per leg, "
        f"{statements[0]} statements ({statements[0] / max(breached, 1):.2f} per leg), "
        f"{messages / max(breached, 1):.2f} customer messages per breach, "
        f"{100 * rate / base:.1f} % of the ceiling's tx/s"
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
    parser.add_argument("--ceiling-threads", type=int, default=4)
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    args = parser.parse_args()
    own = "DATABASE_URL" not in os.environ
    setup(own)
    try:
        real_legs = fill_real(args.due)
        fill(max(args.open - len(real_legs), 0))
        measure(args.ceiling_threads, args.ceiling_seconds)
    finally:
        if own and not args.keep:
            drop_db()


if __name__ == "__main__":
    main()
