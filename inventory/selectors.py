from django.db.models import Sum

from oms.prepared import prepared

from .models import Location, StockBalance, StockMovement


def location_by_id(location_id: int) -> Location | None:
    """The location with this id, or None (compiled once: read on every
    exchange return created)."""
    rows = _location_by_id(location_id)
    return rows[0] if rows else None


@prepared
def _location_by_id(location_id):
    return Location.objects.filter(pk=location_id)


def stock_list(*, sku: str | None = None, location: str | None = None):
    qs = StockBalance.objects.select_related("sku", "location").order_by(
        "sku__code", "location__code", "bucket"
    )
    if sku:
        qs = qs.filter(sku__code=sku)
    if location:
        qs = qs.filter(location__code=location)
    return qs


def stock_available(*, sku_id: int, location_id: int | None = None) -> int:
    qs = StockBalance.objects.filter(sku_id=sku_id, bucket="sellable")
    if location_id:
        qs = qs.filter(location_id=location_id)
    return qs.aggregate(total=Sum("quantity"))["total"] or 0


def stock_ledger_mismatches() -> list[dict]:
    """Balances that differ from the sum of their movements (either side missing counts as 0)."""
    ledger = {
        (r["sku__code"], r["location__code"], r["bucket"]): r["total"]
        for r in StockMovement.objects.values("sku__code", "location__code", "bucket").annotate(
            total=Sum("delta")
        )
    }
    balances = {
        (b.sku.code, b.location.code, b.bucket): b.quantity
        for b in StockBalance.objects.select_related("sku", "location")
    }
    out = []
    for key in sorted(set(ledger) | set(balances)):
        if ledger.get(key, 0) != balances.get(key, 0):
            out.append(
                {
                    "sku": key[0],
                    "location": key[1],
                    "bucket": key[2],
                    "balance": balances.get(key, 0),
                    "ledger": ledger.get(key, 0),
                }
            )
    return out
