"""Links shared by the order admin pages."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html


def _admin_link(obj, label=None):
    if obj is None:
        return "-"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else obj)


def _timeline_link(order_id, label="Timeline"):
    url = reverse("admin:orders_timelineevent_changelist")
    return format_html('<a href="{}?order__id__exact={}">{}</a>', url, order_id, label)


class OrderLinkMixin:
    """``order`` column linking to the order, and a timeline link."""

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, obj):
        return _admin_link(obj.order, obj.order.number)
