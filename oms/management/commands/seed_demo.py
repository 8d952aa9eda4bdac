"""Demo data: staff logins, channels, locations, a catalogue, stock and a few
hundred orders in every forward state, all written through the services.

Idempotent: every piece is looked up before it is created (users by username,
SKUs and locations by code, opening stock by its ledger note, orders by their
``DEMO-`` external id), so a second run changes nothing and says so, and a run
that was interrupted picks up where it stopped. Each order, with its shipment
and delivery, is one transaction.

Orders are generated from ``random.Random(42)``: the same catalogue, customers,
baskets, tenders and outcomes every time (dates are relative to today).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from flows.delivery import shipment_deliver
from inventory.models import SKU, Location, Product, StockMovement
from inventory.services import location_upsert, sku_upsert, stock_adjust
from inventory.states import Bucket, LocationKind
from oms.roles import roles_sync
from orders.allocation import LineInput, allocate_order
from orders.events import EventActor
from orders.models import Channel, ContactLog, Order, Payment, Shipment, Unit
from orders.services import (
    LineData,
    OrderData,
    PaymentData,
    order_create,
    shipment_create,
)
from orders.states import PaymentMethod, UnitState
from returns.models import Return

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


@dataclass
class Plan:
    """Everything random about one order, drawn up front so that the stream of
    random numbers does not depend on what the database already holds."""

    external_id: str
    channel: str
    placed_at: datetime
    customer: dict
    lines: list[LineData]
    order_discount: Decimal
    shipping: Decimal
    payments: list[PaymentData]
    ship_from: str | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    refuse: str  # "", "one" or "all"
    contact: str | None
    extra: dict = field(default_factory=dict)


@contextmanager
def clock(at: datetime):
    """Run services as if it were ``at``.

    The services stamp shipments, timeline rows (``recorded_at``) and their own
    events with the current time. Seeding two months of history in one go with
    the real clock would give every order a shipment dated today and timelines
    out of order, so the demo runs each step at its simulated time instead.
    """
    with mock.patch.object(timezone, "now", return_value=at):
        yield


def _money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


class Command(BaseCommand):
    help = "Load demo users, catalogue, stock and orders (idempotent; safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--orders", type=int, default=300, help="How many demo orders (default 300)."
        )

    def handle(self, *args, orders: int, **options):
        started = time.monotonic()
        self.created: Counter = Counter()
        self.actor = EventActor.system("demo")
        rng = random.Random(SEED)

        self._users()
        channels = self._channels()
        locations = self._locations()
        variants = self._catalogue()
        self._stock(variants, locations)
        plans = self._plan(rng, orders, variants, channels)
        self.now = timezone.now()
        self._orders(plans)
        from oms.demo_returns import mark_demo_messages_sent

        mark_demo_messages_sent(Order.objects.filter(external_id__startswith=EXTERNAL_PREFIX))

        elapsed = time.monotonic() - started
        if not self.created:
            self.stdout.write(
                self.style.WARNING(
                    "Demo data already present: nothing changed "
                    f"({Order.objects.filter(external_id__startswith=EXTERNAL_PREFIX).count()} "
                    "demo orders)."
                )
            )
        else:
            self._summary(elapsed)
        self._logins()

    # --- reference data ------------------------------------------------------------

    def _users(self) -> None:
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
                self.created["users"] += 1
            if group and not user.groups.filter(name=group).exists():
                user.groups.add(groups[group])
                self.created["group memberships"] += 1
        self.stdout.write("users: ok")

    def _channels(self) -> list[str]:
        for code, name in CHANNELS:
            _, created = Channel.objects.get_or_create(
                code=code, defaults={"name": name, "platform": Channel.Platform.NATIVE}
            )
            if created:
                self.created["channels"] += 1
        self.stdout.write("channels: ok")
        return [code for code, _ in CHANNELS]

    def _locations(self) -> dict[str, Location]:
        existing = Location.objects.in_bulk([c for c, *_ in LOCATIONS], field_name="code")
        has_default = Location.objects.filter(is_default=True).exists()
        for code, name, kind, default in LOCATIONS:
            if code in existing:
                continue
            # Do not take the default flag from a location someone already set.
            location_upsert(code=code, name=name, kind=kind, is_default=default and not has_default)
            self.created["locations"] += 1
        self.stdout.write("locations: ok")
        return Location.objects.in_bulk([c for c, *_ in LOCATIONS], field_name="code")

    def _catalogue(self) -> list[Variant]:
        variants = []
        rng = random.Random(SEED + 1)  # popularity; separate so orders stay stable
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
            self.created["skus"] += 1
        for _, product, name, *_ in CATALOGUE:
            Product.objects.filter(code=product, name=product).update(name=name)
        self.stdout.write(f"catalogue: {len(CATALOGUE)} products, {len(variants)} SKUs")
        return variants

    def _stock(self, variants: list[Variant], locations: dict[str, Location]) -> None:
        if StockMovement.objects.filter(note=STOCK_NOTE).exists():
            self.stdout.write("stock: already loaded")
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
                        self.created["stock units"] += qty
        self.stdout.write(f"stock: {self.created['stock units']} sellable units loaded")

    # --- orders ------------------------------------------------------------------------

    def _plan(self, rng: random.Random, n: int, variants: list[Variant], channels) -> list[Plan]:
        now = timezone.now().replace(microsecond=0)
        customers = []
        for i in range(max(8, n * 2 // 5)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            customers.append(
                {
                    "name": f"{first} {last}",
                    "email": f"{first}.{last}.{i + 1}@example.com".lower(),
                    "phone": f"+9198{rng.randrange(10**8):08d}",
                }
            )
        by_product: dict[str, list[Variant]] = {}
        for v in variants:
            by_product.setdefault(v.product, []).append(v)
        offsets = sorted((rng.uniform(0, 60 * 86400) for _ in range(n)), reverse=True)
        plans = []
        for i, offset in enumerate(offsets):
            placed_at = now - timedelta(seconds=int(offset))
            lines = self._basket(rng, variants, by_product)
            order_discount = Decimal("0")
            value = sum((ln.unit_price * ln.quantity - ln.discount for ln in lines), Decimal("0"))
            if rng.random() < 0.15:
                coupon = rng.choice([Decimal("100"), Decimal("200"), value / 10])
                order_discount = _money(min(coupon, value / 2).to_integral_value())
            alloc = allocate_order(
                currency=CURRENCY,
                prices_include_tax=True,
                lines=[
                    LineInput(ln.unit_price, ln.quantity, ln.tax_rate, ln.discount) for ln in lines
                ],
                order_discount=order_discount,
            )
            shipping = Decimal("0.00")
            if alloc.items_total < Decimal("999"):
                shipping = rng.choice([Decimal("49.00"), Decimal("99.00")])
            elif rng.random() < 0.1:  # express delivery
                shipping = Decimal("99.00")
            total = alloc.items_total + shipping
            payments = self._tender(rng, total, i)
            age = now - placed_at
            shipped_at = delivered_at = None
            refuse = ""
            if age > timedelta(days=1) and rng.random() < 0.72:
                shipped_at = placed_at + timedelta(seconds=int(rng.uniform(4, 24) * 3600))
                delivered = shipped_at + timedelta(seconds=int(rng.uniform(30, 120) * 3600))
                if delivered < now - timedelta(hours=1) and rng.random() < 0.9:
                    delivered_at = delivered
                    roll = rng.random()
                    cod = payments[0].method == PaymentMethod.COD
                    if cod and roll < 0.03:
                        refuse = "all"
                    elif roll < 0.12:
                        refuse = "one"
            contact = rng.choice(CONTACT_NOTES) if rng.random() < 0.06 else None
            plans.append(
                Plan(
                    external_id=f"{EXTERNAL_PREFIX}{i + 1:05d}",
                    channel=rng.choices(channels, weights=CHANNEL_WEIGHTS)[0],
                    placed_at=placed_at,
                    customer=rng.choice(customers),
                    lines=lines,
                    order_discount=order_discount,
                    shipping=shipping,
                    payments=payments,
                    ship_from=rng.choices([None, "wh-delhi", "store-bandra"], weights=[80, 17, 3])[
                        0
                    ],
                    shipped_at=shipped_at,
                    delivered_at=delivered_at,
                    refuse=refuse,
                    contact=contact,
                )
            )
        return plans

    def _basket(self, rng, variants, by_product) -> list[LineData]:
        weights = [v.weight for v in variants]
        n_lines = rng.choices([1, 2, 3], weights=[50, 35, 15])[0]
        chosen: list[Variant] = []
        if rng.random() < 0.12:
            # Bracketing: two sizes of the same item, to keep one.
            first = rng.choices(variants, weights=weights)[0]
            siblings = [v for v in by_product[first.product] if v.code != first.code]
            chosen = [first, rng.choice(siblings)]
        while len(chosen) < n_lines:
            pick = rng.choices(variants, weights=weights)[0]
            if pick not in chosen:
                chosen.append(pick)
        lines = []
        for v in chosen:
            qty = rng.choices([1, 2, 3], weights=[75, 20, 5])[0]
            discount = Decimal("0")
            if rng.random() < 0.2:
                pct = rng.choice([10, 15, 20])
                discount = _money((v.price * qty * pct / 100).to_integral_value())
            lines.append(
                LineData(
                    sku=v.code,
                    quantity=qty,
                    unit_price=v.price,
                    tax_rate=v.tax_rate,
                    discount=discount,
                )
            )
        return lines

    def _tender(self, rng, total: Decimal, i: int) -> list[PaymentData]:
        roll = rng.random()
        ref = f"pay_demo{i + 1:05d}"
        if roll < 0.35:
            return [PaymentData(method=PaymentMethod.COD, amount=total)]
        if roll < 0.42 and total > Decimal("200"):
            gift = min(rng.choice([Decimal("250"), Decimal("500"), Decimal("1000")]), total / 2)
            gift = _money(gift.to_integral_value())
            return [
                PaymentData(
                    method=PaymentMethod.GIFT_CARD,
                    amount=gift,
                    gateway="giftcards",
                    reference=f"gc_demo{i + 1:05d}",
                ),
                PaymentData(
                    method=PaymentMethod.CARD,
                    amount=total - gift,
                    gateway="razorpay",
                    reference=ref,
                ),
            ]
        method = rng.choices(
            [PaymentMethod.CARD, PaymentMethod.UPI, PaymentMethod.WALLET], weights=[40, 45, 15]
        )[0]
        return [PaymentData(method=method, amount=total, gateway="razorpay", reference=ref)]

    def _orders(self, plans: list[Plan]) -> None:
        total = len(plans)
        step = max(1, min(50, total // 10))
        agent = get_user_model().objects.filter(username="agent").first()
        for done, plan in enumerate(plans, start=1):
            with transaction.atomic():
                self._order(plan, agent)
            if done % step == 0 or done == total:
                self.stdout.write(f"orders: {done}/{total}")
                self.stdout.flush()

    def _order(self, plan: Plan, agent) -> None:
        data = OrderData(
            channel=plan.channel,
            external_id=plan.external_id,
            currency=CURRENCY,
            placed_at=plan.placed_at,
            lines=plan.lines,
            payments=plan.payments,
            customer=plan.customer,
            order_discount=plan.order_discount,
            shipping=plan.shipping,
            ship_from=plan.ship_from,
            raw={"source": "seed_demo"},
        )
        with clock(plan.placed_at):
            order, created = order_create(data=data, actor=self.actor)
        if not created:
            return
        self.created["orders"] += 1
        if plan.contact:
            with clock(plan.placed_at + timedelta(hours=2)):
                ContactLog.objects.create(
                    order=order, channel="phone", summary=plan.contact, user=agent
                )
        if plan.shipped_at is None:
            return
        units = list(
            Unit.objects.filter(order=order, state=UnitState.ALLOCATED)
            .order_by("pk")
            .values_list("pk", "sku__category")
        )
        if not units:
            return  # everything on backorder
        serials = {
            pk: f"SN{order.pk:06d}{pk:06d}" for pk, category in units if category == "electronics"
        }
        with clock(plan.shipped_at):
            shipment = shipment_create(
                order=order,
                unit_ids=[pk for pk, _ in units],
                actor=self.actor,
                tracking_number=f"DEMO{order.pk:08d}",
                serials=serials or None,
            )
        if plan.delivered_at is None:
            return
        refused: list[int] = []
        if plan.refuse == "all":
            refused = [pk for pk, _ in units]
        elif plan.refuse == "one" and len(units) > 1:
            refused = [units[-1][0]]
        with clock(plan.delivered_at):
            shipment_deliver(
                shipment_id=shipment.pk,
                actor=EventActor.system("courier (demo)"),
                delivered_at=plan.delivered_at,
                refused_unit_ids=refused,
                external_id=f"demo-delivery-{shipment.pk}",
            )
        from oms.demo_returns import seed_order_returns

        self.created["return steps"] += seed_order_returns(order, clock, self.now)

    # --- output ------------------------------------------------------------------------

    def _summary(self, elapsed: float) -> None:
        demo = Order.objects.filter(external_id__startswith=EXTERNAL_PREFIX)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {elapsed:.1f} s."))
        made = ", ".join(f"{k}: {v}" for k, v in self.created.items())
        self.stdout.write(f"  created: {made}")
        by_channel = demo.values_list("channel__code").annotate(n=Count("pk")).order_by()
        self.stdout.write(
            f"  demo orders: {demo.count()} ("
            + ", ".join(f"{c} {n}" for c, n in sorted(by_channel))
            + ")"
        )
        units = (
            Unit.objects.filter(order__in=demo).values_list("state").annotate(n=Count("pk"))
        ).order_by()
        self.stdout.write("  units: " + ", ".join(f"{s} {n}" for s, n in sorted(units)))
        shipments = (
            Shipment.objects.filter(order__in=demo).values_list("state").annotate(n=Count("pk"))
        ).order_by()
        returns = (
            Return.objects.filter(order__in=demo)
            .values_list("type", "state")
            .annotate(n=Count("pk"))
            .order_by()
        )
        self.stdout.write("  returns: " + ", ".join(f"{t}/{s} {n}" for t, s, n in sorted(returns)))
        self.stdout.write("  shipments: " + ", ".join(f"{s} {n}" for s, n in sorted(shipments)))
        payments = (
            Payment.objects.filter(order__in=demo)
            .values_list("method", "state")
            .annotate(n=Count("pk"))
        ).order_by()
        self.stdout.write(
            "  payments: " + ", ".join(f"{m}/{s} {n}" for m, s, n in sorted(payments))
        )

    def _logins(self) -> None:
        self.stdout.write("")
        self.stdout.write("Demo logins (admin at /admin/):")
        for username, password, superuser, group in USERS:
            role = "superuser" if superuser else group
            self.stdout.write(f"  {username:<11} {password:<22} {role}")
