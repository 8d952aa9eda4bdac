"""Admin for intake: read-only windows onto deliveries and platform refunds.
The one action, replay, calls the service (STYLE.md: admin actions call
services)."""

from django.contrib import admin, messages

from oms.errors import ApplicationError

from . import services
from .models import PlatformRefund, PlatformRefundLine, WebhookDelivery
from .states import DeliveryState


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = (
        "id",
        "received_at",
        "channel",
        "platform",
        "topic",
        "state",
        "attempts",
        "resource_id",
        "order",
        "short_error",
    )
    list_filter = ("state", "platform", "topic", "channel")
    search_fields = ("delivery_id", "resource_id", "last_error")
    readonly_fields = (
        "channel",
        "platform",
        "topic",
        "delivery_id",
        "state",
        "attempts",
        "last_error",
        "note",
        "received_at",
        "processed_at",
        "resource_id",
        "resource_updated_at",
        "order",
        "headers",
        "body_text",
    )
    exclude = ("body",)
    actions = ["replay"]

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.last_error[:120]

    @admin.action(description="Replay selected dead letters")
    def replay(self, request, queryset):
        done = 0
        for delivery in queryset.filter(state=DeliveryState.DEAD).order_by("pk"):
            try:
                services.dead_letter_replay(delivery_id=delivery.pk)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{delivery.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} dead letter(s) queued again.", messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("orders.change_channel"):
            actions.pop("replay", None)
        return actions


class PlatformRefundLineInline(_ReadOnly, admin.TabularInline):
    model = PlatformRefundLine
    extra = 0
    can_delete = False
    fields = ("line", "external_id", "quantity", "subtotal", "tax", "restock_type")
    readonly_fields = fields


@admin.register(PlatformRefund)
class PlatformRefundAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = (
        "external_id",
        "platform",
        "channel",
        "order",
        "amount",
        "currency",
        "processed_at",
    )
    list_filter = ("platform", "channel")
    search_fields = ("external_id", "order__number")
    inlines = [PlatformRefundLineInline]
    readonly_fields = (
        "channel",
        "order",
        "external_id",
        "platform",
        "currency",
        "amount",
        "lines_subtotal",
        "lines_tax",
        "shipping",
        "adjustments",
        "note",
        "processed_at",
        "delivery",
        "raw",
        "created_at",
    )
