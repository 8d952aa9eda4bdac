"""Ops admin for quality: defect types and known patterns are edited here;
evidence, assessments, inspections and repairs are read-only (they change
only through services); the SKU quality report flags outliers."""

from django.contrib import admin

from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import (
    Assessment,
    DefectPattern,
    DefectType,
    Evidence,
    EvidencePhoto,
    Inspection,
    RepairOrder,
    SkuQuality,
)
from .selectors import sku_report


@admin.register(DefectType)
class DefectTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "default_for_reason", "active"]
    list_filter = ["active"]
    search_fields = ["code", "label"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DefectPattern)
class DefectPatternAdmin(admin.ModelAdmin):
    list_display = ["__str__", "outcome", "source", "active", "created_at"]
    list_filter = ["outcome", "active", "defect_type", "source"]
    search_fields = ["sku__code", "batch", "serial_from", "note"]
    autocomplete_fields = ["sku"]

    def has_delete_permission(self, request, obj=None):
        return False


class PhotoInline(ReadOnlyTabularInline):
    model = EvidencePhoto
    fk_name = "evidence"
    fields = ["file", "content_type", "size", "created_at"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["return_item", "serial", "uploaded_by", "created_at"]
    search_fields = ["return_item__return_request__rma", "serial"]
    inlines = [PhotoInline]


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "return_item",
        "warranty",
        "serial_match",
        "recommendation",
        "decided_automatically",
        "applied",
        "updated_at",
    ]
    list_filter = ["recommendation", "warranty", "decided_automatically", "serial_match"]
    search_fields = ["return_item__return_request__rma"]


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["return_item", "passed", "grade", "disposition", "location", "created_at"]
    list_filter = ["passed", "disposition", "grade"]
    search_fields = ["return_item__return_request__rma"]


@admin.register(RepairOrder)
class RepairOrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "return_item", "state", "shipment", "updated_at"]
    list_filter = ["state"]


class FlaggedFilter(admin.SimpleListFilter):
    title = "return rate"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", "Abnormally high for its category")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=[r["sku_id"] for r in sku_report() if r["flagged"]])
        return queryset


@admin.register(SkuQuality)
class SkuQualityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Return and defect rates per SKU; outliers against their category are
    flagged (see quality.selectors)."""

    list_display = [
        "code",
        "category",
        "sold",
        "returned",
        "return_rate",
        "category_rate",
        "defect_rate",
        "flagged",
    ]
    list_filter = [FlaggedFilter, "category"]
    search_fields = ["code"]

    def changelist_view(self, request, extra_context=None):
        self._report = {r["sku_id"]: r for r in sku_report()}
        return super().changelist_view(request, extra_context)

    def _row(self, obj) -> dict:
        return getattr(self, "_report", {}).get(obj.pk, {})

    @admin.display(description="sold")
    def sold(self, obj):
        return self._row(obj).get("sold", 0)

    @admin.display(description="returned")
    def returned(self, obj):
        return self._row(obj).get("returned", 0)

    @admin.display(description="return rate %")
    def return_rate(self, obj):
        return self._row(obj).get("return_rate", "—")

    @admin.display(description="rest of category %")
    def category_rate(self, obj):
        return self._row(obj).get("category_rate", "—")

    @admin.display(description="defect rate %")
    def defect_rate(self, obj):
        return self._row(obj).get("defect_rate", "—")

    @admin.display(description="flagged", boolean=True)
    def flagged(self, obj):
        return self._row(obj).get("flagged", False)
