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

from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone

from demo.catalogue import (
    EXTERNAL_PREFIX,
    SEED,
    USERS,
    catalogue_seed,
    channels_seed,
    locations_seed,
    stock_seed,
    users_seed,
)
from demo.orders import orders_plan, orders_seed
from demo.returns import mark_demo_messages_sent
from orders.events import EventActor
from orders.models import Order, Payment, Shipment, Unit
from returns.models import Return


class Command(BaseCommand):
    help = "Load demo users, catalogue, stock and orders (idempotent; safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--orders", type=int, default=300, help="How many demo orders (default 300)."
        )

    def handle(self, *args, orders: int, **options):
        started = time.monotonic()
        created: Counter = Counter()
        rng = random.Random(SEED)

        users_seed(created, self.stdout)
        channels = channels_seed(created, self.stdout)
        locations = locations_seed(created, self.stdout)
        variants = catalogue_seed(created, self.stdout)
        stock_seed(variants, locations, created, self.stdout)
        plans = orders_plan(rng, orders, variants, channels)
        orders_seed(
            plans,
            tally=created,
            stdout=self.stdout,
            actor=EventActor.system("demo"),
            now=timezone.now(),
        )
        mark_demo_messages_sent(Order.objects.filter(external_id__startswith=EXTERNAL_PREFIX))

        elapsed = time.monotonic() - started
        if not created:
            self.stdout.write(
                self.style.WARNING(
                    "Demo data already present: nothing changed "
                    f"({Order.objects.filter(external_id__startswith=EXTERNAL_PREFIX).count()} "
                    "demo orders)."
                )
            )
        else:
            self._summary(created, elapsed)
        self._logins()

    # --- output ------------------------------------------------------------------------

    def _summary(self, created: Counter, elapsed: float) -> None:
        demo = Order.objects.filter(external_id__startswith=EXTERNAL_PREFIX)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {elapsed:.1f} s."))
        made = ", ".join(f"{k}: {v}" for k, v in created.items())
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
