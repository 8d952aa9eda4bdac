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


class LocationKind(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    STORE = "store", "Store"
