"""Roles are Django groups; staff users and API keys both act through them.

``ROLE_PERMISSIONS`` is the single table of who may do what. ``roles_sync``
makes the groups match it and runs after every migrate.
"""

ROLES = ("storefront", "warehouse", "agent", "supervisor", "finance", "ops")

_READ_ORDERS = ["orders.view_order"]
_READ_STOCK = ["inventory.view_stockbalance"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "storefront": [
        *_READ_ORDERS,
        "orders.add_order",
        "orders.change_order",
        "orders.add_shipment",
        "orders.change_shipment",
        "returns.add_return",
        "returns.view_return",
        "refunds.view_refund",
        *_READ_STOCK,
    ],
    "warehouse": [
        *_READ_ORDERS,
        "orders.add_shipment",
        "orders.change_shipment",
        "returns.view_return",
        "returns.record_return_event",
        "inventory.view_stockbalance",
        "inventory.add_stockmovement",
        "inventory.change_sku",
        "inventory.change_location",
    ],
    "agent": [
        *_READ_ORDERS,
        "orders.add_contactlog",
        "returns.add_return",
        "returns.view_return",
        "returns.record_return_event",
        "refunds.view_refund",
        *_READ_STOCK,
    ],
    "supervisor": [
        *_READ_ORDERS,
        "orders.change_order",
        "orders.add_contactlog",
        "returns.add_return",
        "returns.view_return",
        "returns.record_return_event",
        "returns.review_return",
        "returns.override_eligibility",
        "refunds.view_refund",
        "orders.view_ledgerentry",
        "quality.view_defectpattern",
        "quality.view_skuquality",
        *_READ_STOCK,
    ],
    "finance": [
        *_READ_ORDERS,
        "returns.view_return",
        "refunds.view_refund",
        "refunds.change_refund",
        "orders.view_ledgerentry",
    ],
    "ops": [
        *_READ_ORDERS,
        "orders.add_order",
        "orders.change_order",
        "orders.add_shipment",
        "orders.change_shipment",
        "orders.change_channel",
        "returns.view_return",
        "returns.record_return_event",
        "returns.change_returnpolicy",
        "refunds.view_refund",
        "orders.view_ledgerentry",
        "inventory.view_stockbalance",
        "inventory.add_stockmovement",
        "inventory.dispose_stock",
        "inventory.change_sku",
        "inventory.change_location",
        "quality.add_defectpattern",
        "quality.change_defectpattern",
        "quality.view_defectpattern",
        "quality.add_defecttype",
        "quality.change_defecttype",
        "quality.view_skuquality",
    ],
}


def roles_sync(**_kwargs) -> None:
    """Create the role groups and give each exactly its permissions."""
    from django.contrib.auth.models import Group, Permission

    wanted = {p for perms in ROLE_PERMISSIONS.values() for p in perms}
    by_name = {}
    for perm in Permission.objects.select_related("content_type").filter(
        content_type__app_label__in={p.split(".")[0] for p in wanted}
    ):
        by_name[f"{perm.content_type.app_label}.{perm.codename}"] = perm
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[p] for p in perms if p in by_name])
