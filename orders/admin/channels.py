"""Channels (the one editable table) and customers (name only)."""

from django import forms
from django.contrib import admin
from django.core.validators import URLValidator
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from ..models import (
    Channel,
    Customer,
)
from ..webhooks import EVENT_TYPES, target_refusal

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
