"""Finance's view of refunds: read-only, with a retry action that goes through
the same service as the API."""

from django.contrib import admin, messages

from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from oms.errors import ApplicationError
from orders.events import EventActor

from .gateways import GatewayError
from .models import (
    CreditNote,
    GatewayRefund,
    GatewayWebhook,
    Refund,
    RefundItem,
    RefundTender,
    StoreCredit,
)


class RefundItemInline(ReadOnlyTabularInline):
    model = RefundItem


class RefundTenderInline(ReadOnlyTabularInline):
    model = RefundTender


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "pk",
        "order",
        "return_request",
        "kind",
        "state",
        "amount",
        "currency",
        "method",
        "created_at",
        "issued_at",
        "escalated_at",
    ]
    list_filter = ["state", "kind", "method", ("escalated_at", admin.EmptyFieldListFilter)]
    search_fields = ["order__number", "return_request__rma", "idempotency_key"]
    list_select_related = ["order", "return_request"]
    inlines = [RefundItemInline, RefundTenderInline]
    actions = ["retry"]

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.has_perm("refunds.change_refund")

    @admin.action(
        description="Retry selected pending, processing or failed refunds", permissions=["change"]
    )
    def retry(self, request, queryset):
        from flows.refunds import refund_retry

        outcome: dict[str, int] = {}
        for refund in queryset.exclude(state="issued"):
            try:
                after = refund_retry(
                    refund_id=refund.pk,
                    actor=EventActor("staff", request.user, request.user.get_username()),
                )
                outcome[after.state] = outcome.get(after.state, 0) + 1
                if after.state == "failed":
                    self.message_user(
                        request, f"Refund {refund.pk}: {after.failure_reason}", messages.ERROR
                    )
            except (GatewayError, ApplicationError) as exc:
                self.message_user(request, f"Refund {refund.pk}: {exc}", messages.ERROR)
        done = ", ".join(f"{n} {state}" for state, n in sorted(outcome.items())) or "none"
        self.message_user(request, f"Retried: {done}.")


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "refund",
        "issued_at",
        "taxable_total",
        "tax_total",
        "total",
        "currency",
    ]
    search_fields = ["number", "refund__order__number"]


@admin.register(StoreCredit)
class StoreCreditAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["code", "customer", "amount", "currency", "created_at"]
    search_fields = ["code", "customer__email"]


@admin.register(GatewayRefund)
class GatewayRefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["reference", "gateway", "instrument", "amount", "idempotency_key", "created_at"]
    search_fields = ["reference", "idempotency_key"]


@admin.register(GatewayWebhook)
class GatewayWebhookAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Razorpay and Stripe webhooks as received, with what each changed."""

    list_display = [
        "received_at",
        "gateway",
        "event_type",
        "event_id",
        "gateway_refund_id",
        "outcome",
        "processed_at",
    ]
    list_filter = ["gateway", "event_type"]
    search_fields = ["event_id", "gateway_refund_id"]
    exclude = ["body"]
