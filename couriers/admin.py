from django.contrib import admin

from .models import CourierOrder


@admin.register(CourierOrder)
class CourierOrderAdmin(admin.ModelAdmin):
    """Read-only: courier orders change only through the booking flows and
    the courier's tracking webhooks."""

    list_display = (
        "reference",
        "courier",
        "direction",
        "state",
        "awb",
        "courier_name",
        "updated_at",
    )
    list_filter = ("courier", "direction", "state")
    search_fields = ("reference", "awb")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
