"""Quality reads: assessments for the return body, and analytics (defect rate
per SKU and per batch, top defect types, return rate per SKU against its
category with outliers flagged).

Definitions:
- sold: units that were shipped (replacements and repairs included);
- returned: units in a return that was not cancelled or rejected;
- defect: returned units whose reason is a defect reason;
- batch: the part of the shipped serial before its last "-" (B2405-00017 is
  batch B2405); serials without "-" have no batch;
- outlier: at least MIN_RETURNS returns and a return rate more than
  OUTLIER_FACTOR times the rate of the rest of its category (the other SKUs
  of the category together), or above a rest-of-category rate of zero.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from orders.models import Unit
from returns.models import ReturnItem
from returns.states import ReturnState

from .models import Assessment, DefectType, EvidencePhoto

MIN_RETURNS = 3
OUTLIER_FACTOR = Decimal("2")
NOT_COUNTED = (ReturnState.CANCELLED, ReturnState.REJECTED)


def assessment_body(a: Assessment | None) -> dict | None:
    if a is None:
        return None
    return {
        "warranty": a.warranty,
        "warranty_ends_at": a.warranty_ends_at.isoformat() if a.warranty_ends_at else None,
        "pattern": None
        if a.pattern_id is None
        else {
            "id": a.pattern_id,
            "sku": a.pattern.sku.code if a.pattern.sku_id else None,
            "serial_from": a.pattern.serial_from or None,
            "serial_to": a.pattern.serial_to or None,
            "batch": a.pattern.batch or None,
            "defect_type": a.pattern.defect_type.code if a.pattern.defect_type_id else None,
            "outcome": a.pattern.outcome,
        },
        "serial_match": a.serial_match,
        "recommendation": a.recommendation,
        "decided_automatically": a.decided_automatically,
        "applied": a.applied,
        "reasons": a.reasons,
    }


# What the return body's quality keys read of each item, joined to the item.
QUALITY_RELATED = ("assessment__pattern__sku", "assessment__pattern__defect_type", "repair_order")


def quality_annotations() -> dict:
    """Each item's count of evidence photos, as an annotation
    (``quality_photos``) for the query that loads the items."""
    photos = (
        EvidencePhoto.objects.filter(evidence__return_item=OuterRef("pk"))
        .order_by()
        .values("evidence__return_item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return {"quality_photos": Coalesce(Subquery(photos), 0)}


def return_quality(return_request, items=None) -> dict[int, dict]:
    """unit id → quality details for the return body, in one query: each item
    with its assessment (and pattern), its repair order and its count of
    evidence photos. ``items``: the return's items already loaded with
    ``QUALITY_RELATED`` and ``quality_annotations()`` (then no query)."""
    if items is None:
        items = (
            ReturnItem.objects.filter(return_request=return_request)
            .select_related(*QUALITY_RELATED)
            .annotate(**quality_annotations())
        )
    out = {}
    for item in items:
        assessment = getattr(item, "assessment", None)
        repair = getattr(item, "repair_order", None)
        out[item.unit_id] = {
            "defect_type": item.defect_code or None,
            "evidence_photos": item.quality_photos,
            "assessment": assessment_body(assessment),
            "repair": None
            if repair is None
            else {"id": repair.pk, "state": repair.state, "shipment": repair.shipment_id},
        }
    return out


def batch_of(serial: str) -> str:
    head, sep, _ = (serial or "").rpartition("-")
    return head if sep else ""


def _rate(n: int, d: int) -> Decimal:
    return (Decimal(n) * 100 / d).quantize(Decimal("0.1")) if d else Decimal("0")


def sku_report() -> list[dict]:
    """One row per SKU that sold: sold, returned, defect units and rates,
    the rest of its category's return rate, and the outlier flag."""
    sold = dict(
        Unit.objects.filter(shipment__isnull=False).values_list("sku_id").annotate(n=Count("pk"))
    )
    counted = ReturnItem.objects.exclude(return_request__state__in=NOT_COUNTED)
    returned = dict(counted.values_list("unit__sku_id").annotate(n=Count("unit_id", distinct=True)))
    defects = dict(
        counted.filter(reason__defect=True)
        .values_list("unit__sku_id")
        .annotate(n=Count("unit_id", distinct=True))
    )
    from inventory.models import SKU

    skus = {s.pk: s for s in SKU.objects.filter(pk__in=list(sold))}
    by_cat: dict[str, list[int]] = defaultdict(list)
    for pk, sku in skus.items():
        by_cat[sku.category].append(pk)
    rows = []
    for pk, sku in sorted(skus.items(), key=lambda kv: kv[1].code):
        peers = [p for p in by_cat[sku.category] if p != pk]
        peer_sold = sum(sold[p] for p in peers)
        peer_returned = sum(returned.get(p, 0) for p in peers)
        rate = _rate(returned.get(pk, 0), sold[pk])
        peer_rate = _rate(peer_returned, peer_sold)
        flagged = bool(
            peers
            and peer_sold
            and returned.get(pk, 0) >= MIN_RETURNS
            and rate > peer_rate * OUTLIER_FACTOR
        )
        rows.append(
            {
                "sku_id": pk,
                "sku": sku.code,
                "category": sku.category,
                "sold": sold[pk],
                "returned": returned.get(pk, 0),
                "return_rate": rate,
                "defects": defects.get(pk, 0),
                "defect_rate": _rate(defects.get(pk, 0), sold[pk]),
                "category_rate": peer_rate,
                "flagged": flagged,
            }
        )
    return rows


def batch_report() -> list[dict]:
    sold: Counter = Counter()
    for sku, serial in (
        Unit.objects.filter(shipment__isnull=False)
        .exclude(serial="")
        .values_list("sku__code", "serial")
    ):
        if batch_of(serial):
            sold[(sku, batch_of(serial))] += 1
    defects: Counter = Counter()
    for sku, serial in (
        ReturnItem.objects.exclude(return_request__state__in=NOT_COUNTED)
        .filter(reason__defect=True)
        .exclude(unit__serial="")
        .values_list("unit__sku__code", "unit__serial")
        .distinct()
    ):
        if batch_of(serial):
            defects[(sku, batch_of(serial))] += 1
    return [
        {
            "sku": sku,
            "batch": batch,
            "sold": n,
            "defects": defects[(sku, batch)],
            "defect_rate": _rate(defects[(sku, batch)], n),
        }
        for (sku, batch), n in sorted(sold.items())
    ]


def top_defect_types(limit: int = 10) -> list[dict]:
    labels = dict(DefectType.objects.values_list("code", "label"))
    rows = (
        ReturnItem.objects.exclude(return_request__state__in=NOT_COUNTED)
        .exclude(defect_code="")
        .values_list("defect_code")
        .annotate(n=Count("pk"))
        .order_by("-n", "defect_code")[:limit]
    )
    total = sum(n for _, n in rows) or 1
    return [
        {"code": code, "label": labels.get(code, code), "count": n, "share": _rate(n, total)}
        for code, n in rows
    ]


def quality_report() -> dict:
    skus = sku_report()
    return {
        "skus": skus,
        "flagged": [r for r in skus if r["flagged"]],
        "batches": batch_report(),
        "defect_types": top_defect_types(),
    }


def report_csv_rows(report: dict) -> list[list]:
    header = [
        "section",
        "key",
        "category",
        "sold",
        "returned",
        "return_rate_pct",
        "defects",
        "defect_rate_pct",
        "category_rate_pct",
        "flagged",
    ]
    rows = [header]
    for r in report["skus"]:
        rows.append(
            [
                "sku",
                r["sku"],
                r["category"],
                r["sold"],
                r["returned"],
                r["return_rate"],
                r["defects"],
                r["defect_rate"],
                r["category_rate"],
                "yes" if r["flagged"] else "no",
            ]
        )
    for r in report["batches"]:
        rows.append(
            [
                "batch",
                f"{r['sku']}/{r['batch']}",
                "",
                r["sold"],
                "",
                "",
                r["defects"],
                r["defect_rate"],
                "",
                "",
            ]
        )
    for r in report["defect_types"]:
        rows.append(["defect_type", r["code"], "", "", "", "", r["count"], r["share"], "", ""])
    return rows
