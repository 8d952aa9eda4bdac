"""The timeline, processed events, contact log, ledger and outbox."""

from django.contrib import admin

from oms.admin import ReadOnlyAdminMixin

from ..models import (
    ContactLog,
    LedgerEntry,
    OutboundMessage,
    ProcessedEvent,
    TimelineEvent,
)
from ..services import outbound_messages_retry
from .common import OrderLinkMixin


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
