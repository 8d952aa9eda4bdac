"""Finance's view of refunds: read-only, with a retry action that goes through
the same service as the API."""

from django.contrib import admin, messages

from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from oms.errors import ApplicationError
from orders.events import EventActor
from returns.payout_details import payout_mask_text

from .gateways import GatewayError
from .models import (
    CreditNote,
    GatewayRefund,
    GatewayWebhook,
    LoyaltyAdjustment,
    Payout,
    PayoutAttempt,
    Recovery,
    Refund,
    RefundItem,
    RefundTender,
    StoreCredit,
    Wallet,
    WalletEntry,
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


@admin.register(Recovery)
class RecoveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: recoveries are settled through the API or the console page
    (``/console/recoveries/``), so the timeline and the ledger follow."""

    list_display = [
        "pk",
        "order",
        "return_request",
        "reason",
        "state",
        "amount",
        "currency",
        "method",
        "applied_order",
        "created_at",
    ]
    list_filter = ["state", "reason", "method"]
    search_fields = ["order__number", "return_request__rma", "customer__email", "reference"]
    list_select_related = ["order", "return_request", "applied_order"]


class PayoutAttemptInline(ReadOnlyTabularInline):
    model = PayoutAttempt
    fields = ["at", "outcome", "utr", "reason", "details_masked", "actor"]
    show_change_link = False


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only, with the bank details masked: finance pays and records
    payouts in the console or the API (``/api/v1/payouts/``)."""

    list_display = ["reference", "state", "amount", "currency", "rail", "utr", "created_at"]
    list_filter = ["state", "rail"]
    search_fields = ["reference", "utr", "refund__order__number"]
    exclude = ["details"]
    readonly_fields = ["details_masked"]
    inlines = [PayoutAttemptInline]

    @admin.display(description="Payout details")
    def details_masked(self, obj):
        return payout_mask_text(obj.details)


class WalletEntryInline(ReadOnlyTabularInline):
    model = WalletEntry
    fields = ["created_at", "kind", "amount", "balance_after", "reference", "reason", "expires_at"]
    ordering = ["-created_at", "-pk"]


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Store credit wallets: read-only. Goodwill is granted on the console's
    order page or ``POST /api/v1/store-credit/{email}/goodwill/``."""

    list_display = ["customer", "balance", "currency", "updated_at"]
    search_fields = ["customer__email"]
    list_select_related = ["customer"]
    inlines = [WalletEntryInline]


@admin.register(WalletEntry)
class WalletEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The wallets' append-only ledger."""

    list_display = ["created_at", "wallet", "kind", "amount", "balance_after", "reference", "actor"]
    list_filter = ["kind"]
    search_fields = ["wallet__customer__email", "reference"]
    list_select_related = ["wallet__customer"]


@admin.register(LoyaltyAdjustment)
class LoyaltyAdjustmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "refund", "earned_reversed", "redeemed_returned", "created_at"]
    search_fields = ["order__number"]
    list_select_related = ["order"]


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
