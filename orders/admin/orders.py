"""Orders, units, payments and shipments: read-only, with their inlines."""

from django.contrib import admin
from django.db.models import Count, Prefetch

from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from ..models import (
    Line,
    Order,
    Payment,
    Shipment,
    Unit,
)
from ..selectors import _REVERSE, order_status, payment_status
from ..states import OPEN_RETURN_STATES, UnitState
from .common import OrderLinkMixin, _timeline_link


class OrderStatusFilter(admin.SimpleListFilter):
    """The derived summary (an order has no stored status), as unit filters."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("unfulfilled", "Not shipped yet"),
            ("in_transit", "On its way"),
            ("delivered", "Delivered, nothing returned"),
            ("return_in_progress", "Return in progress"),
            ("returned", "Returned (partly or fully)"),
            ("cancelled", "Cancelled"),
        ]

    def queryset(self, request, queryset):
        v = self.value()
        if v == "unfulfilled":
            return queryset.filter(
                units__state__in=[UnitState.ORDERED, UnitState.ALLOCATED]
            ).distinct()
        if v == "in_transit":
            return queryset.filter(units__state=UnitState.SHIPPED).distinct()
        if v == "delivered":
            return (
                queryset.filter(units__state=UnitState.DELIVERED)
                .exclude(
                    units__state__in=[
                        *_REVERSE,
                        UnitState.SHIPPED,
                        UnitState.ORDERED,
                        UnitState.ALLOCATED,
                    ]
                )
                .distinct()
            )
        if v == "return_in_progress":
            return queryset.filter(units__state__in=OPEN_RETURN_STATES).distinct()
        if v == "returned":
            return queryset.filter(units__state__in=[*_REVERSE, UnitState.REFUSED]).distinct()
        if v == "cancelled":
            return queryset.exclude(
                units__state__in=[s for s in UnitState.values if s != UnitState.CANCELLED]
            )
        return queryset


# --- orders ------------------------------------------------------------------------


class LineInline(ReadOnlyTabularInline):
    model = Line
    fields = ["position", "sku", "quantity", "unit_price", "tax_rate", "discount", "external_id"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku")


class UnitInline(ReadOnlyTabularInline):
    model = Unit
    fk_name = "order"
    fields = [
        "line",
        "index",
        "sku",
        "state",
        "net_paid",
        "tax_amount",
        "discount_amount",
        "location",
        "shipment",
        "serial",
        "delivered_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("line", "sku", "location", "shipment")


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = [
        "position",
        "method",
        "state",
        "amount",
        "captured_amount",
        "refunded_amount",
        "gateway",
        "reference",
    ]


class ShipmentInline(ReadOnlyTabularInline):
    model = Shipment
    fields = [
        "kind",
        "state",
        "location",
        "tracking_number",
        "shipped_at",
        "delivered_at",
        "cod_collected",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "status",
        "channel",
        "external_id",
        "customer",
        "email",
        "phone",
        "placed_at",
        "unit_count",
        "grand_total",
        "currency",
        "timeline",
    ]
    list_filter = [
        OrderStatusFilter,
        "channel",
        ("placed_at", admin.DateFieldListFilter),
        "currency",
        "payments__method",
        "ship_from",
    ]
    search_fields = [
        "=number",
        "=external_id",
        "email",
        "phone",
        "customer__name",
        "=lines__sku__code",
    ]
    list_select_related = ["channel", "customer"]
    date_hierarchy = "placed_at"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "channel",
                    "external_id",
                    "customer",
                    "email",
                    "phone",
                    "placed_at",
                    "ship_from",
                    "status",
                    "payment_state",
                    "timeline",
                ]
            },
        ),
        (
            "Amounts",
            {
                "fields": [
                    "currency",
                    "prices_include_tax",
                    "items_total",
                    "line_discount_total",
                    "order_discount",
                    "tax_total",
                    "shipping_amount",
                    "grand_total",
                ]
            },
        ),
        ("As received", {"classes": ["collapse"], "fields": ["raw", "created_at"]}),
    ]
    readonly_fields = ["status", "payment_state", "timeline"]
    inlines = [LineInline, UnitInline, PaymentInline, ShipmentInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_unit_count=Count("units", distinct=True))
            .prefetch_related(
                Prefetch("units", queryset=Unit.objects.only("pk", "order_id", "state"))
            )
        )

    @admin.display(description="Units", ordering="_unit_count")
    def unit_count(self, obj):
        return obj._unit_count

    @admin.display(description="Status")
    def status(self, obj):
        return order_status(list(obj.units.all())).replace("_", " ")

    @admin.display(description="Payment")
    def payment_state(self, obj):
        return payment_status(list(obj.payments.all()))

    @admin.display(description="Timeline")
    def timeline(self, obj):
        return _timeline_link(obj.pk)


@admin.register(Unit)
class UnitAdmin(OrderLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Units move only through events (DOMAIN.md, Unit lifecycle): never a
    free "set status" edit, so this page is view-only."""

    list_display = [
        "pk",
        "order_link",
        "sku",
        "index",
        "state",
        "net_paid",
        "location",
        "shipment",
        "delivered_at",
    ]
    list_filter = ["state", "location", "sku__category"]
    search_fields = ["=order__number", "=order__external_id", "=sku__code", "serial"]
    list_select_related = ["order", "sku", "location", "shipment"]


@admin.register(Payment)
class PaymentAdmin(OrderLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "pk",
        "order_link",
        "method",
        "state",
        "amount",
        "captured_amount",
        "refunded_amount",
        "gateway",
        "reference",
    ]
    list_filter = ["method", "state"]
    search_fields = ["=order__number", "=order__external_id", "reference"]
    list_select_related = ["order"]


class ShipmentUnitInline(ReadOnlyTabularInline):
    model = Unit
    fk_name = "shipment"
    fields = ["line", "index", "sku", "state", "serial", "delivered_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("line", "sku")


@admin.register(Shipment)
class ShipmentAdmin(OrderLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "pk",
        "order_link",
        "kind",
        "state",
        "location",
        "tracking_number",
        "unit_count",
        "cod_collected",
        "shipped_at",
        "delivered_at",
    ]
    list_filter = ["state", "kind", "location"]
    search_fields = ["=order__number", "=order__external_id", "tracking_number"]
    list_select_related = ["order", "location"]
    inlines = [ShipmentUnitInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_unit_count=Count("units", distinct=True))
            .prefetch_related(
                Prefetch("units", queryset=Unit.objects.only("pk", "order_id", "state"))
            )
        )

    @admin.display(description="Units", ordering="_unit_count")
    def unit_count(self, obj):
        return obj._unit_count
