"""Roles are Django groups; staff users and API keys both act through them.

``ROLE_PERMISSIONS`` is the single table of who may do what. ``roles_sync``
makes the groups match it and runs after every migrate. The README's "Roles
and limits" section shows it per endpoint, and
``tests/oms/test_role_matrix.py`` checks every endpoint against that table.

Receipt, QC, inspections and repairs (``returns.inspect_return``) belong to
the warehouse, so no single CX key can create a return, receive it, pass it
and so release a refund; a supervisor may act on the warehouse's record, and
the timeline says so (``EventActor.on_duty``).
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
        "refunds.view_wallet",
        "refunds.redeem_store_credit",
        *_READ_STOCK,
    ],
    "warehouse": [
        *_READ_ORDERS,
        "orders.add_shipment",
        "orders.change_shipment",
        "returns.view_return",
        "returns.record_return_event",
        "returns.inspect_return",
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
        "refunds.view_recovery",
        "refunds.view_wallet",
        *_READ_STOCK,
    ],
    "supervisor": [
        *_READ_ORDERS,
        "orders.change_order",
        "orders.add_contactlog",
        "returns.add_return",
        "returns.view_return",
        "returns.record_return_event",
        "returns.inspect_return",
        "returns.review_return",
        "returns.override_eligibility",
        "refunds.view_refund",
        "refunds.view_recovery",
        "refunds.change_recovery",
        "refunds.write_off_recovery",
        "refunds.view_wallet",
        "refunds.grant_goodwill_credit",
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
        "refunds.view_recovery",
        "refunds.change_recovery",
        "refunds.view_creditnote",
        "refunds.view_payout",
        "refunds.change_payout",
        "refunds.view_storecredit",
        "refunds.view_wallet",
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
        "returns.add_returnpolicy",
        "returns.view_returnpolicy",
        "returns.view_returnreason",
        "returns.add_returnreason",
        "returns.change_returnreason",
        "sla.view_slarule",
        "sla.add_slarule",
        "sla.change_slarule",
        "sla.view_businesscalendar",
        "sla.add_businesscalendar",
        "sla.change_businesscalendar",
        "sla.view_holiday",
        "sla.add_holiday",
        "sla.change_holiday",
        "sla.delete_holiday",
        "intake.view_webhookdelivery",
        "orders.view_outboundmessage",
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


# Duties that belong to one role. Anyone else allowed to do them (a
# supervisor, a superuser) acts on that role's record, and the timeline says so.
WAREHOUSE = "warehouse"


def user_roles(user) -> set[str]:
    """The roles (groups) a staff user or an API key's user holds."""
    if user is None or not getattr(user, "pk", None):
        return set()
    cached = getattr(user, "_oms_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._oms_roles = cached
    return cached


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
