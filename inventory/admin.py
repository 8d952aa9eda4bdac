"""Admin for the catalogue and stock.

Locations, products and SKUs are edited here. Stock is not: balances and the
movement ledger are read-only, because every change must go through
``inventory.services`` (the stock adjustment API for counts and receipts) so
that the ledger and the balances stay equal.
"""

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import SKU, Location, Product, StockBalance, StockMovement
from .services import location_upsert


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "is_default"]
    list_filter = ["kind", "is_default"]
    search_fields = ["code", "name"]
    # Only one location may be the default; the action moves the flag in one
    # step instead of failing on the constraint.
    readonly_fields = ["is_default"]
    actions = ["make_default"]

    @admin.action(description="Make the selected location the default", permissions=["change"])
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one location.", messages.ERROR)
            return
        loc = queryset.get()
        location_upsert(code=loc.code, name=loc.name, kind=loc.kind, is_default=True)
        self.message_user(request, f"{loc.code} is now the default location.", messages.SUCCESS)


class SKUInline(ReadOnlyTabularInline):
    model = SKU
    fields = [
        "code",
        "name",
        "attributes",
        "price",
        "tax_rate",
        "returnable",
        "warranty_months",
    ]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "sku_count"]
    list_filter = ["category"]
    search_fields = ["code", "name", "skus__code"]
    inlines = [SKUInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_sku_count=Count("skus"))

    @admin.display(description="SKUs", ordering="_sku_count")
    def sku_count(self, obj):
        return obj._sku_count


class StockBalanceInline(ReadOnlyTabularInline):
    model = StockBalance
    fields = ["location", "bucket", "quantity"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "product",
        "attributes_label",
        "price",
        "tax_rate",
        "category",
        "returnable",
        "warranty_months",
        "unlisted",
    ]
    list_filter = ["category", "returnable", "unlisted", "tax_rate"]
    search_fields = ["code", "name", "product__code", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    readonly_fields = ["updated_at", "stock_link"]
    inlines = [StockBalanceInline]

    @admin.display(description="Attributes")
    def attributes_label(self, obj):
        return obj.attributes_label()

    @admin.display(description="Stock ledger")
    def stock_link(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:inventory_stockmovement_changelist")
        return format_html('<a href="{}?sku__id__exact={}">Movements of {}</a>', url, obj.pk, obj)


@admin.register(StockBalance)
class StockBalanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: balances change only through stock movements."""

    list_display = ["sku", "location", "bucket", "quantity"]
    list_filter = ["bucket", "location", "sku__category"]
    search_fields = ["sku__code", "sku__name"]
    list_select_related = ["sku", "location"]
    ordering = ["sku__code", "location__code", "bucket"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only stock ledger."""

    list_display = [
        "created_at",
        "sku",
        "location",
        "bucket",
        "delta",
        "reason",
        "reference",
        "note",
    ]
    list_filter = ["reason", "bucket", "location"]
    search_fields = ["sku__code", "reference", "note"]
    list_select_related = ["sku", "location"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
