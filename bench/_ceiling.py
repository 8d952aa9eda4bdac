"""The raw ceiling every bench compares with, measured in the same run: a
bare psycopg2 transaction that writes the rows of a return (13 statements) from
N threads. The machine is shared and noisy; a flow's rate divided by this
ceiling, both measured minutes apart, holds when absolute rates do not.
`make bench` skips this module (its name starts with an underscore)."""

from __future__ import annotations

import json
import threading
import time
import uuid

CEILING_DDL = """
CREATE TABLE IF NOT EXISTS ceiling_return (
    id bigserial PRIMARY KEY, rma varchar(20) UNIQUE NOT NULL, order_id bigint NOT NULL,
    type varchar(20) NOT NULL, state varchar(30) NOT NULL, risk jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS ceiling_item (
    id bigserial PRIMARY KEY, return_id bigint NOT NULL REFERENCES ceiling_return(id),
    unit_id bigint NOT NULL, reason varchar(40) NOT NULL, resolution varchar(20) NOT NULL,
    amount numeric(14, 2) NOT NULL);
CREATE INDEX IF NOT EXISTS ceiling_item_return ON ceiling_item(return_id);
CREATE TABLE IF NOT EXISTS ceiling_event (
    id bigserial PRIMARY KEY, order_id bigint NOT NULL, return_id bigint,
    type varchar(60) NOT NULL, data jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS ceiling_event_order ON ceiling_event(order_id);
CREATE TABLE IF NOT EXISTS ceiling_leg (
    id bigserial PRIMARY KEY, return_id bigint NOT NULL, leg varchar(30) NOT NULL,
    state varchar(20) NOT NULL, due_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS ceiling_leg_due ON ceiling_leg(state, due_at);
CREATE TABLE IF NOT EXISTS ceiling_outbox (
    id bigserial PRIMARY KEY, kind varchar(40) NOT NULL, payload jsonb NOT NULL,
    sent boolean NOT NULL DEFAULT false);
CREATE TABLE IF NOT EXISTS ceiling_job (
    id bigserial PRIMARY KEY, task varchar(200) NOT NULL, args jsonb NOT NULL,
    state varchar(20) NOT NULL, due_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS ceiling_counter (id int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO ceiling_counter VALUES (1, 0) ON CONFLICT DO NOTHING;
"""


def _ceiling_tx(cur, order_id: int, seq: int) -> None:
    """13 statements, the rows a 2-unit return writes."""
    cur.execute("SELECT id FROM orders_order WHERE id = %s FOR UPDATE", [order_id])
    cur.execute(
        "SELECT id, state FROM orders_unit WHERE order_id = %s ORDER BY id FOR UPDATE", [order_id]
    )
    units = [r[0] for r in cur.fetchall()][:2] or [0, 0]
    cur.execute(
        "INSERT INTO ceiling_return (rma, order_id, type, state, risk) "
        "VALUES (%s, %s, 'partial_return', 'approved', '{}') RETURNING id",
        [uuid.uuid4().hex[:20], order_id],
    )
    rid = cur.fetchone()[0]
    for u in units[:2]:
        cur.execute(
            "INSERT INTO ceiling_item (return_id, unit_id, reason, resolution, amount) "
            "VALUES (%s, %s, 'changed_mind', 'refund', 999.00)",
            [rid, u],
        )
    cur.execute("SELECT 1 FROM orders_unit WHERE id = ANY(%s) AND state = 'x'", [units])
    for kind in ("return.created", "unit.return_requested", "return.approved"):
        cur.execute(
            "INSERT INTO ceiling_event (order_id, return_id, type, data) VALUES (%s, %s, %s, %s)",
            [order_id, rid, kind, json.dumps({"units": units})],
        )
    cur.execute(
        "INSERT INTO ceiling_leg (return_id, leg, state, due_at) "
        "VALUES (%s, 'pickup', 'open', now() + interval '48 hours')",
        [rid],
    )
    cur.execute(
        "INSERT INTO ceiling_outbox (kind, payload) VALUES ('return_created', %s)",
        [json.dumps({"rma": rid})],
    )
    cur.execute(
        "INSERT INTO ceiling_job (task, args, state) VALUES ('orders.tasks.outbox', %s, 'pending')",
        [json.dumps([rid])],
    )
    cur.execute("UPDATE ceiling_counter SET n = n + 1 WHERE id = 1")


def ceiling(url: str, order_ids: list[int], threads: int, seconds: float) -> tuple[float, list]:
    """(transactions per second, latencies ms) of the bare transaction."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(CEILING_DDL)
    conn.close()
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def run(t: int) -> None:
        c = psycopg2.connect(url)
        mine: list[float] = []
        seq = 0
        while time.perf_counter() < stop:
            seq += 1
            oid = order_ids[(t * 7919 + seq) % len(order_ids)]
            started = time.perf_counter()
            with c, c.cursor() as cur:
                _ceiling_tx(cur, oid, seq)
            mine.append((time.perf_counter() - started) * 1000)
        c.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(latencies) / (time.perf_counter() - began), latencies


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def line(label: str, n: int, seconds: float, ms: list[float], ceiling: float, stmts=None) -> str:
    rate = n / seconds if seconds else 0.0
    out = (
        f"{label:<34} {rate:8.1f}/s  p50 {pct(ms, 50):7.1f}  p95 {pct(ms, 95):7.1f}  "
        f"p99 {pct(ms, 99):7.1f} ms"
    )
    if stmts is not None:
        out += f"  {stmts:>5} stmts"
    if ceiling:
        out += f"  {100 * rate / ceiling:5.1f} % of ceiling"
    return out
