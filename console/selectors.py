"""Reads for the console: search, queues and the health dashboard."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from orders.models import ContactLog, Order, Unit
from orders.states import UnitState
from refunds.models import Refund
from refunds.states import RefundState
from returns.models import Return, ReturnItem
from returns.states import Resolution, ReturnState, ReturnType
from sla.models import Leg


def search(q: str) -> tuple[str | None, list[Order]]:
    """(redirect target, orders). An exact order number or RMA goes straight
    to its page; email, phone or part of a number lists orders."""
    q = (q or "").strip()
    if not q:
        return None, []
    order = Order.objects.filter(number__iexact=q).first()
    if order:
        return f"order:{order.number}", [order]
    return_request = Return.objects.filter(rma__iexact=q).first()
    if return_request:
        return f"return:{return_request.rma}", []
    qs = Order.objects.select_related("customer")
    if "@" in q:
        qs = qs.filter(Q(email__iexact=q) | Q(customer__email__iexact=q))
    else:
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 6 and len(digits) >= len(q.replace(" ", "")) - 3:
            tail = digits[-10:]
            qs = qs.filter(Q(phone__endswith=tail) | Q(customer__phone__endswith=tail))
        else:
            qs = qs.filter(Q(number__icontains=q) | Q(customer__name__icontains=q))
    return None, list(qs.order_by("-placed_at")[:50])


def _leg_status(leg, now) -> str:
    """done, cancelled, breached, at_risk or on_track, from whichever fields
    the sla app's Leg has."""
    state = getattr(leg, "state", "")
    if state == "cancelled":
        return "cancelled"
    breached = getattr(leg, "breached_at", None) or state == "breached"
    if getattr(leg, "completed_at", None) or state == "completed":
        return "breached_done" if breached else "done"
    due, started = getattr(leg, "due_at", None), getattr(leg, "started_at", None)
    if breached or (due and due < now):
        return "breached"
    at_risk_at = getattr(leg, "at_risk_at", None)
    if state == "at_risk" or (at_risk_at and at_risk_at <= now):
        return "at_risk"
    if not at_risk_at and due and started and now >= started + (due - started) * 0.8:
        return "at_risk"
    return "on_track"


def sla_queues() -> dict | None:
    """Open legs at risk (80% of their time gone) and breached, or None
    without the sla app."""
    now = timezone.now()
    at_risk, breached = [], []
    qs = Leg.objects.filter(completed_at__isnull=True).select_related("return_request")
    for leg in qs.order_by("due_at")[:500]:
        status = _leg_status(leg, now)
        row = {
            "leg": getattr(leg, "leg", ""),
            "due_at": getattr(leg, "due_at", None),
            "return_request": leg.return_request,
            "obj": leg,
        }
        if status == "breached":
            breached.append(row)
        elif status == "at_risk":
            at_risk.append(row)
    return {"at_risk": at_risk, "breached": breached}


def sla_health() -> list[dict] | None:
    """Per leg: on track, at risk, breached (open), done, and the share of
    legs that ever breached."""
    now = timezone.now()
    out: dict[str, Counter] = defaultdict(Counter)
    for leg in Leg.objects.order_by("-pk")[:20000]:
        status = _leg_status(leg, now)
        if status == "cancelled":
            continue
        c = out[getattr(leg, "leg", "")]
        c["total"] += 1
        if status in ("breached", "breached_done"):
            c["ever_breached"] += 1
        c["done" if status == "breached_done" else status] += 1
    keys = ("on_track", "at_risk", "breached", "done")
    return [
        {
            "leg": name,
            **{k: counts[k] for k in keys},
            "breach_rate": round(100 * counts["ever_breached"] / counts["total"]),
        }
        for name, counts in sorted(out.items())
    ]


def queue_review():
    return (
        Return.objects.filter(state=ReturnState.PENDING_REVIEW)
        .select_related("order")
        .order_by("created_at")
    )


def queue_qc():
    return (
        Return.objects.filter(items__unit__state=UnitState.RETURNED)
        .select_related("order", "location")
        .distinct()
        .order_by("created_at")
    )


def refunds_now() -> dict:
    rows = {
        r["state"]: r
        for r in Refund.objects.values("state").annotate(
            n=Count("pk"), total=Sum("amount"), oldest=Min("created_at")
        )
    }
    states = [
        {
            "state": s.value,
            "label": s.label,
            "n": rows.get(s.value, {}).get("n", 0),
            "total": rows.get(s.value, {}).get("total") or Decimal("0.00"),
        }
        for s in RefundState
    ]
    oldest = (
        Refund.objects.filter(
            state__in=[RefundState.PENDING, RefundState.FAILED, RefundState.PROCESSING]
        )
        .select_related("order")
        .order_by("created_at")
        .first()
    )
    return {"states": states, "oldest": oldest, "max": max([s["n"] for s in states] or [1]) or 1}


def _weeks(n: int = 8):
    today = timezone.localdate()
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=n - 1)
    return [start + timedelta(weeks=i) for i in range(n)]


def _week_of(dt, weeks):
    day = timezone.localtime(dt).date()
    for w in reversed(weeks):
        if day >= w:
            return w
    return None


def measures(weeks_back: int = 8) -> dict:
    """Measures of health (DOMAIN.md) over the last weeks."""
    weeks = _weeks(weeks_back)
    since = timezone.make_aware(timezone.datetime.combine(weeks[0], timezone.datetime.min.time()))
    rets = list(
        Return.objects.filter(created_at__gte=since)
        .exclude(type=ReturnType.DOORSTEP_REFUSAL)
        .values("pk", "created_at", "is_full_return", "state")
    )
    per_week = {w: Counter() for w in weeks}
    for r in rets:
        w = _week_of(r["created_at"], weeks)
        if w:
            per_week[w]["all"] += 1
            per_week[w]["partial"] += 0 if r["is_full_return"] else 1
    partial_series = [
        {
            "week": w,
            "n": per_week[w]["all"],
            "value": round(100 * per_week[w]["partial"] / per_week[w]["all"])
            if per_week[w]["all"]
            else 0,
        }
        for w in weeks
    ]
    total = sum(c["all"] for c in per_week.values())
    partial_total = sum(c["partial"] for c in per_week.values())

    latency: dict = defaultdict(list)
    for ref in Refund.objects.filter(
        state=RefundState.ISSUED, issued_at__gte=since, return_request__isnull=False
    ).select_related("return_request"):
        w = _week_of(ref.issued_at, weeks)
        if w:
            hours = (ref.issued_at - ref.return_request.created_at).total_seconds() / 3600
            latency[w].append(hours)
    latency_series = [
        {
            "week": w,
            "n": len(latency[w]),
            "value": round(statistics.median(latency[w]), 1) if latency[w] else 0,
        }
        for w in weeks
    ]

    kept: dict = defaultdict(lambda: Decimal("0.00"))
    for item in (
        ReturnItem.objects.filter(
            resolution__in=[Resolution.EXCHANGE, Resolution.REPLACEMENT],
            return_request__created_at__gte=since,
        )
        .exclude(return_request__state__in=[ReturnState.CANCELLED, ReturnState.REJECTED])
        .values("unit__net_paid", "return_request__created_at")
    ):
        w = _week_of(item["return_request__created_at"], weeks)
        if w:
            kept[w] += item["unit__net_paid"]
    kept_series = [{"week": w, "value": kept[w]} for w in weeks]

    reasons = list(
        ReturnItem.objects.exclude(reason__code="refused_at_door")
        .values("reason__label")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    reasons_total = sum(r["n"] for r in reasons) or 1

    sold = dict(
        Unit.objects.filter(line__replacement_for__isnull=True)
        .exclude(state__in=[UnitState.CANCELLED, UnitState.ORDERED, UnitState.ALLOCATED])
        .values_list("sku__code")
        .annotate(n=Count("pk"))
    )
    returned = dict(
        ReturnItem.objects.exclude(reason__code="refused_at_door")
        .exclude(return_request__state__in=[ReturnState.CANCELLED, ReturnState.REJECTED])
        .values_list("unit__sku__code")
        .annotate(n=Count("pk"))
    )
    sku_rates = [
        {
            "sku": code,
            "sold": n,
            "returned": returned.get(code, 0),
            "rate": 100 * returned.get(code, 0) / n,
        }
        for code, n in sold.items()
        if n >= 3
    ]
    rates = [r["rate"] for r in sku_rates]
    if len(rates) >= 3:
        mean, sd = statistics.mean(rates), statistics.pstdev(rates)
        for r in sku_rates:
            r["outlier"] = r["rate"] > mean + 2 * sd and r["returned"] >= 2
    sku_rates.sort(key=lambda r: (-r["rate"], r["sku"]))

    with_contacts = list(
        ContactLog.objects.values("order_id").annotate(n=Count("pk")).values_list("n", flat=True)
    )
    return {
        "weeks": weeks,
        "partial_share": round(100 * partial_total / total) if total else 0,
        "returns_total": total,
        "partial_series": partial_series,
        "latency_series": latency_series,
        "latency_max": max([p["value"] for p in latency_series] or [1]) or 1,
        "kept_series": kept_series,
        "kept_total": sum((k["value"] for k in kept_series), Decimal("0.00")),
        "kept_max": max([k["value"] for k in kept_series] or [1]) or 1,
        "reasons": [{**r, "share": round(100 * r["n"] / reasons_total)} for r in reasons],
        "sku_rates": sku_rates[:12],
        "sku_outliers": [r for r in sku_rates if r.get("outlier")],
        "repeat_contact_share": round(
            100 * sum(1 for n in with_contacts if n > 1) / len(with_contacts)
        )
        if with_contacts
        else 0,
        "orders_with_contacts": len(with_contacts),
    }
