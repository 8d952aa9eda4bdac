from decimal import Decimal

from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from .customers import Customer
from .fields import MONEY


class Channel(models.Model):
    class Platform(models.TextChoices):
        NATIVE = "native", "Native API"
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    class UnknownSku(models.TextChoices):
        CREATE = "create", "Create an unlisted SKU"
        REJECT = "reject", "Reject the order"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    platform = models.CharField(max_length=20, choices=Platform.choices, default=Platform.NATIVE)
    webhook_secret = models.CharField(max_length=255, blank=True, default="")
    unknown_sku = models.CharField(
        max_length=10, choices=UnknownSku.choices, default=UnknownSku.REJECT
    )
    # Outbound webhooks to the storefront (orders.webhooks). The secret signs
    # what we send; it is not the inbound ``webhook_secret`` the storefront
    # signs with, so either side can rotate its own.
    outbound_url = models.URLField(
        blank=True,
        default="",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where the storefront receives our webhooks; empty sends none.",
    )
    outbound_secret = models.CharField(
        max_length=255, blank=True, default="", help_text="Signs outbound webhooks."
    )
    outbound_events = models.JSONField(
        default=list, blank=True, help_text="Event types to send; empty sends every type."
    )
    courier = models.CharField(
        max_length=20,
        blank=True,
        default="",
        help_text="manual, shiprocket, or blank: Shiprocket when configured, else manual.",
    )

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    """What a customer bought through one channel. It has no hand-set status:
    ``summary`` is derived from the units, payments and shipments."""

    number = models.CharField(max_length=20, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=100)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    currency = models.CharField(max_length=3)
    placed_at = models.DateTimeField()
    prices_include_tax = models.BooleanField(default=True)
    items_total = models.DecimalField(**MONEY, help_text="Sum of the units' net paid.")
    line_discount_total = models.DecimalField(**MONEY, default=Decimal("0"))
    order_discount = models.DecimalField(**MONEY, default=Decimal("0"))
    tax_total = models.DecimalField(**MONEY, default=Decimal("0"))
    shipping_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    grand_total = models.DecimalField(**MONEY)
    ship_from = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT
    )
    raw = models.JSONField(default=dict, blank=True, help_text="The payload as received.")
    # Loyalty points (orders.loyalty): what the storefront says the customer
    # earned and redeemed on this order, and the rate of the redeemed tender.
    loyalty_earned = models.PositiveIntegerField(default=0)
    loyalty_redeemed = models.PositiveIntegerField(default=0)
    loyalty_rate = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Points per unit of currency; null when the order carries no loyalty.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-placed_at", "-pk"]
        permissions = [("view_all_orders", "Can search every order")]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="order_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(items_total__gte=0), name="order_items_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(shipping_amount__gte=0), name="order_shipping_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(grand_total=Round(F("items_total") + F("shipping_amount"), 2)),
                name="order_grand_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(loyalty_rate__isnull=True, loyalty_earned=0, loyalty_redeemed=0)
                | Q(loyalty_rate__gt=0),
                name="order_loyalty_has_positive_rate",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def has_loyalty(self) -> bool:
        return self.loyalty_rate is not None


class Line(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    discount = models.DecimalField(
        **MONEY, default=Decimal("0"), help_text="Discount on the whole line."
    )
    external_id = models.CharField(max_length=100, blank=True, default="")
    replacement_for = models.ForeignKey(
        "Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacement_lines",
        help_text="Set on lines added by an exchange or replacement: the unit it replaces.",
    )

    class Meta:
        ordering = ["order_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_not_negative"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="line_discount_not_negative"),
            models.CheckConstraint(
                condition=Q(discount__lte=Round(F("unit_price") * F("quantity"), 2)),
                name="line_discount_within_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.position} {self.sku_id} x{self.quantity}"
