"""Ops admin for returns: reasons, versioned policies (a change saves a new
version), and read-only returns whose states move only through services."""

from django.contrib import admin
from django.utils.html import format_html

from flows.policy import policy_version_create
from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import Return, ReturnItem, ReturnPolicy, ReturnReason
from .payout_details import payout_mask_text
from .policy_form import REFUND_FIELDS, SLA_FIELDS, PolicyForm
from .services.policy import POLICY_FIELDS


@admin.register(ReturnReason)
class ReturnReasonAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "merchant_fault", "defect", "active"]
    list_filter = ["merchant_fault", "defect", "active"]
    search_fields = ["code", "label"]

    def get_readonly_fields(self, request, obj=None):
        # A code in use names history; it can be retired (active) but not renamed.
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(admin.ModelAdmin):
    """Policies are versioned: an existing version is read-only, and "New
    version from this" opens the add form filled from it. Saving writes the
    next version number and copies the SLA rules across; past returns keep the
    version they were decided under."""

    list_display = [
        "version",
        "name",
        "window_days",
        "restocking_fee",
        "return_shipping_fee",
        "risk_threshold",
        "created_at",
        "created_by",
        "new_version",
    ]
    form = PolicyForm
    change_form_template = "admin/returns/returnpolicy/change_form.html"
    fieldsets = [
        (None, {"fields": ["name"]}),
        (
            "Windows and what can be returned",
            {
                "fields": [
                    "window_days",
                    "exchange_window_days",
                    "non_returnable_skus",
                    "non_returnable_categories",
                ]
            },
        ),
        ("Fees", {"fields": ["restocking_fee", "return_shipping_fee"]}),
        ("Refund methods", {"fields": [*REFUND_FIELDS, "tender_order"]}),
        (
            "Money limits",
            {
                "fields": [
                    "keep_it_max_value",
                    "instant_refund_max",
                    "qc_auto_pass_max",
                    "partial_credit_percent",
                    "defect_auto_outcome",
                ]
            },
        ),
        (
            "Risk",
            {
                "fields": [
                    "risk_threshold",
                    "high_value_order",
                    "high_value_item",
                    "review_value_limit",
                    "risk_weight_repeat_returner",
                    "risk_weight_high_order_value",
                    "risk_weight_high_item_value",
                    "risk_weight_serial_mismatch",
                    "risk_weight_contact_changed",
                ]
            },
        ),
        ("Store credit", {"fields": ["store_credit_validity_days"]}),
        (
            "Exchanges, pickup and SLAs",
            {
                "fields": [
                    "exchange_dispatch_before_receipt",
                    "max_pickup_attempts",
                    "self_ship_allowed",
                    "store_drop_allowed",
                    *SLA_FIELDS,
                ]
            },
        ),
    ]
    ordering = ["-version"]

    def _base(self, request):
        return (
            ReturnPolicy.objects.filter(pk=request.GET.get("copy_from")).first()
            or ReturnPolicy.objects.order_by("-version").first()
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        preview = request.method == "POST" and "_preview" in request.POST
        return type(form.__name__, (form,), {"preview": preview, "base": self._base(request)})

    def get_fieldsets(self, request, obj=None):
        if obj is not None:  # an existing version: read-only, every setting as stored
            return [(None, {"fields": POLICY_FIELDS})]
        return self.fieldsets

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def new_version(self, obj):
        return format_html(
            '<a href="../returnpolicy/add/?copy_from={}">New version from this</a>', obj.pk
        )

    def get_changeform_initial_data(self, request):
        source = (
            ReturnPolicy.objects.filter(pk=request.GET.get("copy_from")).first()
            or ReturnPolicy.objects.order_by("-version").first()
        )
        if source is None:
            return super().get_changeform_initial_data(request)
        return {f: getattr(source, f) for f in POLICY_FIELDS} | {"copy_from": source.pk}

    def save_model(self, request, obj, form, change):
        from django.db import transaction

        with transaction.atomic():
            base = (
                ReturnPolicy.objects.filter(pk=request.GET.get("copy_from")).first()
                or ReturnPolicy.objects.order_by("-version").first()
            )
            created = policy_version_create(
                base=base, data={f: getattr(obj, f) for f in POLICY_FIELDS}, actor=request.user
            )
            obj.pk, obj.version, obj.created_by = created.pk, created.version, created.created_by
            obj.created_at = created.created_at
            obj._state.adding, obj._state.db = False, created._state.db


class ReturnItemInline(ReadOnlyTabularInline):
    model = ReturnItem
    fields = [
        "unit",
        "reason",
        "resolution",
        "exchange_sku",
        "price_difference",
        "qc_passed",
        "grade",
        "disposition",
        "replacement_unit",
        "is_open",
    ]


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "rma",
        "order",
        "type",
        "state",
        "is_full_return",
        "risk_score",
        "policy",
        "created_at",
    ]
    list_filter = ["state", "type", "is_full_return", "channel"]
    search_fields = ["rma", "order__number", "order__email", "order__phone"]
    list_select_related = ["order", "policy"]
    inlines = [ReturnItemInline]
    date_hierarchy = "created_at"
    # Bank account / UPI id are shown masked, never in full.
    exclude = ["payout_details"]
    readonly_fields = ["payout_masked"]

    @admin.display(description="Payout details")
    def payout_masked(self, obj):
        return payout_mask(obj.payout_details)


def payout_mask(details: dict | None) -> str:
    """Masked: ``UPI as••••@okhdfc`` or ``account ••••••1234 (HDFC•••••••)``."""
    return payout_mask_text(details)
