"""Load through gunicorn, side by side with the database's raw ceiling.

    python bench/api_load.py                    # --n 400 --clients 16
    python bench/api_load.py --n 200 --port 19180

Creates a throwaway PostgreSQL database (``DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/oms_api_bench; refused if it exists
unless ``--reuse``), migrates it, seeds delivered orders through the services,
then starts gunicorn exactly as ``make run`` does (``scripts/run.py``'s
command, with gunicorn.conf.py: one single-threaded sync worker per CPU)
with Celery eager OFF, as in production (the
tasks a request queues are job rows published to the broker on commit; no
worker runs, so none of their work is counted).

Before the timed phases, ``--warmup`` returns are created and walked to QC
(not counted): each gunicorn thread's first requests compile its statements
and prepare them on its connection, once, as on a server that has been up a
while. The seeded database is VACUUM ANALYZEd first, as autovacuum would
have done, and again after the create and QC phases, before the reads.

In the same run it measures:

* the raw ceiling: a bare psycopg2 transaction writing the rows of a return
  (13 statements: lock the order and its units, insert the return, two items,
  update the units, three timeline rows, a leg, an outbox row and a job row,
  bump a counter) from ``--ceiling-threads`` threads; measured before the first timed phase
  and after each one, each phase's ratio using the two around it (the
  machine's speed drifts within a run);
* ``POST /api/v1/returns/`` from ``--clients`` concurrent clients (each
  request on a connection of its own, as gunicorn's sync worker closes it
  after each response; encoded before the clock starts, sent on a plain
  socket: the clients share the machine, so they spend little of it),
  one partial return of 2 units per order (alternating refund and exchange);
* ``POST /api/v1/returns/{rma}/events/`` with a ``qc_result`` that passes the
  units of each refund-only return (picked up and received first, not timed)
  and so makes its refund due, from a warehouse key, same clients;
* ``GET /api/v1/orders/{n}/`` and ``GET /api/v1/returns/{rma}/`` under the same
  load;
* ``POST /api/v1/orders/`` with 1 line, 20 lines, and 1,000 units (one client,
  sequential; the figure that matters is the time of one order).

For each it prints the rate, p50/p95/p99, the SQL statements per request
(counted in this process with django.test.Client on the same database and the
same view code: gunicorn does not report them) and the ratio to the ceiling.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from _ceiling import ceiling, line, pct  # noqa: E402
from _throwaway_db import analyze, create_database, drop_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oms_api_bench"


# --- gunicorn ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env: dict) -> subprocess.Popen:
    import run as launcher  # scripts/run.py: the command `make run` uses

    cmd = launcher._commands(port, web_workers=None, worker_concurrency=2)["web"]
    cmd = [c if c != "-" else "/dev/null" for c in cmd]  # access log: not on our screen
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/api/v1/orders/none/")
            c.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def load(port: int, key: str, jobs: list, clients: int) -> tuple[float, list, list]:
    """Run (method, path, body, expected_status) jobs from ``clients`` threads.
    Returns (seconds, latencies ms, bodies of unexpected answers).

    The load generator shares the 2 cores with the server, so it spends as
    little of them as it can: each request is encoded before the clock starts
    and sent whole on a plain socket with ``Connection: close`` (gunicorn's
    sync worker closes every connection after its response anyway), and the
    answer is read to the end of the stream, its status taken from the status
    line. With ``http.client`` the clients took 0.58 ms of CPU a ``GET``
    return request (a tenth of the request's whole cost on this machine);
    this way 0.34 ms (read from /proc, 2,000 requests)."""
    q: queue.Queue = queue.Queue()
    for method, path, body, expected in jobs:
        q.put((_request(method, path, body, key, port), expected))
    latencies: list[float] = []
    failures: list = []
    results: list = []
    lock = threading.Lock()

    def run() -> None:
        mine = []
        while True:
            try:
                raw, expected = q.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                status, data = _exchange(port, raw)
            except (OSError, ValueError, IndexError) as exc:
                with lock:
                    failures.append(repr(exc))
                continue
            mine.append((time.perf_counter() - started) * 1000)
            with lock:
                if status != expected:
                    failures.append((status, data[:300]))
                else:
                    results.append(data)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    load.results = results  # type: ignore[attr-defined]
    return time.perf_counter() - began, latencies, failures


def _request(method: str, path: str, body, key: str, port: int) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + payload


def _exchange(port: int, raw: bytes) -> tuple[int, bytes]:
    """Send one request, read its response to the end: (status, body)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(raw)
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    head, _sep, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"\r\ntransfer-encoding: chunked" in head.lower():
        body = _unchunked(body)
    return status, body


def _unchunked(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _sep, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


# --- in-process statement counts ------------------------------------------------


def statements(client, method: str, path: str, body=None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        if method == "POST":
            r = client.post(path, body, content_type="application/json")
        else:
            r = client.get(path)
    assert r.status_code in (200, 201), (path, r.status_code, r.content[:300])
    return len(ctx.captured_queries)


def order_body(tag: str, lines: int, qty: int) -> dict:
    from django.utils import timezone

    skus = [f"BI-{i:02d}" for i in range(20)]
    body_lines = [
        {"sku": skus[i % 20], "quantity": qty, "unit_price": "100.00", "tax_rate": "12"}
        for i in range(lines)
    ]
    total = Decimal("100.00") * lines * qty
    return {
        "channel": "web",
        "external_id": tag,
        "currency": "INR",
        "placed_at": timezone.now().isoformat(),
        "customer": {"email": "intake@example.com", "name": "Intake"},
        "lines": body_lines,
        "payments": [{"method": "card", "amount": str(total)}],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400, help="returns to create through gunicorn")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--ceiling-threads", type=int, default=4)
    parser.add_argument("--ceiling-seconds", type=float, default=3.0)
    parser.add_argument("--gets", type=int, default=1000, help="GET requests per detail path")
    parser.add_argument(
        "--warmup",
        type=int,
        default=32,
        help="returns created (and walked to QC) before the timed phases, not counted: "
        "each gunicorn thread's first requests compile and prepare their statements",
    )
    parser.add_argument(
        "--intake-reps", type=int, default=15, help="1-line and 20-line orders each"
    )
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use an existing database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
    var_dir = tempfile.mkdtemp(prefix="oms-api-bench-")
    (Path(var_dir) / "static").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OMS_VAR_DIR": os.environ.get("OMS_VAR_DIR", var_dir),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "oms.settings",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "scripts"))
    create_database(url, reuse=args.reuse)
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from orders.models import Order

        call_command("migrate", verbosity=0)
        import returns_bench

        extra = 6  # orders for the in-process statement counts
        t = time.perf_counter()
        key, orders = returns_bench.seed(args.n + extra + args.warmup)
        warm_orders = orders[args.n + extra :]
        orders = orders[: args.n + extra]
        print(
            f"seeded {args.n + extra + args.warmup} delivered orders in "
            f"{time.perf_counter() - t:.1f} s"
        )
        _intake_seed()
        analyze()
        order_ids = list(Order.objects.values_list("pk", flat=True))
        from django.db import connections

        connections.close_all()

        from django.conf import settings as dj_settings

        broker = os.environ.get("CELERY_BROKER_URL", "filesystem://")
        gconf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
        print(
            f"database {url.rsplit('/', 1)[-1]} (PostgreSQL), broker {broker.split('://')[0]}, "
            f"Celery eager off, CONN_MAX_AGE={dj_settings.DATABASES['default']['CONN_MAX_AGE']}, "
            f"gunicorn {gconf['workers']} workers x {gconf['threads']} thread(s) "
            f"(gunicorn.conf.py), {args.clients} clients, "
            f"ceiling {args.ceiling_threads} threads x {args.ceiling_seconds:.0f} s"
        )
        # The ceiling is measured before the first timed phase and after each
        # one; a phase's ratio uses the two around it (the machine's speed
        # drifts within a run: 1,627/s before and 1,208/s after, once).
        ceilings = [ceiling(url, order_ids, args.ceiling_threads, args.ceiling_seconds)]

        def ceiling_again() -> None:
            from django.db import connections as conns

            conns.close_all()
            ceilings.append(ceiling(url, order_ids, args.ceiling_threads, args.ceiling_seconds))

        # statements per request, in process (the last `extra` orders)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        spare = orders[args.n :]
        client.get("/api/v1/orders/?limit=1")  # the key's authentication cached, as in steady state
        # the return configuration kept (policy, reasons, SLA rules), as in a
        # worker that has served a return before; one with nothing kept sends 3 more
        from flows.policy import policy_config_read

        policy_config_read()
        n_refund = statements(client, "POST", "/api/v1/returns/", returns_bench.body(0, *spare[0]))
        n_exchange = statements(
            client, "POST", "/api/v1/returns/", returns_bench.body(1, *spare[1])
        )
        rma = client.get(f"/api/v1/returns/?order={spare[0][0]}").json()["results"][0]["rma"]
        # the refund-only return walked to QC by a warehouse key: the QC result
        # that makes its refund due (the refund itself is a queued job)
        warehouse_key = _key("warehouse")
        wh = Client(HTTP_AUTHORIZATION=f"Bearer {warehouse_key}")
        wh.get("/api/v1/orders/?limit=1")
        for event in _to_qc():
            statements(wh, "POST", f"/api/v1/returns/{rma}/events/", event)
        refund_units = [i["unit"] for i in returns_bench.body(0, *spare[0])["items"]]
        n_qc = statements(wh, "POST", f"/api/v1/returns/{rma}/events/", _qc(refund_units))
        n_order_get = statements(client, "GET", f"/api/v1/orders/{spare[0][0]}/")
        n_return_get = statements(client, "GET", f"/api/v1/returns/{rma}/")
        n_intake = {
            label: statements(client, "POST", "/api/v1/orders/", order_body(f"S-{label}", ln, q))
            for label, ln, q in (("1", 1, 1), ("20", 20, 1), ("1000", 10, 100))
        }
        connections.close_all()

        port = args.port or free_port()
        server = start_server(port, env)
        # warm both workers (imports, first connection), and every thread's
        # return creation and QC (statements compiled and prepared once per
        # process and connection), as a server that has been up a while is
        load(port, key, [("GET", f"/api/v1/orders/{orders[0][0]}/", None, 200)] * 20, 4)
        warm = [
            ("POST", "/api/v1/returns/", returns_bench.body(i, number, units), 201)
            for i, (number, units) in enumerate(warm_orders)
        ]
        load(port, key, warm, args.clients)
        warm_refunds = [
            (b["rma"], [u["id"] for u in b["units"]])
            for b in map(json.loads, load.results)  # type: ignore[attr-defined]
            if all(u["resolution"] == "refund" for u in b["units"])
        ]
        for event in [*_to_qc(), None]:
            load(
                port,
                warehouse_key,
                [
                    ("POST", f"/api/v1/returns/{r}/events/", event or _qc(u), 200)
                    for r, u in warm_refunds
                ],
                args.clients,
            )

        jobs = [
            ("POST", "/api/v1/returns/", returns_bench.body(i, number, units), 201)
            for i, (number, units) in enumerate(orders[: args.n])
        ]
        secs, ms, failed = load(port, key, jobs, args.clients)
        bodies = [json.loads(b) for b in load.results]  # type: ignore[attr-defined]
        ceiling_again()
        rmas = [b["rma"] for b in bodies]
        created = len(rmas)
        # QC under the same load: the refund-only returns are picked up and
        # received (not timed), then their QC results, each making a refund due
        refund_only = [
            (b["rma"], [u["id"] for u in b["units"]])
            for b in bodies
            if all(u["resolution"] == "refund" for u in b["units"])
        ]
        for event in _to_qc():
            load(
                port,
                warehouse_key,
                [("POST", f"/api/v1/returns/{r}/events/", event, 200) for r, _u in refund_only],
                args.clients,
            )
        qc = load(
            port,
            warehouse_key,
            [("POST", f"/api/v1/returns/{r}/events/", _qc(u), 200) for r, u in refund_only],
            args.clients,
        )
        # The writes above grew the returns tables from a few dozen rows to
        # hundreds; autovacuum analyses them within its minute, or not yet,
        # by the time the reads run, and the read phases' plans followed the
        # luck of that timing (GET return: 24 % to 43 % of the ceiling across
        # runs). Analysed here (not timed), as on a database in steady state.
        analyze()
        ceiling_again()
        get_orders = [
            ("GET", f"/api/v1/orders/{orders[i % args.n][0]}/", None, 200) for i in range(args.gets)
        ]
        g1 = load(port, key, get_orders, args.clients)
        ceiling_again()
        get_returns = [
            ("GET", f"/api/v1/returns/{rmas[i % len(rmas)]}/", None, 200) for i in range(args.gets)
        ]
        g2 = load(port, key, get_returns, args.clients) if rmas else (1.0, [0.0], ["no returns"])
        ceiling_again()

        # One client, one order at a time; the 1-line and 20-line orders
        # alternate, so a drift in the machine's speed touches both alike.
        intake: dict[str, tuple] = {label: (0.0, [], []) for label in ("1", "20", "1000")}
        sizes = [("1", 1, 1), ("20", 20, 1)] * args.intake_reps + [("1000", 10, 100)] * max(
            args.intake_reps // 3, 3
        )
        for r, (label, ln, q) in enumerate(sizes):
            s, m, f = load(
                port,
                key,
                [("POST", "/api/v1/orders/", order_body(f"I-{label}-{r}", ln, q), 201)],
                1,
            )
            total, lat, fails = intake[label]
            intake[label] = (total + s, lat + m, fails + f)
        stop_server(server)
        server = None
        ceiling_again()

        print()
        for i, (rate, c_ms) in enumerate(ceilings):
            name = "raw ceiling (first)" if i == 0 else f"raw ceiling (after phase {i})"
            n_tx = int(rate * args.ceiling_seconds)
            print(line(name, n_tx, args.ceiling_seconds, c_ms, 0, 13))
        base = sum(r for r, _ in ceilings) / len(ceilings)
        print(f"{'raw ceiling (mean)':<34} {base:8.1f}/s")

        def around(phase: int) -> float:
            return (ceilings[phase - 1][0] + ceilings[phase][0]) / 2

        print(
            line(
                "POST /returns/ (refund|exchange)",
                created,
                secs,
                ms,
                around(1),
                f"{n_refund}|{n_exchange}",
            )
        )
        print(line("POST /returns/{rma}/events/ QC", len(qc[1]), qc[0], qc[1], around(2), n_qc))
        print(line("GET /orders/{n}/", len(g1[1]), g1[0], g1[1], around(3), n_order_get))
        print(line("GET /returns/{rma}/", len(g2[1]), g2[0], g2[1], around(4), n_return_get))
        for label, name in (("1", "1 line"), ("20", "20 lines"), ("1000", "1,000 units")):
            s, m, _f = intake[label]
            print(
                line(f"POST /orders/ {name} (1 client)", len(m), s, m, around(5), n_intake[label])
            )
        print("(each phase's % uses the ceilings measured just before and just after it)")
        ratio = pct(intake["20"][1], 50) / max(pct(intake["1"][1], 50), 1e-9)
        print(f"order intake: 20-line / 1-line median time = {ratio:.2f}x")
        problems = failed + qc[2] + g1[2] + g2[2] + [f for k in intake for f in intake[k][2]]
        if problems:
            for p in problems[:5]:
                print("unexpected:", p, file=sys.stderr)
            raise SystemExit(f"{len(problems)} request(s) failed")
    finally:
        if server is not None:
            stop_server(server)
        if not args.keep:
            drop_database(url)


def _key(role: str) -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_api_key", f"bench-{role}-{time.time_ns()}", role=role, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def _to_qc() -> list[dict]:
    return [{"type": "pickup_completed"}, {"type": "received", "location": "wh-main"}]


def _qc(units: list[int]) -> dict:
    return {
        "type": "qc_result",
        "results": [{"unit": u, "passed": True, "grade": "A"} for u in units],
    }


def _intake_seed() -> None:
    from inventory.models import Location
    from inventory.services import sku_upsert, stock_adjust

    location = Location.objects.get(code="wh-main")
    for i in range(20):
        sku, _ = sku_upsert(
            code=f"BI-{i:02d}", product=f"bi{i}", name=f"Intake {i}", price=Decimal("100.00")
        )
        stock_adjust(
            sku=sku, location=location, bucket="sellable", quantity=100_000, reason="bench"
        )


if __name__ == "__main__":
    main()
