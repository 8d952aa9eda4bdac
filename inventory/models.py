from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .states import Bucket, LocationKind


class Location(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=20, choices=LocationKind.choices, default=LocationKind.WAREHOUSE
    )
    is_default = models.BooleanField(
        default=False, help_text="Orders without ship_from reserve stock here."
    )
    address = models.JSONField(
        default=dict,
        blank=True,
        help_text='Where couriers deliver returns and collect shipments: {"line1", "line2", '
        '"city", "state", "pincode", "phone", "email", "courier_pickup_location"}.',
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="location_one_default"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Product(models.Model):
    code = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=255)
    category = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SKU(models.Model):
    code = models.CharField(max_length=100, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    name = models.CharField(max_length=255)
    attributes = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"size": "M", "colour": "blue"}'
    )
    price = models.DecimalField(max_digits=14, decimal_places=2)
    tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"), help_text="Percent, e.g. 18.00"
    )
    category = models.CharField(max_length=100, blank=True, default="")
    returnable = models.BooleanField(default=True)
    warranty_months = models.PositiveSmallIntegerField(default=0)
    image_url = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="Product photo shown to customers: an https:// URL or a /static/ path.",
    )
    unlisted = models.BooleanField(
        default=False, help_text="Created by a channel for an unknown SKU."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SKU"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="sku_price_not_negative"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100), name="sku_tax_rate_percent"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def attributes_label(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.attributes.items()))


class StockBalance(models.Model):
    """Quantity of one SKU at one location in one bucket. Written only by
    ``inventory.services.stock_move`` together with its movement rows."""

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="balances")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="balances")
    bucket = models.CharField(max_length=30, choices=Bucket.choices)
    quantity = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "location", "bucket"], name="stock_balance_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.location_id}/{self.bucket}: {self.quantity}"


class StockMovement(models.Model):
    """Append-only ledger row. A transfer between buckets is two rows sharing a
    ``transfer_id``; stock entering or leaving the business is one row."""

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="movements")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements")
    bucket = models.CharField(max_length=30, choices=Bucket.choices)
    delta = models.IntegerField()
    reason = models.CharField(max_length=60)
    reference = models.CharField(max_length=100, blank=True, default="", db_index=True)
    transfer_id = models.UUIDField(db_index=True)
    note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="stock_movement_not_zero")
        ]
        permissions = [
            ("dispose_stock", "Can dispose of quarantined or liquidation stock"),
        ]
        indexes = [models.Index(fields=["sku", "location", "bucket"])]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.sku_id}@{self.location_id}/{self.bucket} ({self.reason})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Stock movements are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Stock movements are append-only.")
