"""Orders, users and held returns for the portal, console and browser tests."""

from __future__ import annotations

import importlib
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

CUSTOMER = {"email": "asha.rao@example.com", "phone": "+919812345678", "name": "Asha Rao"}
OTHER = {"email": "vikram.n@example.com", "phone": "+919800000001", "name": "Vikram N"}


def seed_reference_data() -> None:
    """Reason codes come from a data migration, which a transactional test's
    flush removes; put them back (idempotent). Groups are synced too."""
    from oms.roles import roles_sync
    from returns.models import ReturnReason

    seed = importlib.import_module("returns.migrations.0002_reasons_and_policy")
    for code, label, merchant_fault, defect in seed.REASONS:
        ReturnReason.objects.get_or_create(
            code=code, defaults={"label": label, "merchant_fault": merchant_fault, "defect": defect}
        )
    roles_sync()


def three_item_order(make_sku, make_order, deliver_order, *, customer=None, cod=False):
    """A delivered order of three items: a tee (with other sizes in stock),
    chinos and a tote bag."""
    from inventory.models import SKU

    if not SKU.objects.filter(code="TEE-M").exists():
        for size in ("S", "M", "L", "XL"):
            make_sku(
                f"TEE-{size}",
                Decimal("799.00"),
                product="crew-tee",
                name=f"Crew neck tee, {size}",
                attributes={"size": size},
                stock=0 if size == "XL" else 20,
            )
        make_sku(
            "CHN-32", Decimal("1999.00"), product="chinos", name="Slim fit chinos, 32", stock=20
        )
        make_sku(
            "TOT-NATURAL", Decimal("1199.00"), product="tote", name="Canvas tote bag", stock=20
        )
    order = make_order(
        [("TEE-M", 1), ("CHN-32", 1), ("TOT-NATURAL", 1)],
        customer=dict(customer or CUSTOMER),
        shipping=Decimal("0"),
        cod=cod,
    )
    deliver_order(order, cod_collected=order.grand_total if cod else None)
    order.refresh_from_db()
    return order


PASSWORD = "pw-12345!"


def staff_user(username: str, group: str | None, *, is_staff: bool = True, password=None):
    user = get_user_model().objects.create_user(
        username=username,
        password=password or PASSWORD,
        is_staff=is_staff,
        email=f"{username}@example.com",
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def strict_policy():
    """A new policy version under which any item over 500 is held for review."""
    from returns.models import ReturnPolicy
    from returns.services import policy_current

    current = policy_current()
    return ReturnPolicy.objects.create(
        version=current.version + 1, risk_threshold=25, high_value_item=Decimal("500.00")
    )


def held_return(order, unit_ids, actor):
    from flows.return_intake import return_create
    from returns.services import ItemRequest, ReturnRequest

    strict_policy()
    return return_create(
        ReturnRequest(
            order=order.number,
            channel="api",
            items=[
                ItemRequest(unit=u, reason="changed_mind", resolution="refund") for u in unit_ids
            ],
        ),
        actor=actor,
    )
