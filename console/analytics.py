"""The measures the seeds ask for, on the dashboard: cycle time per SLA leg
(median and 90th percentile), first-contact resolution, inventory accuracy
(movements = balances = unit states, as one figure) and refunds by tender and
day (with a CSV export). Reads only."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from inventory.models import StockBalance
from inventory.selectors import stock_ledger_mismatches
from inventory.states import Bucket
from oms.dates import local_day
from orders.models import ContactLog, Unit
from orders.states import UnitState
from refunds.models import RefundTender
from refunds.states import RefundState
from sla.models import Leg
from sla.states import LegKind, LegState


def _p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def cycle_times(limit: int = 20000) -> list[dict]:
    """Per leg: completed legs, median and p90 hours from start to completion."""
    hours: dict[str, list[float]] = defaultdict(list)
    for leg, started, completed in (
        Leg.objects.filter(state=LegState.COMPLETED, completed_at__isnull=False)
        .order_by("-completed_at")
        .values_list("leg", "started_at", "completed_at")[:limit]
    ):
        hours[leg].append((completed - started).total_seconds() / 3600)
    out = []
    for kind, label in LegKind.choices:
        values = sorted(hours.get(kind, []))
        out.append(
            {
                "leg": label,
                "n": len(values),
                "median": round(statistics.median(values), 1) if values else None,
                "p90": round(_p90(values), 1) if values else None,
            }
        )
    top = max([r["p90"] or 0 for r in out] or [1]) or 1
    for r in out:
        r["median_pct"] = round(100 * (r["median"] or 0) / top)
        r["p90_pct"] = round(100 * (r["p90"] or 0) / top)
    return out


def first_contact_resolution() -> dict:
    """Orders whose first contact resolved the question with no contact after
    it, as a share of orders with any contact."""
    per_order = list(
        ContactLog.objects.values("order_id").annotate(n=Count("pk")).values_list("order_id", "n")
    )
    single = [oid for oid, n in per_order if n == 1]
    resolved = ContactLog.objects.filter(order_id__in=single, resolved=True).count()
    total = len(per_order)
    return {
        "orders": total,
        "resolved_first": resolved,
        "share": round(100 * resolved / total) if total else None,
    }


def inventory_accuracy() -> dict:
    """Three ways to count the same stock must agree: each balance equals the
    sum of its movements; units received and waiting for QC equal the
    pending-inspection stock at their location; units on their way back equal
    the in-transit stock of their SKU. The figure is the share of checks that
    agree."""
    ledger_bad = stock_ledger_mismatches()
    cells = StockBalance.objects.count()
    checks = max(cells, len(ledger_bad))
    agree = checks - len(ledger_bad)

    def bucket(b):
        return {
            (r["sku_id"], r["location_id"]): r["q"]
            for r in StockBalance.objects.filter(bucket=b)
            .values("sku_id", "location_id")
            .annotate(q=Sum("quantity"))
        }

    inspect_stock = bucket(Bucket.PENDING_INSPECTION)
    inspect_units = Counter(
        Unit.objects.filter(state=UnitState.RETURNED).values_list("sku_id", "location_id")
    )
    unit_bad = []
    for key in set(inspect_stock) | set(inspect_units):
        checks += 1
        if inspect_stock.get(key, 0) == inspect_units.get(key, 0):
            agree += 1
        else:
            unit_bad.append(
                ("pending inspection", key, inspect_stock.get(key, 0), inspect_units.get(key, 0))
            )
    transit_stock: Counter = Counter()
    for (sku, _loc), q in bucket(Bucket.IN_TRANSIT).items():
        transit_stock[sku] += q
    transit_units = Counter(
        Unit.objects.filter(state=UnitState.RETURN_IN_TRANSIT).values_list("sku_id", flat=True)
    )
    for sku in set(transit_stock) | set(transit_units):
        checks += 1
        if transit_stock.get(sku, 0) == transit_units.get(sku, 0):
            agree += 1
        else:
            unit_bad.append(
                ("in transit", sku, transit_stock.get(sku, 0), transit_units.get(sku, 0))
            )
    return {
        "share": round(100 * agree / checks, 1) if checks else 100.0,
        "checks": checks,
        "ledger_mismatches": len(ledger_bad),
        "unit_mismatches": len(unit_bad),
    }


def refunds_by_tender_day(days: int = 30) -> dict:
    """Issued refund money per brand day and tender (the payment method it
    went back against, and how: original, store credit, payout)."""
    since = timezone.now() - timedelta(days=days)
    rows: dict = defaultdict(lambda: Decimal("0.00"))
    tenders: set[str] = set()
    for issued_at, method, instrument, amount in RefundTender.objects.filter(
        refund__state=RefundState.ISSUED, refund__issued_at__gte=since
    ).values_list("refund__issued_at", "payment__method", "instrument", "amount"):
        tender = f"{method} → {instrument.replace('_', ' ')}"
        tenders.add(tender)
        rows[(local_day(issued_at), tender)] += amount
    day_list = sorted({d for d, _ in rows}, reverse=True)
    tender_list = sorted(tenders)
    table = [
        {"day": d, "cells": [rows.get((d, t), Decimal("0.00")) for t in tender_list]}
        for d in day_list
    ]
    for r in table:
        r["total"] = sum(r["cells"], Decimal("0.00"))
    totals = [
        sum((rows.get((d, t), Decimal("0.00")) for d in day_list), Decimal("0.00"))
        for t in tender_list
    ]
    return {"tenders": tender_list, "rows": table, "totals": totals, "days": days}


def refunds_csv_rows(days: int = 90):
    """day, tender, amount: one row per brand day and tender."""
    data = refunds_by_tender_day(days)
    yield ["day", "tender", "amount"]
    for r in sorted(data["rows"], key=lambda r: r["day"]):
        for tender, amount in zip(data["tenders"], r["cells"], strict=True):
            if amount:
                yield [r["day"].isoformat(), tender, f"{amount:.2f}"]
