"""The demo's reference data: staff logins, channels, locations, a catalogue
and opening stock. Each piece is looked up before it is created."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from inventory.models import SKU, Location, Product, StockMovement
from inventory.services import location_upsert, sku_upsert, stock_adjust
from inventory.states import Bucket, LocationKind
from oms.roles import roles_sync
from orders.models import Channel

EXTERNAL_PREFIX = "DEMO-"
STOCK_NOTE = "demo seed: opening stock"
CURRENCY = "INR"
SEED = 42

USERS = [
    # username, password, superuser, group
    ("admin", "admin-demo-pass", True, None),
    ("agent", "agent-demo-pass", False, "agent"),
    ("supervisor", "supervisor-demo-pass", False, "supervisor"),
    ("ops", "ops-demo-pass", False, "ops"),
    ("finance", "finance-demo-pass", False, "finance"),
    ("warehouse", "warehouse-demo-pass", False, "warehouse"),
]

CHANNELS = [
    ("web", "Web store"),
    ("app", "Mobile app"),
    ("marketplace", "Marketplace"),
]
CHANNEL_WEIGHTS = [55, 30, 15]

LOCATIONS = [
    # code, name, kind, default
    ("wh-mumbai", "Mumbai warehouse", LocationKind.WAREHOUSE, True),
    ("wh-delhi", "Delhi warehouse", LocationKind.WAREHOUSE, False),
    ("store-bandra", "Bandra store", LocationKind.STORE, False),
]

# code prefix, product code, name, category, price, tax rate, variants,
# attribute names; electronics carry a 12-month warranty and innerwear cannot
# be returned.
CATALOGUE = [
    ("OXF", "oxford-shirt", "Oxford cotton shirt", "apparel", "1499.00", "12",
     ["S", "M", "L", "XL"], {"colour": "white"}),
    ("CHN", "slim-chinos", "Slim fit chinos", "apparel", "1999.00", "12",
     ["30", "32", "34", "36"], {"colour": "khaki"}),
    ("TEE", "crew-tee", "Crew neck tee", "apparel", "799.00", "5",
     ["S", "M", "L", "XL", "XXL"], {"colour": "black"}),
    ("KRT", "linen-kurta", "Linen kurta", "apparel", "2499.00", "12",
     ["S", "M", "L"], {"colour": "indigo"}),
    ("BRF", "boxer-briefs", "Cotton boxer briefs (pack of 3)", "innerwear", "899.00", "5",
     ["M", "L", "XL"], {"colour": "assorted"}),
    ("RUN", "runner-sneakers", "Everyday runner sneakers", "footwear", "3499.00", "18",
     ["UK7", "UK8", "UK9", "UK10", "UK11"], {"colour": "grey"}),
    ("SDL", "leather-sandals", "Leather sandals", "footwear", "1799.00", "12",
     ["UK7", "UK8", "UK9", "UK10"], {"colour": "tan"}),
    ("SLP", "canvas-slip-ons", "Canvas slip-ons", "footwear", "1299.00", "12",
     ["UK7", "UK8", "UK9"], {"colour": "navy"}),
    ("BLT", "leather-belt", "Leather belt", "accessories", "999.00", "12",
     ["32", "34", "36"], {"colour": "brown"}),
    ("TOT", "canvas-tote", "Canvas tote bag", "accessories", "1199.00", "12",
     ["NATURAL", "BLACK", "OLIVE"], {}),
    ("SUN", "aviator-sunglasses", "Aviator sunglasses", "accessories", "2299.00", "18",
     ["GOLD", "BLACK", "SILVER"], {}),
    ("EBD", "wireless-earbuds", "Wireless earbuds", "electronics", "4999.00", "18",
     ["BLACK", "WHITE", "BLUE"], {}),
    ("FIT", "fitness-band", "Fitness band", "electronics", "2999.00", "18",
     ["BLACK", "GREY", "PINK"], {}),
]  # fmt: skip

# Popular SKUs with almost no stock, so some units stay on backorder ("ordered").
SHORT_SKUS = {"EBD-BLUE": 2, "RUN-UK9": 3}
OPENING_STOCK = {"wh-mumbai": 80, "wh-delhi": 30, "store-bandra": 6}

FIRST_NAMES = [
    "Aarav", "Vivaan", "Aditya", "Ananya", "Diya", "Ishaan", "Kavya", "Meera", "Rohan",
    "Saanvi", "Arjun", "Priya", "Kabir", "Nisha", "Rahul", "Sneha", "Vikram", "Pooja",
    "Farhan", "Zoya", "Harpreet", "Lakshmi", "Tenzin", "Joseph",
]  # fmt: skip
LAST_NAMES = [
    "Sharma", "Patel", "Iyer", "Reddy", "Khan", "Singh", "Nair", "Gupta", "Das", "Menon",
    "Fernandes", "Chatterjee", "Joshi", "Kulkarni", "Bhat", "Sethi",
]  # fmt: skip
CONTACT_NOTES = [
    "Asked when the order ships",
    "Wants to change the delivery address",
    "Asked about the return window",
    "Courier did not call before delivery",
    "Asked how to exchange a size",
]


@dataclass
class Variant:
    code: str
    product: str
    name: str
    category: str
    price: Decimal
    tax_rate: Decimal
    attributes: dict
    returnable: bool
    warranty_months: int
    weight: int


def users_seed(tally: Counter, stdout) -> None:
    roles_sync()
    User = get_user_model()
    groups = {g.name: g for g in Group.objects.all()}
    for username, password, superuser, group in USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "is_staff": True,
                "is_superuser": superuser,
                "email": f"{username}@demo.oms.local",
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
            tally["users"] += 1
        if group and not user.groups.filter(name=group).exists():
            user.groups.add(groups[group])
            tally["group memberships"] += 1
    stdout.write("users: ok")


def channels_seed(tally: Counter, stdout) -> list[str]:
    for code, name in CHANNELS:
        _, created = Channel.objects.get_or_create(
            code=code, defaults={"name": name, "platform": Channel.Platform.NATIVE}
        )
        if created:
            tally["channels"] += 1
    stdout.write("channels: ok")
    return [code for code, _ in CHANNELS]


def locations_seed(tally: Counter, stdout) -> dict[str, Location]:
    existing = Location.objects.in_bulk([c for c, *_ in LOCATIONS], field_name="code")
    has_default = Location.objects.filter(is_default=True).exists()
    for code, name, kind, default in LOCATIONS:
        if code in existing:
            continue
        # Do not take the default flag from a location someone already set.
        location_upsert(code=code, name=name, kind=kind, is_default=default and not has_default)
        tally["locations"] += 1
    stdout.write("locations: ok")
    return Location.objects.in_bulk([c for c, *_ in LOCATIONS], field_name="code")


def catalogue_seed(tally: Counter, stdout) -> list[Variant]:
    variants = []
    rng = random.Random(SEED + 1)  # noqa: S311 - popularity; separate so orders stay stable
    for prefix, product, name, category, price, tax, options, attrs in CATALOGUE:
        kind = "colour" if category in {"accessories", "electronics"} else "size"
        for option in options:
            attributes = {**attrs, kind: option.title() if kind == "colour" else option}
            variants.append(
                Variant(
                    code=f"{prefix}-{option}",
                    product=product,
                    name=f"{name}, {option.title() if kind == 'colour' else option}",
                    category=category,
                    price=Decimal(price),
                    tax_rate=Decimal(tax),
                    attributes=attributes,
                    returnable=category != "innerwear",
                    warranty_months=12 if category == "electronics" else 0,
                    weight=rng.choice([1, 2, 3, 4]),
                )
            )
    for code in SHORT_SKUS:  # popular, so they do run out
        next(v for v in variants if v.code == code).weight = 6
    existing = set(
        SKU.objects.filter(code__in=[v.code for v in variants]).values_list("code", flat=True)
    )
    for v in variants:
        if v.code in existing:
            continue
        sku_upsert(
            code=v.code,
            product=v.product,
            name=v.name,
            price=v.price,
            tax_rate=v.tax_rate,
            attributes=v.attributes,
            category=v.category,
            returnable=v.returnable,
            warranty_months=v.warranty_months,
        )
        tally["skus"] += 1
    for _, product, name, *_ in CATALOGUE:
        Product.objects.filter(code=product, name=product).update(name=name)
    stdout.write(f"catalogue: {len(CATALOGUE)} products, {len(variants)} SKUs")
    return variants


def stock_seed(
    variants: list[Variant], locations: dict[str, Location], tally: Counter, stdout
) -> None:
    if StockMovement.objects.filter(note=STOCK_NOTE).exists():
        stdout.write("stock: already loaded")
        return
    skus = SKU.objects.in_bulk([v.code for v in variants], field_name="code")
    with transaction.atomic():
        for v in variants:
            for loc_code, qty in OPENING_STOCK.items():
                if v.code in SHORT_SKUS:
                    qty = SHORT_SKUS[v.code] if loc_code == "wh-mumbai" else 0
                if qty:
                    stock_adjust(
                        sku=skus[v.code],
                        location=locations[loc_code],
                        bucket=Bucket.SELLABLE,
                        quantity=qty,
                        reason=STOCK_NOTE,
                    )
                    tally["stock units"] += qty
    stdout.write(f"stock: {tally['stock units']} sellable units loaded")
