from django.db import models


class Bucket(models.TextChoices):
    SELLABLE = "sellable", "Sellable"  # on the shelf, can be reserved for orders
    RESERVED = "reserved", "Reserved"  # promised to an order unit or an exchange
    IN_TRANSIT = "in_transit", "In transit (return)"  # picked up, on its way back
    PENDING_INSPECTION = "pending_inspection", "Pending inspection"  # received, awaiting QC
    QUARANTINE = "quarantine", "Quarantine (quality reject)"  # defective; never sellable again
    REFURBISH = "refurbish", "Refurbish"  # to be repaired or cleaned before resale
    LIQUIDATION = "liquidation", "Liquidation"  # sold off in bulk, never back on the shelf


# Buckets from which stock may never move into sellable or reserved.
NEVER_SELLABLE_AGAIN = {Bucket.QUARANTINE, Bucket.LIQUIDATION}

# Free-form adjustments (a WMS count, a receipt, a write-off) may add stock to
# these buckets...
ADJUSTABLE_IN = {Bucket.SELLABLE, Bucket.REFURBISH, Bucket.QUARANTINE, Bucket.LIQUIDATION}
# ...and take it out only of these. Quarantine and liquidation are left only
# through a disposition (``stock_disposition``): otherwise "quarantine -1" then
# "sellable +1", two adjustments, would put a rejected unit back on sale.
# Reserved, in transit and pending inspection mirror unit states and change
# only with the units' own events (allocation, shipping, pickup, receipt, QC).
ADJUSTABLE_OUT = {Bucket.SELLABLE, Bucket.REFURBISH}


class StockDisposition(models.TextChoices):
    """How stock leaves quarantine or liquidation. None of them reaches sale."""

    DISPOSE = "dispose", "Dispose (scrap)"  # destroyed; leaves stock
    RETURN_TO_VENDOR = "return_to_vendor", "Return to vendor"  # back to the supplier
    LIQUIDATE = "liquidate", "Liquidate"  # quarantine -> liquidation
    SOLD_OFF = "sold_off", "Sold off (liquidation lot)"  # leaves stock


# From each guarded bucket: disposition -> destination bucket (None: leaves stock).
DISPOSITIONS: dict[str, dict[str, str | None]] = {
    Bucket.QUARANTINE: {
        StockDisposition.DISPOSE: None,
        StockDisposition.RETURN_TO_VENDOR: None,
        StockDisposition.LIQUIDATE: Bucket.LIQUIDATION,
    },
    Bucket.LIQUIDATION: {
        StockDisposition.SOLD_OFF: None,
        StockDisposition.DISPOSE: None,
        StockDisposition.RETURN_TO_VENDOR: None,
    },
}


class LocationKind(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    STORE = "store", "Store"
