"""Shared set-up for the whole suite. The names below are a contract: other
test modules build on them, so keep them stable.

Hooks and markers
-----------------
- ``pytest_configure`` makes Celery run tasks eagerly and re-raise their
  errors, so a test sees the work a service queued (with
  ``django_capture_on_commit_callbacks(execute=True)``), and creates
  ``STATIC_ROOT`` so WhiteNoise does not warn in a fresh checkout.
- ``@pytest.mark.postgres``: the test needs PostgreSQL (real row locks,
  concurrent transactions). On another database it is skipped with a reason,
  unless ``OMS_REQUIRE_POSTGRES=1`` is set: then it FAILS, so a CI run meant
  for PostgreSQL can never pass by silently skipping.
- Each pytest process gets its own test database (``..._p<pid>``) unless
  ``--reuse-db`` is given, because several people run the suite in the same
  tree at once and would otherwise destroy each other's test database.
- Hypothesis profile ``oms``: no deadline (database examples vary in speed).
- ``OMS_FAKE_NOW=2026-12-01T18:35:00Z`` (any ISO 8601 instant) starts the
  session's clock there and lets it tick (time-machine), in this process and
  its live-server threads. ``.ci/run`` runs the suite once more at 18:35 UTC of
  the day, just after midnight in Asia/Kolkata, so a date computed in UTC where
  the brand's time zone is meant fails CI at any hour.

Fixtures
--------
- ``api_client_for(role)``: factory; a DRF ``APIClient`` authenticated with a
  real API key made by ``manage.py create_api_key`` for ``role`` (the raw
  key is on ``client.api_key``).
- ``anon_api``, ``storefront_api``, ``warehouse_api``, ``agent_api``,
  ``supervisor_api``, ``finance_api``, ``ops_api``: ready-made clients.
- ``actor``: ``EventActor.system("tests")`` for calling services directly.
- ``warehouse_location``: the default ``Location`` (code ``wh-main``).
- ``channel``: the native ``Channel`` with code ``web``.
- ``make_sku(code, price=Decimal("100.00"), *, tax_rate=Decimal("0"),
  stock=0, location=None, **sku_fields)``: creates the SKU through
  ``inventory.services.sku_upsert`` and, for ``stock > 0``, adds sellable
  stock through ``stock_adjust`` at ``location`` (default: the warehouse).
- ``make_order(lines=..., *, channel="web", external_id=None, currency="INR",
  prices_include_tax=True, order_discount=0, shipping=0, cod=False,
  payments=None, customer=None, ship_from=None, placed_at=None)``: creates an
  order through ``orders.services.order_create`` and returns the ``Order``.
  ``lines`` items are tuples ``(sku_code, qty[, unit_price[, discount]])`` or
  dicts with ``LineData`` keys; a missing price or tax rate comes from the SKU.
  A SKU that does not exist yet is created with 100 sellable units. Payments
  default to one card payment (or cash on delivery with ``cod=True``) for the
  exact total computed by ``orders.allocation.allocate_order``; a free order
  gets no payment.
- ``deliver_order(order, refused=(), *, delivered_at=None, cod_collected=None)``:
  ships every ordered/allocated unit of ``order`` in one shipment and reports
  its delivery through the services; ``refused`` holds units or unit ids.
  Returns the ``DeliveryResult``.
"""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

hypothesis_settings.register_profile("oms", deadline=None)
hypothesis_settings.load_profile("oms")


_clock = None


def pytest_configure(config):
    global _clock
    fake_now = os.environ.get("OMS_FAKE_NOW")
    if fake_now:
        import time_machine

        _clock = time_machine.travel(datetime.fromisoformat(fake_now), tick=True)
        _clock.start()

    from django.conf import settings

    from oms.celery import app

    # WhiteNoise warns (an error here) when STATIC_ROOT is missing, as it is
    # in a fresh checkout before collectstatic.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def pytest_unconfigure(config):
    if _clock is not None:
        _clock.stop()


def pytest_report_header(config):
    if _clock is not None:
        return f"clock moved to {os.environ['OMS_FAKE_NOW']} (OMS_FAKE_NOW), ticking"
    return None


def _require_postgres() -> bool:
    return os.environ.get("OMS_REQUIRE_POSTGRES") == "1"


@pytest.fixture(autouse=True)
def _postgres_marker(request):
    """Skip (or, with OMS_REQUIRE_POSTGRES=1, fail) ``postgres`` tests elsewhere."""
    if request.node.get_closest_marker("postgres") is None:
        return
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    reason = f"needs PostgreSQL (real row locks); this run uses {connection.vendor}"
    if _require_postgres():
        pytest.fail(f"OMS_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


_cache_namespaces = itertools.count(1)


@pytest.fixture(autouse=True)
def _config_cache_cleared():
    """Each test starts on the migrated database: nothing kept from the rows
    an earlier test wrote and rolled back (``oms.config_cache``)."""
    from oms.config_cache import config_clear

    config_clear()


@pytest.fixture
def config_kept(settings):
    """A process that has created returns before: the current policy, the
    active reasons and the policy's SLA rules already kept (``oms.config_cache``,
    for an hour here, so a slow run does not see them expire). Call the
    fixture's value to read them into the cache before a counted request."""
    settings.OMS_CONFIG_CACHE_SECONDS = 3600

    from flows.policy import policy_config_read

    policy_config_read()
    return policy_config_read


@pytest.fixture(autouse=True)
def _own_cache_namespace(settings):
    """Each test counts in its own key space of the shared cache (the database
    cache, or Redis when CELERY_BROKER_URL is one), so rate limits never leak
    between tests or pytest processes, and nothing needs ``cache.clear()``,
    which on Redis would flush the broker's database too."""
    conf = {alias: dict(options) for alias, options in settings.CACHES.items()}
    conf["default"]["KEY_PREFIX"] = f"test-{os.getpid()}-{next(_cache_namespaces)}"
    settings.CACHES = conf


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request):
    """Give this process its own test database (see the module docstring)."""
    if request.config.getvalue("reuse_db"):
        return
    from django.conf import settings

    suffix = f"p{os.getpid()}"
    for db in settings.DATABASES.values():
        test = db.setdefault("TEST", {})
        name = test.get("NAME")
        if db["ENGINE"] == "django.db.backends.sqlite3":
            if not name or name == ":memory:":
                continue
            base, dot, ext = str(name).rpartition(".")
            test["NAME"] = f"{base}_{suffix}.{ext}" if dot else f"{name}_{suffix}"
        else:
            test["NAME"] = f"{name or 'test_' + db['NAME']}_{suffix}"


# --- API clients -------------------------------------------------------------


@pytest.fixture
def api_client_for(db):
    from django.core.management import call_command
    from rest_framework.test import APIClient

    counter = itertools.count(1)

    def make(role: str) -> APIClient:
        out = StringIO()
        call_command("create_api_key", f"test-{role}-{next(counter)}", role=role, stdout=out)
        key = out.getvalue().strip().splitlines()[-1]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        client.api_key = key
        return client

    return make


@pytest.fixture
def anon_api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def storefront_api(api_client_for):
    return api_client_for("storefront")


@pytest.fixture
def warehouse_api(api_client_for):
    return api_client_for("warehouse")


@pytest.fixture
def agent_api(api_client_for):
    return api_client_for("agent")


@pytest.fixture
def supervisor_api(api_client_for):
    return api_client_for("supervisor")


@pytest.fixture
def finance_api(api_client_for):
    return api_client_for("finance")


@pytest.fixture
def ops_api(api_client_for):
    return api_client_for("ops")


# --- domain helpers ----------------------------------------------------------


@pytest.fixture
def actor():
    from orders.events import EventActor

    return EventActor.system("tests")


@pytest.fixture
def warehouse_location(db):
    from tests.factories import LocationFactory

    return LocationFactory(code="wh-main", name="Main warehouse", is_default=True)


@pytest.fixture
def channel(db):
    from tests.factories import ChannelFactory

    return ChannelFactory(code="web", name="Web store")


@pytest.fixture
def make_sku(db, warehouse_location):
    from inventory.services import sku_upsert, stock_adjust
    from inventory.states import Bucket

    def make(
        code: str,
        price: Decimal = Decimal("100.00"),
        *,
        tax_rate: Decimal = Decimal("0"),
        stock: int = 0,
        location=None,
        **fields,
    ):
        fields.setdefault("product", code.split("-")[0].lower() or "product")
        fields.setdefault("name", code)
        sku, _ = sku_upsert(code=code, price=Decimal(price), tax_rate=Decimal(tax_rate), **fields)
        if stock:
            stock_adjust(
                sku=sku,
                location=location or warehouse_location,
                bucket=Bucket.SELLABLE,
                quantity=stock,
                reason="test stock",
            )
        return sku

    return make


@pytest.fixture
def make_order(db, channel, make_sku, actor):
    from django.utils import timezone

    from inventory.models import SKU
    from orders.allocation import LineInput, allocate_order
    from orders.services import LineData, OrderData, PaymentData, order_create
    from orders.states import PaymentMethod

    counter = itertools.count(1)

    def line_data(spec) -> LineData:
        if isinstance(spec, dict):
            spec = dict(spec)
            code, qty = spec.pop("sku"), spec.pop("quantity")
            price, discount = spec.pop("unit_price", None), spec.pop("discount", Decimal("0"))
            tax_rate = spec.pop("tax_rate", None)
        else:
            code, qty, price, discount = (*spec, None, Decimal("0"))[:4]
            discount = discount if discount is not None else Decimal("0")
            tax_rate, spec = None, {}
        sku = SKU.objects.filter(code=code).first()
        if sku is None:
            sku = make_sku(code, price or Decimal("100.00"), tax_rate=tax_rate or 0, stock=100)
        return LineData(
            sku=code,
            quantity=qty,
            unit_price=Decimal(price if price is not None else sku.price),
            tax_rate=Decimal(tax_rate if tax_rate is not None else sku.tax_rate),
            discount=Decimal(discount),
            **spec,
        )

    def make(
        lines=(("SKU-A", 1),),
        *,
        channel: str = "web",
        external_id: str | None = None,
        currency: str = "INR",
        prices_include_tax: bool = True,
        order_discount: Decimal = Decimal("0"),
        shipping: Decimal = Decimal("0"),
        cod: bool = False,
        payments: list | None = None,
        customer: dict | None = None,
        ship_from: str | None = None,
        placed_at=None,
    ):
        n = next(counter)
        line_list = [line_data(spec) for spec in lines]
        if payments is None:
            alloc = allocate_order(
                currency=currency,
                prices_include_tax=prices_include_tax,
                lines=[
                    LineInput(ln.unit_price, ln.quantity, ln.tax_rate, ln.discount, ln.tax)
                    for ln in line_list
                ],
                order_discount=Decimal(order_discount),
            )
            total = alloc.items_total + Decimal(shipping)
            method = PaymentMethod.COD if cod else PaymentMethod.CARD
            payments = [PaymentData(method=method, amount=total)] if total > 0 else []
        else:
            payments = [p if isinstance(p, PaymentData) else PaymentData(**p) for p in payments]
        data = OrderData(
            channel=channel,
            external_id=external_id or f"T-{os.getpid()}-{n}",
            currency=currency,
            placed_at=placed_at or timezone.now() - timedelta(hours=1),
            lines=line_list,
            payments=payments,
            customer=customer or {"email": f"customer{n}@example.com", "name": f"Customer {n}"},
            prices_include_tax=prices_include_tax,
            order_discount=Decimal(order_discount),
            shipping=Decimal(shipping),
            ship_from=ship_from,
        )
        order, _ = order_create(data=data, actor=actor)
        return order

    return make


@pytest.fixture
def deliver_order(db, actor):
    from django.utils import timezone

    from flows.delivery import shipment_deliver
    from orders.models import Unit
    from orders.services import shipment_create
    from orders.states import UnitState

    def deliver(order, refused=(), *, delivered_at=None, cod_collected=None):
        unit_ids = list(
            Unit.objects.filter(
                order=order, state__in=[UnitState.ORDERED, UnitState.ALLOCATED]
            ).values_list("pk", flat=True)
        )
        # A delivery in the past shipped no later than it arrived.
        past = delivered_at is not None and delivered_at < timezone.now()
        shipment = shipment_create(
            order=order, unit_ids=unit_ids, actor=actor, shipped_at=delivered_at if past else None
        )
        return shipment_deliver(
            shipment_id=shipment.pk,
            actor=actor,
            delivered_at=delivered_at,
            refused_unit_ids=[getattr(u, "pk", u) for u in refused],
            cod_collected=cod_collected,
        )

    return deliver
