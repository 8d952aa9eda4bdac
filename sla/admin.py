"""Ops admin for SLA settings (rules per policy version, calendars, holidays)
and a read-only view of legs."""

from django.contrib import admin

from oms.admin import ReadOnlyAdminMixin

from .models import BusinessCalendar, Holiday, Leg, SlaRule


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "day_start", "day_end", "workdays"]
    inlines = [HolidayInline]


@admin.register(SlaRule)
class SlaRuleAdmin(admin.ModelAdmin):
    list_display = ["policy", "leg", "return_type", "channel", "hours", "calendar", "owner_team"]
    list_filter = ["leg", "policy", "calendar"]


@admin.register(Leg)
class LegAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "return_request",
        "leg",
        "attempt",
        "state",
        "owner_team",
        "started_at",
        "due_at",
        "completed_at",
        "breached_at",
        "action",
    ]
    list_filter = ["state", "leg", "owner_team", "action"]
    search_fields = ["return_request__rma"]
    list_select_related = ["return_request"]
