"""Admin for the platform tables, and the read-only building blocks that the
other apps' admins share.

The admin is read-mostly (STYLE.md): ledgers, timelines and anything with a
lifecycle are shown, never edited, so no click can skip a service and its
timeline row.
"""

from django.contrib import admin, messages

from .models import ApiKey, IdempotencyRecord, Job


class ReadOnlyAdminMixin:
    """No add, change or delete: the page is a view. Use for append-only
    ledgers and for rows that only services may write."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields or [f.name for f in self.model._meta.fields]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with ``manage.py create_api_key`` (the raw key is shown
    once, there); here they are listed and revoked. The hash is never shown."""

    list_display = ["name", "role", "prefix", "created_at", "revoked_at", "user"]
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    fields = ["name", "role", "prefix", "user", "created_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]
    ordering = ["-created_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # The key's user is PROTECTed and the audit trail keeps its name:
        # revoke instead.
        return False

    @admin.action(description="Revoke selected API keys…", permissions=["change"])
    def revoke(self, request, queryset):
        """Asks first (a page listing the keys), then revokes: a revoked key
        stops working at once and cannot be restored."""
        from django.contrib.admin import helpers
        from django.template.response import TemplateResponse

        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/oms/apikey/revoke_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Revoke these API keys?",
                    "keys": queryset.filter(revoked_at__isnull=True),
                    "already": queryset.filter(revoked_at__isnull=False),
                    "opts": self.model._meta,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "selected": queryset.values_list("pk", flat=True),
                },
            )
        count = queryset.revoke()
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "principal", "scope", "key", "status_code"]
    list_filter = ["scope", "status_code"]
    search_fields = ["key", "principal"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None):
        # Old records may be cleared; a retry after that is treated as new.
        return request.user.has_perm("oms.delete_idempotencyrecord")


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Queued work (``oms.jobs``): what is pending, done or failed, and why."""

    list_display = [
        "pk",
        "task",
        "args",
        "state",
        "due_at",
        "next_publish_at",
        "publishes",
        "runs",
        "finished_at",
    ]
    list_filter = ["state", "task"]
    search_fields = ["task", "last_error"]
    date_hierarchy = "created_at"
