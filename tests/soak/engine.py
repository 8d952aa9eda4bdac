"""A randomized soak of the whole order → delivery → return → refund flow.

Shared by the CI test (``tests/soak/test_soak.py``, a few hundred operations)
and the full run (``bench/soak.py``, 10,000 and more). Several threads, each
with its own database connection and API clients (real API keys, one per
role), pick their targets among the most recent orders, shipments and returns,
so they work on the same orders at the same time. Every write goes through the
REST API:

- orders (random lines, discounts, shipping, card / split / UPI+wallet / cash
  on delivery), the same order submitted twice;
- shipments, deliveries with units refused at the door, redelivered courier
  events;
- cancellations of unshipped units;
- returns of random subsets of delivered units: refunds, exchanges to a dearer
  or cheaper variant, replacements, keep-it, partial credit for defects, drop
  off in a store, bank transfers;
- return events in a valid order (pickup, receipt, QC pass or fail, collecting
  a difference, dispatching an exchange, cancelling, converting), review
  decisions, refund retries;
- invalid operations (events out of order or on closed returns, returns of
  units already returned, over-quantities, double deliveries, cancelling what
  shipped, retrying an issued refund): each must be refused with a 4xx in the
  error shape.

Any 5xx is a failure. After the run a drain walks every open return to its
end, delivers what is in transit, retries what is pending and flushes the
outbox; then (and a few times during the run, on a consistent snapshot) the
invariants of DOMAIN.md are checked with SQL/ORM reads (see ``check``).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from io import StringIO

ROLES = ("storefront", "warehouse", "supervisor", "finance")
OPEN_RETURN = ("pending_review", "approved", "in_transit", "received")
CLOSED_RETURN = ("completed", "cancelled", "rejected")
FINAL_UNIT = ("cancelled", "refunded", "replaced", "kept", "not_charged")
# (code, product, price, tax rate %, stock). Few of TEE-L and MUG so that
# orders go on backorder and exchanges run out of stock.
CATALOGUE = [
    ("TEE-S", "tee", "799.00", "5", 400),
    ("TEE-M", "tee", "999.00", "5", 400),
    ("TEE-L", "tee", "1199.00", "5", 25),
    ("JEANS-30", "jeans", "2499.00", "12", 300),
    ("JEANS-32", "jeans", "2499.00", "12", 300),
    ("CAP", "cap", "499.00", "18", 300),
    ("MUG", "mug", "299.50", "18", 15),
]
REFUND_REASONS = [
    "changed_mind",
    "size_too_small",
    "size_too_large",
    "not_as_described",
    "wrong_item",
    "damaged_in_transit",
]
TENDERS = ["card", "card", "card+gift_card", "upi+wallet", "cod", "gift_card+cod"]
RECENT = 40  # targets are picked among this many most recent rows


@dataclass
class Figures:
    """What the run did. Thread-safe through ``lock``."""

    ops: Counter = field(default_factory=Counter)  # kind → operations
    accepted: Counter = field(default_factory=Counter)  # kind → 2xx
    refused: Counter = field(default_factory=Counter)  # kind → 4xx
    statuses: Counter = field(default_factory=Counter)  # (kind, status) → n
    codes: Counter = field(default_factory=Counter)  # (kind, error code) → n
    samples: dict = field(default_factory=dict)  # (kind, error code) → first message
    checks: int = 0  # individual invariant checks evaluated
    check_rounds: int = 0
    failures: list[str] = field(default_factory=list)
    pending_before_drain: dict = field(default_factory=dict)
    drained: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    @property
    def total(self) -> int:
        return sum(self.ops.values())

    def report(self, verbose: bool = False) -> str:
        out = [f"operations: {self.total} in {self.seconds:.1f} s"]
        if self.seconds:
            out[0] += f" ({self.total / self.seconds:.1f}/s)"
        out.append(f"{'kind':32} {'ops':>6} {'2xx':>6} {'4xx':>6} {'5xx':>5}")
        for kind in sorted(self.ops):
            five = sum(n for (k, s), n in self.statuses.items() if k == kind and s >= 500)
            out.append(
                f"{kind:32} {self.ops[kind]:6} {self.accepted[kind]:6} "
                f"{self.refused[kind]:6} {five:5}"
            )
        out.append(
            f"{'total':32} {self.total:6} {sum(self.accepted.values()):6} "
            f"{sum(self.refused.values()):6}"
        )
        bad = [k for k in self.ops if k.startswith("invalid:")]
        out.append(
            f"invalid operations: {sum(self.ops[k] for k in bad)}, refused with 4xx "
            f"{sum(self.refused[k] for k in bad)}, accepted {sum(self.accepted[k] for k in bad)}"
            " (only where another client made them valid first: qc_before_receipt)"
        )
        top = ", ".join(f"{k}:{c}={n}" for (k, c), n in self.codes.most_common(12))
        out.append(f"most frequent refusals: {top}")
        if verbose:
            out += [f"  {k}:{c}: {m}" for (k, c), m in sorted(self.samples.items(), key=str)]
        out.append(f"pending before drain: {self.pending_before_drain}")
        out.append(f"drain: {dict(self.drained)}")
        out.append(
            f"invariant checks: {self.checks} in {self.check_rounds} rounds; "
            f"failures: {len(self.failures)}"
        )
        out += [f"  FAILURE {f}" for f in self.failures[:50]]
        return "\n".join(out)


def make_api_keys() -> dict[str, str]:
    from django.core.management import call_command

    keys = {}
    for role in ROLES:
        out = StringIO()
        call_command("create_api_key", f"soak-{role}-{time.time_ns()}", role=role, stdout=out)
        keys[role] = out.getvalue().strip().splitlines()[-1]
    return keys


def setup_world() -> dict:
    """Locations, the web channel, SKUs with stock, a policy with keep-it,
    fees and instant refunds, and one API key per role."""
    from inventory.models import SKU
    from inventory.services import location_upsert, sku_upsert, stock_adjust
    from orders.models import Channel
    from returns.models import ReturnPolicy

    wh, _ = location_upsert(
        code="wh-main", name="Main warehouse", kind="warehouse", is_default=True
    )
    location_upsert(code="store-1", name="Store 1", kind="store")
    Channel.objects.get_or_create(code="web", defaults={"name": "Web store"})
    for code, product, price, tax, stock in CATALOGUE:
        sku, _ = sku_upsert(
            code=code, product=product, name=code, price=Decimal(price), tax_rate=Decimal(tax)
        )
        stock_adjust(sku=sku, location=wh, bucket="sellable", quantity=stock, reason="soak stock")
    last = ReturnPolicy.objects.order_by("-version").first()
    ReturnPolicy.objects.create(
        version=(last.version if last else 0) + 1,
        name="Soak",
        keep_it_max_value=Decimal("600.00"),
        instant_refund_max=Decimal("800.00"),
        restocking_fee=Decimal("25.00"),
        return_shipping_fee=Decimal("49.00"),
        # A repeat partial returner (35) waits for a supervisor's decision.
        risk_threshold=35,
    )
    return {
        "keys": make_api_keys(),
        "skus": {s.code: s for s in SKU.objects.filter(code__in=[c[0] for c in CATALOGUE])},
    }


class Worker:
    """One client thread: its own random stream, API clients and connection."""

    def __init__(self, n: int, world: dict, figures: Figures, seed: int, run: str):
        from rest_framework.test import APIClient

        self.n = n
        self.rng = random.Random(seed * 1000 + n)
        self.figures = figures
        self.world = world
        self.run_id = run
        self.counter = itertools.count(1)
        self.calls = 0
        self.api = {}
        for role, key in world["keys"].items():
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            self.api[role] = client

    # --- plumbing -------------------------------------------------------------

    def call(self, kind: str, role: str, method: str, path: str, body=None, *, expect="ok"):
        """Make one request and record it. ``expect``: "ok" (2xx wanted, a 4xx
        is a refusal: a race or a business rule), "invalid" (a 4xx wanted; a
        2xx is a failure) or "racy" (a 4xx wanted, a 2xx tolerated because
        another client may have made it valid meanwhile)."""
        client = self.api[role]
        self.calls += 1
        try:
            if method == "get":
                r = client.get(path)
            else:
                r = client.post(path, body if body is not None else {}, format="json")
        except Exception as exc:  # an exception escaping the view is a 500
            self.figures.fail(f"{kind}: {method.upper()} {path} raised {exc!r}")
            traceback.print_exc()
            self._count(kind, 500, None)
            return 500, None
        try:
            data = r.json()
        except Exception:
            data = None
        code = data.get("code") if isinstance(data, dict) else None
        self._count(kind, r.status_code, code)
        if r.status_code >= 400 and (kind, code) not in self.figures.samples:
            message = data.get("message") if isinstance(data, dict) else r.content[:200]
            self.figures.samples[(kind, code)] = f"{path}: {message}"
        if r.status_code >= 500:
            self.figures.fail(f"{kind}: {method.upper()} {path} {body!r} -> {r.status_code} {data}")
        elif r.status_code >= 400:
            if not (isinstance(data, dict) and {"code", "message"} <= set(data)):
                self.figures.fail(
                    f"{kind}: {path} -> {r.status_code} not in the error shape: {r.content[:200]!r}"
                )
        elif expect == "invalid":
            self.figures.fail(
                f"{kind}: {method.upper()} {path} {body!r} was accepted ({r.status_code})"
            )
        return r.status_code, data

    def _count(self, kind: str, status: int, code: str | None) -> None:
        with self.figures.lock:
            self.figures.ops[kind] += 1
            self.figures.statuses[(kind, status)] += 1
            if status < 400:
                self.figures.accepted[kind] += 1
            elif status < 500:
                self.figures.refused[kind] += 1
                self.figures.codes[(kind, code)] += 1

    def pick(self, qs):
        rows = list(qs[:RECENT])
        return self.rng.choice(rows) if rows else None

    # --- the loop -------------------------------------------------------------

    OPS = {
        "order_create": 14,
        "order_resubmit": 1,
        "ship": 10,
        "deliver": 10,
        "cancel": 4,
        "return_create": 14,
        "return_advance": 26,
        "return_cancel": 2,
        "refund_retry": 1,
        "payout": 2,
        "read": 4,
        "invalid": 15,
    }

    def step(self) -> None:
        kinds, weights = zip(*self.OPS.items(), strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        if not getattr(self, kind)():
            self.order_create()  # nothing to act on yet: make more to act on

    # --- orders, shipments, deliveries, cancellations -------------------------

    def order_body(self) -> dict:
        from orders.allocation import LineInput, allocate_order

        rng = self.rng
        skus = self.world["skus"]
        codes = rng.sample(sorted(skus), rng.randint(1, 3))
        include_tax = rng.random() < 0.8
        lines = []
        for code in codes:
            qty = rng.randint(1, 3)
            price = skus[code].price
            pct = rng.choice([0, 0, 5, 10, 15])
            discount = (price * qty * pct / 100).quantize(Decimal("0.01"))
            lines.append((code, qty, price, skus[code].tax_rate, discount))
        gross = sum((p * q - d for _, q, p, _, d in lines), Decimal("0"))
        order_discount = (gross * rng.choice([0, 0, 5, 12]) / 100).quantize(Decimal("0.01"))
        shipping = rng.choice([Decimal("0"), Decimal("49.00"), Decimal("99.50")])
        alloc = allocate_order(
            currency="INR",
            prices_include_tax=include_tax,
            lines=[LineInput(p, q, t, d) for _, q, p, t, d in lines],
            order_discount=order_discount,
        )
        total = alloc.items_total + shipping
        methods = rng.choice(TENDERS).split("+")
        if len(methods) == 2 and total >= Decimal("0.02"):
            first = (total * rng.randint(5, 60) / 100).quantize(Decimal("0.01"))
            first = min(max(first, Decimal("0.01")), total - Decimal("0.01"))
            payments = [(methods[0], first), (methods[1], total - first)]
        else:
            payments = [(methods[-1], total)]
        n = next(self.counter)
        customer = rng.randint(1, 60)  # repeat customers: some returns are held for review
        return {
            "channel": "web",
            "external_id": f"SOAK-{self.run_id}-{self.n}-{n}",
            "currency": "INR",
            "placed_at": "2026-01-01T10:00:00Z" if rng.random() < 0.01 else _now_iso(),
            "customer": {"email": f"soak{customer}@example.com", "name": f"Soak {customer}"},
            "prices_include_tax": include_tax,
            "lines": [
                {
                    "sku": c,
                    "quantity": q,
                    "unit_price": str(p),
                    "tax_rate": str(t),
                    "discount": str(d),
                }
                for c, q, p, t, d in lines
            ],
            "order_discount": str(order_discount),
            "shipping": str(shipping),
            "payments": [{"method": m, "amount": str(a)} for m, a in payments if a > 0],
        }

    def order_create(self) -> bool:
        body = self.order_body()
        status, data = self.call("order_create", "storefront", "post", "/api/v1/orders/", body)
        if status == 201:
            self.last_order = (body, data["number"])
        elif status < 500:
            self.figures.fail(f"order_create refused a valid order: {status} {data} {body}")
        return True

    def order_resubmit(self) -> bool:
        last = getattr(self, "last_order", None)
        if last is None:
            return False
        status, data = self.call("order_resubmit", "storefront", "post", "/api/v1/orders/", last[0])
        if status < 500 and (status != 200 or data.get("number") != last[1]):
            self.figures.fail(f"order resubmitted: {status} {data} instead of 200 {last[1]}")
        return True

    def ship(self) -> bool:
        from orders.models import Order, Unit

        order = self.pick(Order.objects.filter(units__state="allocated").distinct().order_by("-pk"))
        if order is None:
            return False
        units = list(
            Unit.objects.filter(order=order, state="allocated").values_list("pk", flat=True)
        )
        if not units:  # another client took them meanwhile
            return False
        chosen = self.rng.sample(units, self.rng.randint(1, len(units)))
        self.call(
            "ship",
            "storefront",
            "post",
            f"/api/v1/orders/{order.number}/shipments/",
            {"units": chosen, "tracking_number": f"AWB{self.rng.randint(1, 10**9)}"},
        )
        return True

    def deliver(self) -> bool:
        from orders.models import Shipment

        shipment = self.pick(Shipment.objects.filter(state="shipped").order_by("-pk"))
        if shipment is None:
            return False
        units = [u.pk for u in shipment.units.all()]
        refused = []
        if shipment.kind == "forward" and self.rng.random() < 0.2:
            refused = self.rng.sample(units, self.rng.randint(1, len(units)))
        event = f"dlv-{shipment.pk}-{self.rng.randint(1, 3)}"
        self.call(
            "deliver",
            "storefront",
            "post",
            f"/api/v1/shipments/{shipment.pk}/delivered/",
            {"refused_units": refused, "event_id": event},
        )
        return True

    def cancel(self) -> bool:
        from orders.models import Order, Unit

        order = self.pick(
            Order.objects.filter(units__state__in=["ordered", "allocated"])
            .distinct()
            .order_by("-pk")
        )
        if order is None:
            return False
        units = list(
            Unit.objects.filter(order=order, state__in=["ordered", "allocated"]).values_list(
                "pk", flat=True
            )
        )
        if not units:  # another client took them meanwhile
            return False
        if self.rng.random() < 0.2:
            body = {"all": True, "reason": "soak: customer changed their mind"}
        else:
            body = {"units": self.rng.sample(units, self.rng.randint(1, len(units)))}
            body["reason"] = "soak: cancel some"
        self.call("cancel", "storefront", "post", f"/api/v1/orders/{order.number}/cancel/", body)
        return True

    # --- returns ----------------------------------------------------------------

    def return_create(self) -> bool:
        from orders.models import Order, Unit

        order = self.pick(Order.objects.filter(units__state="delivered").distinct().order_by("-pk"))
        if order is None:
            return False
        units = list(
            Unit.objects.filter(order=order, state="delivered").select_related("sku", "line")
        )
        if not units:  # another client took them meanwhile
            return False
        chosen = self.rng.sample(units, self.rng.randint(1, len(units)))
        items = [self.return_item(u) for u in chosen]
        cod = order.payments.filter(method="cod").exists()
        body = {"order": order.number, "items": items}
        roll = self.rng.random()
        if roll < 0.1:
            body["refund_method"] = "bank_transfer"
            body["payout"] = {"upi_id": f"soak{self.rng.randint(1, 999)}@okbank"}
        elif cod or roll < 0.25:
            body["refund_method"] = "store_credit"
        if self.rng.random() < 0.1:
            body["location"] = "store-1"
        self.call("return_create", "storefront", "post", "/api/v1/returns/", body)
        return True

    def return_item(self, unit) -> dict:
        rng = self.rng
        variants = [
            c
            for c, s in self.world["skus"].items()
            if s.product_id == unit.sku.product_id and c != unit.sku.code
        ]
        roll = rng.random()
        if roll < 0.15 and variants:
            return {
                "unit": unit.pk,
                "reason": rng.choice(["size_too_small", "size_too_large"]),
                "resolution": "exchange",
                "exchange_sku": rng.choice(variants),
            }
        if roll < 0.22:
            return {"unit": unit.pk, "reason": "wrong_item", "resolution": "replacement"}
        if roll < 0.28 and unit.net_paid <= Decimal("600"):
            return {"unit": unit.pk, "reason": "changed_mind", "resolution": "keep"}
        if roll < 0.33:
            return {
                "unit": unit.pk,
                "reason": "defective",
                "defect_type": "hardware_failure",
                "resolution": rng.choice(["refund", "partial_credit"]),
            }
        return {"unit": unit.pk, "reason": rng.choice(REFUND_REASONS), "resolution": "refund"}

    def return_advance(self) -> bool:
        """The next valid step of a random open return."""
        from returns.models import Return

        ret = self.pick(Return.objects.filter(state__in=OPEN_RETURN).order_by("-pk"))
        if ret is None:
            return False
        step = next_step(ret, self.rng)
        if step is None:
            return False
        kind, role, path, body = step
        self.call(kind, role, "post", path, body)
        return True

    def return_cancel(self) -> bool:
        from returns.models import Return

        ret = self.pick(
            Return.objects.filter(state="approved")
            .exclude(items__unit__state__in=["return_in_transit", "returned"])
            .distinct()
            .order_by("-pk")
        )
        if ret is None:
            return False
        self.call(
            "return_cancel",
            "supervisor",
            "post",
            f"/api/v1/returns/{ret.rma}/events/",
            {"type": "cancelled", "reason": "soak: the customer withdrew it"},
        )
        return True

    def refund_retry(self) -> bool:
        from refunds.models import Refund

        refund = self.pick(
            Refund.objects.exclude(state__in=["issued", "awaiting_payout"]).order_by("-pk")
        )
        if refund is not None:
            self.call("refund_retry", "finance", "post", f"/api/v1/refunds/{refund.pk}/retry/")
            return True
        refund = self.pick(Refund.objects.filter(state="issued").order_by("-pk"))
        if refund is None:
            return False
        self.call(
            "invalid:retry_issued_refund",
            "finance",
            "post",
            f"/api/v1/refunds/{refund.pk}/retry/",
            expect="invalid",
        )
        return True

    def utr(self) -> str:
        return str(self.rng.randrange(10**11, 8 * 10**11))  # a 12-digit IMPS RRN

    def payout(self) -> bool:
        """Finance pays a pending COD bank/UPI payout, or records that the bank
        returned it and the customer corrects the details (paid in a later step)."""
        from refunds.models import Payout

        payout = self.pick(Payout.objects.exclude(state="paid").order_by("-pk"))
        if payout is None:
            return False
        path = f"/api/v1/payouts/{payout.pk}"
        if payout.state == "failed":
            rma = payout.refund.return_request.rma
            self.call(
                "payout_correct",
                "storefront",
                "post",
                f"/api/v1/returns/{rma}/payout-details/",
                {"upi_id": "soak.fixed@okaxis"},
                expect="racy",
            )
        elif self.rng.random() < 0.2:
            self.call(
                "payout_failed", "finance", "post", f"{path}/failed/", {"reason": "soak: closed"}
            )
        else:
            self.call("payout_paid", "finance", "post", f"{path}/paid/", {"utr": self.utr()})
        return True

    def read(self) -> bool:
        """A read a storefront, an agent or finance would make; the ledger
        read also checks that the order's ledger reconciles."""
        from orders.models import Order
        from returns.models import Return

        order = self.pick(Order.objects.order_by("-pk"))
        if order is None:
            return False
        ret = self.pick(Return.objects.order_by("-pk"))
        what, role, path = self.rng.choice(
            [
                ("ledger", "finance", f"/api/v1/orders/{order.number}/ledger/"),
                ("ledger", "finance", f"/api/v1/orders/{order.number}/ledger/"),
                ("order", "storefront", f"/api/v1/orders/{order.number}/"),
                ("returnable", "storefront", f"/api/v1/orders/{order.number}/returnable/"),
                ("timeline", "supervisor", f"/api/v1/orders/{order.number}/timeline/"),
                ("refunds", "finance", f"/api/v1/refunds/?order={order.number}"),
                (
                    "return",
                    "supervisor",
                    f"/api/v1/returns/{ret.rma}/" if ret else "/api/v1/returns/",
                ),
            ]
        )
        status, data = self.call(f"read:{what}", role, "get", path)
        if what == "ledger":
            with self.figures.lock:
                self.figures.checks += 1
            if status == 200 and data.get("balanced") is not True:
                self.figures.fail(f"ledger of {order.number} not balanced: {data}")
        return True

    # --- invalid operations -----------------------------------------------------

    def invalid(self) -> bool:
        name = self.rng.choice(
            [
                "return_final_unit",
                "return_over_quantity",
                "return_unit_twice",
                "return_unit_in_open_return",
                "cancel_shipped_unit",
                "deliver_twice",
                "ship_delivered_unit",
                "event_on_closed_return",
                "qc_unit_not_in_return",
                "qc_before_receipt",
                "pickup_after_receipt",
                "collect_nothing_owed",
                "approve_not_held",
                "received_without_location",
                "order_bad_quantity",
            ]
        )
        return getattr(self, f"bad_{name}")()

    def bad_return_final_unit(self) -> bool:
        from orders.models import Unit

        unit = self.pick(Unit.objects.filter(state__in=FINAL_UNIT).order_by("-pk"))
        if unit is None:
            return False
        body = {
            "order": unit.order.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        }
        self.call(
            "invalid:return_final_unit",
            "storefront",
            "post",
            "/api/v1/returns/",
            body,
            expect="invalid",
        )
        return True

    def bad_return_over_quantity(self) -> bool:
        from orders.models import Line

        line = self.pick(Line.objects.filter(units__state="delivered").distinct().order_by("-pk"))
        if line is None:
            return False
        body = {
            "order": line.order.number,
            "items": [
                {
                    "line": line.pk,
                    "quantity": line.quantity + 1,
                    "reason": "changed_mind",
                    "resolution": "refund",
                }
            ],
        }
        self.call(
            "invalid:return_over_quantity",
            "storefront",
            "post",
            "/api/v1/returns/",
            body,
            expect="invalid",
        )
        return True

    def bad_return_unit_twice(self) -> bool:
        from orders.models import Unit

        unit = self.pick(Unit.objects.filter(state="delivered").order_by("-pk"))
        if unit is None:
            return False
        item = {"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}
        self.call(
            "invalid:return_unit_twice",
            "storefront",
            "post",
            "/api/v1/returns/",
            {"order": unit.order.number, "items": [item, item]},
            expect="invalid",
        )
        return True

    def bad_return_unit_in_open_return(self) -> bool:
        from orders.models import Unit

        unit = self.pick(
            Unit.objects.filter(
                state__in=["return_in_transit", "returned", "pending_refund", "pending_exchange"]
            ).order_by("-pk")
        )
        if unit is None:
            return False
        body = {
            "order": unit.order.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        }
        # Such a unit never becomes delivered again: strictly invalid.
        self.call(
            "invalid:return_unit_in_open_return",
            "storefront",
            "post",
            "/api/v1/returns/",
            body,
            expect="invalid",
        )
        return True

    def bad_cancel_shipped_unit(self) -> bool:
        from orders.models import Unit

        unit = self.pick(
            Unit.objects.exclude(state__in=["ordered", "allocated", "cancelled"]).order_by("-pk")
        )
        if unit is None:
            return False
        self.call(
            "invalid:cancel_shipped_unit",
            "storefront",
            "post",
            f"/api/v1/orders/{unit.order.number}/cancel/",
            {"units": [unit.pk], "reason": "soak: too late"},
            expect="invalid",
        )
        return True

    def bad_deliver_twice(self) -> bool:
        from orders.models import Shipment

        shipment = self.pick(Shipment.objects.exclude(state="shipped").order_by("-pk"))
        if shipment is None:
            return False
        self.call(
            "invalid:deliver_twice",
            "storefront",
            "post",
            f"/api/v1/shipments/{shipment.pk}/delivered/",
            {"event_id": f"again-{self.rng.randint(1, 10**9)}"},
            expect="invalid",
        )
        return True

    def bad_ship_delivered_unit(self) -> bool:
        from orders.models import Unit

        unit = self.pick(Unit.objects.exclude(state__in=["ordered", "allocated"]).order_by("-pk"))
        if unit is None:
            return False
        self.call(
            "invalid:ship_delivered_unit",
            "storefront",
            "post",
            f"/api/v1/orders/{unit.order.number}/shipments/",
            {"units": [unit.pk]},
            expect="invalid",
        )
        return True

    def bad_event_on_closed_return(self) -> bool:
        from returns.models import Return

        ret = self.pick(Return.objects.filter(state__in=CLOSED_RETURN).order_by("-pk"))
        if ret is None:
            return False
        body = self.rng.choice(
            [
                {"type": "pickup_completed"},
                {"type": "received", "location": "wh-main"},
                {"type": "cancelled"},
                {"type": "pickup_failed"},
                {"type": "exchange_dispatched"},
                {
                    "type": "qc_result",
                    "results": [{"unit": i.unit_id, "passed": True} for i in ret.items.all()],
                },
            ]
        )
        self.call(
            "invalid:event_on_closed_return",
            "warehouse",
            "post",
            f"/api/v1/returns/{ret.rma}/events/",
            body,
            expect="invalid",
        )
        return True

    def bad_qc_unit_not_in_return(self) -> bool:
        from orders.models import Unit
        from returns.models import Return

        ret = self.pick(Return.objects.filter(state__in=OPEN_RETURN).order_by("-pk"))
        if ret is None:
            return False
        other = Unit.objects.exclude(return_items__return_request=ret).order_by("-pk").first()
        if other is None:
            return False
        body = {"type": "qc_result", "results": [{"unit": other.pk, "passed": True}]}
        self.call(
            "invalid:qc_unit_not_in_return",
            "warehouse",
            "post",
            f"/api/v1/returns/{ret.rma}/events/",
            body,
            expect="invalid",
        )
        return True

    def bad_qc_before_receipt(self) -> bool:
        from returns.models import Return

        ret = self.pick(
            Return.objects.filter(state="approved", items__unit__state="return_requested")
            .distinct()
            .order_by("-pk")
        )
        if ret is None:
            return False
        units = [i.unit_id for i in ret.items.all() if i.unit.state == "return_requested"]
        body = {"type": "qc_result", "results": [{"unit": u, "passed": True} for u in units]}
        # Another client may receive the units meanwhile: a 2xx is tolerated.
        self.call(
            "invalid:qc_before_receipt",
            "warehouse",
            "post",
            f"/api/v1/returns/{ret.rma}/events/",
            body,
            expect="racy",
        )
        return True

    def bad_pickup_after_receipt(self) -> bool:
        from returns.models import Return

        ret = self.pick(Return.objects.filter(state="received").order_by("-pk"))
        if ret is None:
            return False
        body = self.rng.choice(
            [{"type": "pickup_completed"}, {"type": "pickup_failed"}, {"type": "cancelled"}]
        )
        self.call(
            "invalid:pickup_after_receipt",
            "warehouse",
            "post",
            f"/api/v1/returns/{ret.rma}/events/",
            body,
            expect="invalid",
        )
        return True

    def bad_collect_nothing_owed(self) -> bool:
        from returns.models import Return

        ret = self.pick(
            Return.objects.filter(state__in=OPEN_RETURN)
            .exclude(items__price_difference__gt=0)
            .order_by("-pk")
        )
        if ret is None:
            return False
        self.call(
            "invalid:collect_nothing_owed",
            "supervisor",
            "post",
            f"/api/v1/returns/{ret.rma}/events/",
            {"type": "difference_collected", "amount": "10.00", "method": "upi"},
            expect="invalid",
        )
        return True

    def bad_approve_not_held(self) -> bool:
        from returns.models import Return

        ret = self.pick(Return.objects.exclude(state="pending_review").order_by("-pk"))
        if ret is None:
            return False
        verb = self.rng.choice(["approve", "reject"])
        self.call(
            f"invalid:{verb}_not_held",
            "supervisor",
            "post",
            f"/api/v1/returns/{ret.rma}/{verb}/",
            {"note": "soak"},
            expect="invalid",
        )
        return True

    def bad_received_without_location(self) -> bool:
        from returns.models import Return

        ret = self.pick(Return.objects.order_by("-pk"))
        if ret is None:
            return False
        self.call(
            "invalid:received_without_location",
            "warehouse",
            "post",
            f"/api/v1/returns/{ret.rma}/events/",
            {"type": "received"},
            expect="invalid",
        )
        return True

    def bad_order_bad_quantity(self) -> bool:
        body = self.order_body()
        body["lines"][0]["quantity"] = self.rng.choice([0, -1, 1001])
        self.call(
            "invalid:order_bad_quantity",
            "storefront",
            "post",
            "/api/v1/orders/",
            body,
            expect="invalid",
        )
        return True


def next_step(ret, rng) -> tuple[str, str, str, dict] | None:
    """The next event a careful operator would send for ``ret``."""
    path = f"/api/v1/returns/{ret.rma}/events/"
    if ret.state == "pending_review":
        verb = "approve" if rng.random() < 0.8 else "reject"
        return (
            f"review:{verb}",
            "supervisor",
            f"/api/v1/returns/{ret.rma}/{verb}/",
            {"note": "soak"},
        )
    items = list(ret.items.select_related("unit", "reason"))
    by_state = defaultdict(list)
    for i in items:
        by_state[i.unit.state].append(i)
    owed = sum(
        (
            i.price_difference
            for i in items
            if i.price_difference > 0 and not i.difference_collected
        ),
        Decimal("0"),
    )
    if owed > 0 and rng.random() < 0.5:
        return (
            "event:difference_collected",
            "supervisor",
            path,
            {
                "type": "difference_collected",
                "amount": str(owed),
                "method": rng.choice(["card", "upi", "wallet"]),
            },
        )
    exchanges = [
        i
        for i in items
        if i.resolution in ("exchange", "replacement")
        and i.replacement_unit_id is None
        and i.unit.state
        in ("pending_exchange", "return_requested", "return_in_transit", "returned")
        and i.reserved_at_id is not None
    ]
    if exchanges and owed == 0 and rng.random() < 0.4:
        return "event:exchange_dispatched", "warehouse", path, {"type": "exchange_dispatched"}
    options = []
    waiting = [
        i for i in by_state["return_requested"] if i.resolution not in ("keep", "partial_credit")
    ]
    if waiting:
        some = _some(waiting, rng)
        options.append(("event:pickup_completed", {"type": "pickup_completed", "units": some}))
        if rng.random() < 0.15:
            options.append(("event:pickup_failed", {"type": "pickup_failed", "reason": "not home"}))
        if rng.random() < 0.2:
            options.append(
                (
                    "event:received",
                    {
                        "type": "received",
                        "location": rng.choice(["wh-main", "store-1"]),
                        "units": some,
                    },
                )
            )
    if by_state["return_in_transit"]:
        options.append(
            (
                "event:received",
                {
                    "type": "received",
                    "location": "wh-main" if rng.random() < 0.85 else "store-1",
                    "units": _some(by_state["return_in_transit"], rng),
                },
            )
        )
    if by_state["returned"]:
        results = []
        for i in rng.sample(by_state["returned"], rng.randint(1, len(by_state["returned"]))):
            passed = rng.random() < 0.85
            disposition = ""
            if passed and not i.reason.defect and i.resolution != "repair" and rng.random() < 0.2:
                disposition = rng.choice(["refurbish", "liquidate", "restock"])
            results.append(
                {"unit": i.unit_id, "passed": passed, "grade": "A", "disposition": disposition}
            )
        options.append(("event:qc_result", {"type": "qc_result", "results": results}))
    if (
        ret.state == "approved"
        and ret.type == "exchange"
        and rng.random() < 0.05
        and not any(i.replacement_unit_id for i in items)
    ):
        return (
            "event:convert_to_refund",
            "supervisor",
            path,
            {
                "type": "convert_to_refund",
                "reason": "soak: customer prefers money",
            },
        )
    if ret.state == "approved" and waiting and rng.random() < 0.04:
        return (
            "event:convert_to_keep",
            "supervisor",
            path,
            {"type": "convert_to_keep", "reason": "soak: not worth collecting"},
        )
    if not options:
        return None
    kind, body = rng.choice(options)
    return kind, "warehouse", path, body


def _some(items, rng) -> list[int] | None:
    if len(items) == 1 or rng.random() < 0.6:
        return None  # every unit waiting for this step
    return [i.unit_id for i in rng.sample(items, rng.randint(1, len(items)))]


def _now_iso() -> str:
    from django.utils import timezone

    return (timezone.now() - timezone.timedelta(minutes=1)).isoformat()


# --- the run ---------------------------------------------------------------------


def run(
    *,
    ops: int,
    threads: int = 4,
    seed: int = 1,
    checks: int = 5,
    world: dict | None = None,
    log=print,
) -> Figures:
    """Run ``ops`` operations over ``threads`` clients, check the invariants
    ``checks`` times during the run (on a snapshot), drain, and check again."""
    from django.db import connection

    figures = Figures()
    world = world or setup_world()
    baseline = stock_baseline()
    run_id = f"{seed}-{time.time_ns() % 10**9}"
    started = time.perf_counter()
    per_thread = [ops // threads + (1 if i < ops % threads else 0) for i in range(threads)]

    def work(n: int) -> None:
        worker = Worker(n, world, figures, seed, run_id)
        try:
            while worker.calls < per_thread[n]:
                try:
                    worker.step()
                except Exception as exc:
                    figures.fail(f"worker {n} crashed: {exc!r}")
                    traceback.print_exc()
        finally:
            connection.close()

    pool = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(threads)]
    for t in pool:
        t.start()
    marks = [ops * (k + 1) // (checks + 1) for k in range(checks)]
    while any(t.is_alive() for t in pool):
        time.sleep(0.5)
        if marks and figures.total >= marks[0]:
            marks.pop(0)
            check(figures, baseline, snapshot=True, label=f"mid-run at {figures.total} ops")
            log(f"  {figures.total} ops, {len(figures.failures)} failures")
    for t in pool:
        t.join()
    for _ in marks:  # the clients finished between two looks at the counter
        check(figures, baseline, snapshot=True, label=f"end of run at {figures.total} ops")
    figures.pending_before_drain = pending_work()
    drain(world, figures)
    check(figures, baseline, snapshot=True, label="after drain", final=True)
    figures.seconds = time.perf_counter() - started
    return figures


def drain(world: dict, figures: Figures, rounds: int = 8) -> None:
    """Finish every piece of work: deliver what is in transit, walk every open
    return to its end (QC passes), retry unissued refunds, flush the outbox."""
    from orders.models import Shipment
    from orders.tasks import outbox_flush_task
    from refunds.models import Refund
    from returns.models import Return

    worker = Worker(99, world, figures, 0, "drain")
    rng = random.Random(0)
    for _ in range(rounds):
        busy = False
        for shipment in Shipment.objects.filter(state="shipped").order_by("pk"):
            busy = True
            figures.drained["deliveries"] += 1
            worker.call(
                "drain:deliver",
                "storefront",
                "post",
                f"/api/v1/shipments/{shipment.pk}/delivered/",
                {},
            )
        for ret in Return.objects.filter(state__in=OPEN_RETURN).order_by("pk"):
            busy = True
            step = _drain_step(ret, rng)
            if step is None:
                figures.fail(f"drain: open return {ret.rma} ({ret.state}) has no next step")
                continue
            kind, role, path, body = step
            figures.drained["return steps"] += 1
            worker.call(f"drain:{kind}", role, "post", path, body)
        if not busy:
            break
    for refund in Refund.objects.exclude(state__in=["issued", "awaiting_payout"]).order_by("pk"):
        figures.drained["refund retries"] += 1
        worker.call("drain:refund_retry", "finance", "post", f"/api/v1/refunds/{refund.pk}/retry/")
    from refunds.models import Payout

    for payout in Payout.objects.filter(state="failed").order_by("pk"):
        figures.drained["payout corrections"] += 1
        worker.call(
            "drain:payout_correct",
            "storefront",
            "post",
            f"/api/v1/returns/{payout.refund.return_request.rma}/payout-details/",
            {"upi_id": "soak.drain@okaxis"},
        )
    for payout in Payout.objects.filter(state="pending").order_by("pk"):
        figures.drained["payouts paid"] += 1
        worker.call(
            "drain:payout_paid",
            "finance",
            "post",
            f"/api/v1/payouts/{payout.pk}/paid/",
            {"utr": f"{900000000000 + payout.pk}"},
        )
    figures.drained["outbox flushed"] += outbox_flush_task() or 0


def _drain_step(ret, rng):
    path = f"/api/v1/returns/{ret.rma}/events/"
    if ret.state == "pending_review":
        return "approve", "supervisor", f"/api/v1/returns/{ret.rma}/approve/", {"note": "drain"}
    items = list(ret.items.select_related("unit", "reason"))
    owed = sum(
        (
            i.price_difference
            for i in items
            if i.price_difference > 0 and not i.difference_collected
        ),
        Decimal("0"),
    )
    if owed > 0:
        return (
            "difference_collected",
            "supervisor",
            path,
            {"type": "difference_collected", "amount": str(owed), "method": "upi"},
        )
    states = {i.unit.state for i in items}
    if "return_requested" in states and any(
        i.unit.state == "return_requested" and i.resolution not in ("keep", "partial_credit")
        for i in items
    ):
        return "pickup_completed", "warehouse", path, {"type": "pickup_completed"}
    if "return_in_transit" in states:
        return "received", "warehouse", path, {"type": "received", "location": "wh-main"}
    if "returned" in states:
        return (
            "qc_result",
            "warehouse",
            path,
            {
                "type": "qc_result",
                "results": [
                    {"unit": i.unit_id, "passed": True} for i in items if i.unit.state == "returned"
                ],
            },
        )
    if any(
        i.resolution in ("exchange", "replacement")
        and i.replacement_unit_id is None
        and i.reserved_at_id is not None
        and i.unit.state == "pending_exchange"
        for i in items
    ):
        return "exchange_dispatched", "warehouse", path, {"type": "exchange_dispatched"}
    if any(
        i.resolution in ("exchange", "replacement") and i.unit.state == "pending_exchange"
        for i in items
    ):
        return (
            "convert_to_refund",
            "supervisor",
            path,
            {"type": "convert_to_refund", "reason": "drain: replacement not reserved"},
        )
    from refunds.models import Payout

    payout = (
        Payout.objects.filter(refund__return_request=ret)
        .exclude(state="paid")
        .order_by("pk")
        .first()
    )
    if payout is not None:  # a COD refund by bank/UPI waits for finance
        if payout.state == "failed":
            return (
                "payout_correct",
                "storefront",
                f"/api/v1/returns/{ret.rma}/payout-details/",
                {"upi_id": "soak.drain@okaxis"},
            )
        return (
            "payout_paid",
            "finance",
            f"/api/v1/payouts/{payout.pk}/paid/",
            {"utr": f"{900000000000 + payout.pk}"},
        )
    return None


def pending_work() -> dict:
    from orders.models import OutboundMessage, Shipment
    from refunds.models import Refund
    from returns.models import Return

    out = {
        "refunds not issued": Refund.objects.exclude(state="issued").count(),
        "messages pending": OutboundMessage.objects.filter(state="pending").count(),
        "shipments in transit": Shipment.objects.filter(state="shipped").count(),
        "open returns": Return.objects.filter(state__in=OPEN_RETURN).count(),
    }
    from django.utils import timezone

    from oms.models import Job

    # queued work (oms/jobs.py) that is due and not done: nothing may be left
    out["jobs due, not done"] = Job.objects.filter(
        state=Job.State.PENDING, due_at__lte=timezone.now()
    ).count()
    try:
        from intake.models import WebhookDelivery

        out["webhook deliveries received"] = WebhookDelivery.objects.filter(
            state="received"
        ).count()
    except ImportError:  # pragma: no cover
        pass
    return out


# --- invariants --------------------------------------------------------------------

OUT_STATES = {
    # the unit is with the customer (or on its way to them): not in our stock
    "shipped",
    "delivered",
    "return_requested",
    "return_rejected",
    "returned_to_customer",  # failed QC, shipped back and delivered (issue 12, leak 6)
    "kept",
    "in_repair",
    "repaired",
    "refused",
}
GONE_DISPOSITIONS = {"dispose", "return_to_vendor", "return_to_customer", "repair"}


def stock_baseline() -> dict[int, int]:
    """What each SKU's stock would be if no unit had ever left: the stock held
    now plus the units out of our hands now."""
    held, out = _held_and_out()
    return {sku: held.get(sku, 0) + out.get(sku, 0) for sku in set(held) | set(out)}


def _held_and_out() -> tuple[dict[int, int], dict[int, int]]:
    from django.db.models import Count, Sum

    from inventory.models import StockBalance
    from orders.models import Unit
    from returns.models import ReturnItem

    held = {
        r["sku_id"]: r["q"]
        for r in StockBalance.objects.values("sku_id").annotate(q=Sum("quantity"))
    }
    out = Counter(
        {
            r["sku_id"]: r["n"]
            for r in Unit.objects.filter(state__in=OUT_STATES)
            .values("sku_id")
            .annotate(n=Count("pk"))
        }
    )
    # Units that passed QC but left stock by their disposition.
    gone = ReturnItem.objects.filter(qc_passed=True, disposition__in=GONE_DISPOSITIONS).exclude(
        unit__state__in=OUT_STATES
    )
    for sku_id in gone.values_list("unit__sku_id", flat=True):
        out[sku_id] += 1
    return held, dict(out)


def check(
    figures: Figures, baseline: dict[int, int], *, snapshot: bool, label: str, final: bool = False
) -> list[str]:
    """Check every invariant once, on one consistent snapshot (REPEATABLE READ
    on PostgreSQL), and record failures under ``label``."""
    from django.db import connection, transaction

    failures: list[str] = []
    n = 0

    def expect(ok: bool, message: str) -> None:
        nonlocal n
        n += 1
        if not ok:
            failures.append(f"[{label}] {message}")

    with transaction.atomic():
        if snapshot and connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        _check_units(expect)
        _check_stock(expect, baseline)
        _check_money(expect)
        if final:
            for what, count in pending_work().items():
                expect(count == 0, f"work left undone after the drain: {what} = {count}")
    with figures.lock:
        figures.checks += n
        figures.check_rounds += 1
        figures.failures.extend(failures[:200])
    return failures


def _check_units(expect) -> None:
    from orders.models import Unit
    from orders.states import OPEN_RETURN_STATES, UnitState
    from returns.models import ReturnItem

    open_items = Counter()
    open_item_state = {}
    for unit_id, ret_state in ReturnItem.objects.filter(is_open=True).values_list(
        "unit_id", "return_request__state"
    ):
        open_items[unit_id] += 1
        open_item_state[unit_id] = ret_state
    for unit_id, count in open_items.items():
        expect(count == 1, f"unit {unit_id} is in {count} open return items")
        expect(
            open_item_state[unit_id] in OPEN_RETURN,
            f"unit {unit_id} has an open item in a {open_item_state[unit_id]} return",
        )
    valid = set(UnitState.values)
    for unit_id, state in Unit.objects.values_list("pk", "state").iterator():
        expect(state in valid, f"unit {unit_id} in unknown state {state!r}")
        if state in OPEN_RETURN_STATES:
            expect(open_items[unit_id] == 1, f"unit {unit_id} is {state} but in no open return")
        elif state in ("ordered", "allocated", "shipped", "delivered", "cancelled", "refused"):
            expect(open_items[unit_id] == 0, f"unit {unit_id} is {state} yet in an open return")
    # Every transition wrote its timeline row: each unit's rows form one chain
    # from "ordered" to the state it is in now.
    from orders.models import TimelineEvent

    last = {}
    for entity_id, before, after in (
        TimelineEvent.objects.filter(entity="unit", type="unit.transition")
        .order_by("pk")
        .values_list("entity_id", "from_state", "to_state")
        .iterator()
    ):
        unit_id = int(entity_id)
        expect(
            before == last.get(unit_id, "ordered"),
            f"unit {unit_id}: timeline goes {last.get(unit_id, 'ordered')} then {before}",
        )
        last[unit_id] = after
    for unit_id, state in Unit.objects.values_list("pk", "state").iterator():
        expect(
            last.get(unit_id, "ordered") == state,
            f"unit {unit_id} is {state}; its timeline ends at {last.get(unit_id, 'ordered')}",
        )
    # A refunded unit was paid back once: one return-kind refund item at most.
    from django.db.models import Count

    from refunds.models import RefundItem

    twice = list(
        RefundItem.objects.values("unit_id", "kind").annotate(n=Count("pk")).filter(n__gt=1)
    )
    expect(not twice, f"units refunded twice: {twice[:5]}")


def _check_stock(expect, baseline: dict[int, int]) -> None:
    from django.db.models import Count, Sum

    from inventory.models import StockBalance
    from inventory.selectors import stock_ledger_mismatches
    from orders.models import Unit
    from returns.models import ReturnItem

    mismatches = stock_ledger_mismatches()
    expect(not mismatches, f"stock balances differ from their movements: {mismatches[:5]}")
    negative = list(StockBalance.objects.filter(quantity__lt=0).values_list("pk", flat=True)[:5])
    expect(not negative, f"negative stock balances: {negative}")
    held, out = _held_and_out()
    for sku_id, base in baseline.items():
        expect(
            held.get(sku_id, 0) == base - out.get(sku_id, 0),
            f"sku {sku_id}: {held.get(sku_id, 0)} held, expected {base} - {out.get(sku_id, 0)}",
        )
    buckets = defaultdict(int)
    for r in StockBalance.objects.values("sku_id", "bucket").annotate(q=Sum("quantity")):
        buckets[(r["sku_id"], r["bucket"])] = r["q"]
    units = defaultdict(int)
    for r in Unit.objects.values("sku_id", "state").annotate(n=Count("pk")):
        units[(r["sku_id"], r["state"])] = r["n"]
    reserved_exchanges = defaultdict(int)
    for r in (
        ReturnItem.objects.filter(reserved_at__isnull=False, replacement_unit__isnull=True)
        .values("exchange_sku_id")
        .annotate(n=Count("pk"))
    ):
        reserved_exchanges[r["exchange_sku_id"]] = r["n"]
    for sku_id in baseline:
        expect(
            buckets[(sku_id, "in_transit")] == units[(sku_id, "return_in_transit")],
            f"sku {sku_id}: in_transit {buckets[(sku_id, 'in_transit')]} != "
            f"{units[(sku_id, 'return_in_transit')]} units in transit",
        )
        expect(
            buckets[(sku_id, "pending_inspection")] == units[(sku_id, "returned")],
            f"sku {sku_id}: pending_inspection {buckets[(sku_id, 'pending_inspection')]} != "
            f"{units[(sku_id, 'returned')]} returned units",
        )
        want = units[(sku_id, "allocated")] + reserved_exchanges[sku_id]
        expect(
            buckets[(sku_id, "reserved")] == want,
            f"sku {sku_id}: reserved {buckets[(sku_id, 'reserved')]} != {want} "
            f"(allocated units + exchange reservations)",
        )


def _check_money(expect) -> None:
    from django.db.models import Sum

    from orders.models import LedgerEntry, Order, Payment
    from refunds.models import CreditNote, Recovery, Refund, RefundTender

    issued_by_payment = {
        r["payment_id"]: r["s"]
        for r in RefundTender.objects.filter(refund__state="issued")
        .values("payment_id")
        .annotate(s=Sum("amount"))
    }
    for p in Payment.objects.all().iterator():
        expect(
            Decimal("0") <= p.refunded_amount <= p.captured_amount,
            f"payment {p.pk} ({p.method}): refunded {p.refunded_amount} > captured "
            f"{p.captured_amount}",
        )
        expect(
            p.captured_amount <= p.amount,
            f"payment {p.pk}: captured {p.captured_amount} > amount {p.amount}",
        )
        expect(
            issued_by_payment.get(p.pk, Decimal("0")) == p.refunded_amount,
            f"payment {p.pk}: issued refund tenders {issued_by_payment.get(p.pk)} != "
            f"refunded {p.refunded_amount}",
        )
    # Every ledger balanced: captured + collected - given back = what the tenders keep.
    # A recovery opened or written off is a receivable, not cash: outside the
    # cash identity, checked against the open recoveries below.
    inflow = ("capture", "cod_collection", "exchange_collection", "recovery_collected")
    receivable = {"recovery_opened": 1, "recovery_collected": -1, "recovery_written_off": -1}
    ledger = defaultdict(lambda: Decimal("0"))
    owed = defaultdict(lambda: Decimal("0"))
    for r in LedgerEntry.objects.values("order_id", "kind").annotate(s=Sum("amount")):
        owed[r["order_id"]] += receivable.get(r["kind"], 0) * r["s"]
        if r["kind"] in ("recovery_opened", "recovery_written_off"):
            continue
        sign = 1 if r["kind"] in inflow else -1
        ledger[r["order_id"]] += sign * r["s"]
    outflow = defaultdict(lambda: Decimal("0"))
    for r in (
        LedgerEntry.objects.exclude(kind__in=[*inflow, *receivable])
        .values("order_id")
        .annotate(s=Sum("amount"))
    ):
        outflow[r["order_id"]] = r["s"]
    open_recoveries = defaultdict(lambda: Decimal("0"))
    for r in Recovery.objects.filter(state="open").values("order_id").annotate(s=Sum("amount")):
        open_recoveries[r["order_id"]] = r["s"]
    tenders = defaultdict(lambda: Decimal("0"))
    for r in Payment.objects.values("order_id").annotate(
        c=Sum("captured_amount"), f=Sum("refunded_amount")
    ):
        tenders[r["order_id"]] = r["c"] - r["f"]
    outside = defaultdict(lambda: Decimal("0"))
    for r in (
        LedgerEntry.objects.filter(
            kind__in=["exchange_collection", "recovery_collected"], payment__isnull=True
        )
        .values("order_id")
        .annotate(s=Sum("amount"))
    ):
        outside[r["order_id"]] = r["s"]
    issued = defaultdict(lambda: Decimal("0"))
    for r in Refund.objects.filter(state="issued").values("order_id").annotate(s=Sum("amount")):
        issued[r["order_id"]] = r["s"]
    shipping_back = {
        r["order_id"]: r["s"]
        for r in Refund.objects.values("order_id").annotate(s=Sum("shipping_amount"))
    }
    for order_id, shipping in Order.objects.values_list("pk", "shipping_amount").iterator():
        expect(
            ledger[order_id] == tenders[order_id] + outside[order_id],
            f"order {order_id}: ledger retains {ledger[order_id]}, tenders "
            f"{tenders[order_id] + outside[order_id]}",
        )
        expect(
            outflow[order_id] == issued[order_id],
            f"order {order_id}: ledger gave back {outflow[order_id]}, issued refunds "
            f"{issued[order_id]}",
        )
        expect(ledger[order_id] >= 0, f"order {order_id}: retains {ledger[order_id]} < 0")
        expect(
            owed[order_id] == open_recoveries[order_id],
            f"order {order_id}: ledger says {owed[order_id]} owed, open recoveries "
            f"{open_recoveries[order_id]}",
        )
        expect(
            (shipping_back.get(order_id) or Decimal("0")) <= shipping,
            f"order {order_id}: shipping refunded {shipping_back.get(order_id)} > {shipping}",
        )
    tender_sums = {
        r["refund_id"]: r["s"]
        for r in RefundTender.objects.values("refund_id").annotate(s=Sum("amount"))
    }
    notes = set(CreditNote.objects.values_list("refund_id", flat=True))
    for refund_id, state, amount in Refund.objects.values_list("pk", "state", "amount"):
        expect(amount > 0, f"refund {refund_id} of {amount}")
        expect(
            tender_sums.get(refund_id) == amount,
            f"refund {refund_id}: tenders {tender_sums.get(refund_id)} != amount {amount}",
        )
        if state == "issued":
            expect(refund_id in notes, f"issued refund {refund_id} has no credit note")
