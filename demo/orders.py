"""The demo's orders: drawn up front from one random stream (``orders_plan``),
then each created, shipped and delivered at its simulated time, one
transaction per order, with its returns (``demo.returns``)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from flows.delivery import shipment_deliver
from orders.allocation import LineInput, allocate_order
from orders.events import EventActor
from orders.models import ContactLog, Unit
from orders.services import LineData, OrderData, PaymentData, order_create, shipment_create
from orders.states import PaymentMethod, UnitState

from .catalogue import (
    CHANNEL_WEIGHTS,
    CONTACT_NOTES,
    CURRENCY,
    EXTERNAL_PREFIX,
    FIRST_NAMES,
    LAST_NAMES,
    Variant,
)
from .clock import clock
from .returns import seed_order_returns


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


def _money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def orders_plan(rng: random.Random, n: int, variants: list[Variant], channels) -> list[Plan]:
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
        lines = _basket(rng, variants, by_product)
        order_discount = Decimal("0")
        value = sum((ln.unit_price * ln.quantity - ln.discount for ln in lines), Decimal("0"))
        if rng.random() < 0.15:
            coupon = rng.choice([Decimal("100"), Decimal("200"), value / 10])
            order_discount = _money(min(coupon, value / 2).to_integral_value())
        alloc = allocate_order(
            currency=CURRENCY,
            prices_include_tax=True,
            lines=[LineInput(ln.unit_price, ln.quantity, ln.tax_rate, ln.discount) for ln in lines],
            order_discount=order_discount,
        )
        shipping = Decimal("0.00")
        if alloc.items_total < Decimal("999"):
            shipping = rng.choice([Decimal("49.00"), Decimal("99.00")])
        elif rng.random() < 0.1:  # express delivery
            shipping = Decimal("99.00")
        total = alloc.items_total + shipping
        payments = _tender(rng, total, i)
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
                ship_from=rng.choices([None, "wh-delhi", "store-bandra"], weights=[80, 17, 3])[0],
                shipped_at=shipped_at,
                delivered_at=delivered_at,
                refuse=refuse,
                contact=contact,
            )
        )
    return plans


def _basket(rng, variants, by_product) -> list[LineData]:
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


def _tender(rng, total: Decimal, i: int) -> list[PaymentData]:
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


def orders_seed(
    plans: list[Plan], *, tally: Counter, stdout, actor: EventActor, now: datetime
) -> None:
    total = len(plans)
    step = max(1, min(50, total // 10))
    agent = get_user_model().objects.filter(username="agent").first()
    for done, plan in enumerate(plans, start=1):
        with transaction.atomic():
            _order(plan, agent, tally=tally, actor=actor, now=now)
        if done % step == 0 or done == total:
            stdout.write(f"orders: {done}/{total}")
            stdout.flush()


def _order(plan: Plan, agent, *, tally: Counter, actor: EventActor, now: datetime) -> None:
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
        order, created = order_create(data=data, actor=actor)
    if not created:
        return
    tally["orders"] += 1
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
            actor=actor,
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
    tally["return steps"] += seed_order_returns(order, clock, now)
