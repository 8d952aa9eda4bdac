"""Admin for orders: a read-only window onto what the API and the services
wrote.

Orders enter through the API, and units, payments and shipments move only
through services that write a timeline row in the same transaction. So none of
them can be added, changed or deleted here, and their state fields are never
form fields. Channels are the one editable table (ops settings); customers may
only have their name corrected.
"""

from django import forms
from django.contrib import admin
from django.core.validators import URLValidator
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import (
    Channel,
    ContactLog,
    Customer,
    LedgerEntry,
    Line,
    Order,
    OutboundMessage,
    Payment,
    ProcessedEvent,
    Shipment,
    TimelineEvent,
    Unit,
)
from .selectors import order_status, payment_status
from .services import outbound_messages_retry
from .webhooks import EVENT_TYPES, target_refusal


def _admin_link(obj, label=None):
    if obj is None:
        return "-"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else obj)


def _timeline_link(order_id, label="Timeline"):
    url = reverse("admin:orders_timelineevent_changelist")
    return format_html('<a href="{}?order__id__exact={}">{}</a>', url, order_id, label)


# --- channels and customers ------------------------------------------------------


class ChannelForm(forms.ModelForm):
    """Both secrets (inbound ``webhook_secret``, outbound ``outbound_secret``)
    are write-only: never rendered back, and leaving a field empty keeps the
    stored one. No outbound events ticked means every event."""

    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current secret.",
    )
    outbound_url = forms.URLField(
        required=False,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where the storefront receives our webhooks (http or https); empty sends none.",
    )
    outbound_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs the webhooks we send (X-OMS-Signature). Leave empty to keep the current one.",
    )
    outbound_events = forms.MultipleChoiceField(
        required=False,
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="Event types to send; none ticked sends every type.",
    )

    class Meta:
        model = Channel
        fields = [
            "code",
            "name",
            "platform",
            "unknown_sku",
            "webhook_secret",
            "outbound_url",
            "outbound_secret",
            "outbound_events",
        ]

    def clean_webhook_secret(self):
        value = self.cleaned_data.get("webhook_secret", "")
        if not value and self.instance.pk:
            return self.instance.webhook_secret
        return value

    def clean_outbound_secret(self):
        value = self.cleaned_data.get("outbound_secret", "")
        if not value and self.instance.pk:
            return self.instance.outbound_secret
        return value

    def clean_outbound_url(self):
        value = self.cleaned_data.get("outbound_url", "")
        refusal = target_refusal(value) if value else ""
        if refusal:
            raise forms.ValidationError(f"{refusal}; webhooks go only to public addresses.")
        return value

    def clean_outbound_events(self):
        chosen = self.cleaned_data.get("outbound_events") or []
        return [t for t in EVENT_TYPES if t in chosen]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outbound_url") and not cleaned.get("outbound_secret"):
            self.add_error(
                "outbound_secret", "A channel with an outbound URL needs a secret to sign with."
            )
        return cleaned


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = [
        "code",
        "name",
        "platform",
        "unknown_sku",
        "has_webhook_secret",
        "outbound_url",
    ]
    list_filter = ["platform", "unknown_sku"]
    search_fields = ["code", "name"]

    @admin.display(description="Webhook secret", boolean=True)
    def has_webhook_secret(self, obj):
        return bool(obj.webhook_secret)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Email and phone are read-only: a contact change is a risk signal and
    must come through intake, which records when it happened."""

    list_display = ["__str__", "email", "phone", "order_count", "contact_changed_at", "created_at"]
    search_fields = ["email", "phone", "name"]
    fields = ["name", "email", "phone", "contact_changed_at", "created_at", "orders_link"]
    readonly_fields = ["email", "phone", "contact_changed_at", "created_at", "orders_link"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_order_count=Count("orders"))

    @admin.display(description="Orders", ordering="_order_count")
    def order_count(self, obj):
        return obj._order_count

    @admin.display(description="Orders")
    def orders_link(self, obj):
        url = reverse("admin:orders_order_changelist")
        return format_html('<a href="{}?customer__id__exact={}">Orders of {}</a>', url, obj.pk, obj)


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
    list_filter = ["channel", "currency", "payments__method", "ship_from"]
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
        return super().get_queryset(request).annotate(_unit_count=Count("units"))

    @admin.display(description="Units", ordering="_unit_count")
    def unit_count(self, obj):
        return obj._unit_count

    @admin.display(description="Status")
    def status(self, obj):
        return order_status(list(obj.units.only("state")))

    @admin.display(description="Payment")
    def payment_state(self, obj):
        return payment_status(list(obj.payments.all()))

    @admin.display(description="Timeline")
    def timeline(self, obj):
        return _timeline_link(obj.pk)


class OrderLinkMixin:
    """``order`` column linking to the order, and a timeline link."""

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, obj):
        return _admin_link(obj.order, obj.order.number)


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
        return super().get_queryset(request).annotate(_unit_count=Count("units"))

    @admin.display(description="Units", ordering="_unit_count")
    def unit_count(self, obj):
        return obj._unit_count


@admin.register(TimelineEvent)
class TimelineEventAdmin(OrderLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only audit trail. Filter one order's events with the
    Timeline link on the order page."""

    list_display = [
        "occurred_at",
        "order_link",
        "entity",
        "entity_id",
        "type",
        "from_state",
        "to_state",
        "actor_kind",
        "actor_label",
        "message",
    ]
    list_filter = ["entity", "type", "actor_kind", "source"]
    search_fields = ["=order__number", "=entity_id", "message", "external_id"]
    list_select_related = ["order"]
    ordering = ["-occurred_at", "-pk"]


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["processed_at", "source", "external_id"]
    list_filter = ["source"]
    search_fields = ["=external_id"]


@admin.register(ContactLog)
class ContactLogAdmin(OrderLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Contacts are logged from the agent console."""

    list_display = ["created_at", "order_link", "channel", "summary", "resolved", "user"]
    list_filter = ["channel", "resolved"]
    search_fields = ["=order__number", "summary"]
    list_select_related = ["order", "user"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(OrderLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The money ledger: append-only, shown never edited."""

    list_display = [
        "created_at",
        "order_link",
        "kind",
        "amount",
        "currency",
        "payment",
        "reference",
    ]
    list_filter = ["kind", "currency"]
    search_fields = ["order__number", "reference"]
    list_select_related = ["order", "payment"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(OrderLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox: customer messages and storefront webhooks. Failed ones can
    be queued again."""

    list_display = [
        "created_at",
        "order_link",
        "channel",
        "template",
        "to",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "sent_at",
    ]
    list_filter = ["state", "channel", "template"]
    search_fields = ["order__number", "to", "subject"]
    list_select_related = ["order"]
    actions = ["retry"]

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.has_perm("orders.change_outboundmessage")

    @admin.action(description="Send selected failed messages again", permissions=["change"])
    def retry(self, request, queryset):
        count = outbound_messages_retry(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} message(s) queued again.")
