"""Two real transactions racing for the last unit (PostgreSQL row locks).

Each thread opens its own database connection; a barrier releases them
together so the race is real. Exactly one wins, the other gets a conflict,
and the ledger still adds up.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from inventory.models import StockBalance
from inventory.services import InsufficientStock, stock_move
from inventory.states import Bucket
from orders.events import EventActor
from orders.models import Order, Unit
from orders.services import LineData, OrderData, PaymentData, order_create
from orders.states import UnitState

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(worker, n=2):
    """Run ``worker(i)`` in ``n`` threads released together; collect results
    and exceptions by thread index."""
    barrier = threading.Barrier(n, timeout=10)
    results: dict[int, object] = {}

    def run(i):
        try:
            barrier.wait()
            results[i] = worker(i)
        except Exception as exc:  # the test inspects what each thread raised
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return [results[i] for i in range(n)]


def balances(sku):
    return dict(StockBalance.objects.filter(sku=sku).values_list("bucket", "quantity"))


@pytest.mark.parametrize("attempt", range(3))
def test_two_threads_reserving_the_last_unit_one_wins(make_sku, warehouse_location, attempt):
    # given exactly one sellable unit
    sku = make_sku("LAST-1", Decimal("100.00"), stock=1)

    # when two transactions reserve it at the same moment
    def reserve(i):
        return stock_move(
            sku=sku,
            location=warehouse_location,
            quantity=1,
            from_bucket=Bucket.SELLABLE,
            to_bucket=Bucket.RESERVED,
            reason="order_reserve",
            reference=f"thread-{i}",
        )

    outcomes = race(reserve)
    # then exactly one succeeds and the other is told there is not enough stock
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1, outcomes
    assert isinstance(errors[0], InsufficientStock), errors
    assert balances(sku) == {"sellable": 0, "reserved": 1}
    call_command("check_stock")


def test_two_orders_for_the_last_unit_one_is_allocated(make_sku, channel, warehouse_location):
    # given exactly one sellable unit
    sku = make_sku("LAST-2", Decimal("250.00"), stock=1)

    # when two customers order it at the same moment
    def place(i):
        order, _ = order_create(
            data=OrderData(
                channel="web",
                external_id=f"RACE-{i}",
                currency="INR",
                placed_at=timezone.now() - timedelta(minutes=1),
                lines=[LineData(sku="LAST-2", quantity=1, unit_price=Decimal("250.00"))],
                payments=[PaymentData(method="card", amount=Decimal("250.00"))],
                customer={"email": f"racer{i}@example.com"},
            ),
            actor=EventActor.system("race"),
        )
        return order.number

    outcomes = race(place)
    # then both orders exist; one unit is allocated and the other waits as ordered
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert Order.objects.count() == 2
    states = sorted(Unit.objects.filter(sku=sku).values_list("state", flat=True))
    assert states == [UnitState.ALLOCATED, UnitState.ORDERED]
    assert balances(sku) == {"sellable": 0, "reserved": 1}
    call_command("check_stock")


def test_set_based_moves_over_shared_skus_neither_deadlock_nor_oversell(
    make_sku, warehouse_location
):
    # given three SKUs with 4 sellable units each
    from inventory.services import Move, stock_move_many

    skus = [make_sku(f"SET-{i}", Decimal("10.00"), stock=4) for i in range(3)]
    loc = warehouse_location.pk

    # when 6 transactions each reserve one unit of every SKU, listing them in
    # opposite orders (the statement locks rows in one fixed order)
    def reserve(i):
        order = skus if i % 2 else list(reversed(skus))
        return stock_move_many(
            [Move(s.pk, loc, 1, Bucket.SELLABLE, Bucket.RESERVED) for s in order],
            reason="order_reserve",
            reference=f"set-{i}",
        )

    outcomes = race(reserve, n=6)

    # then exactly 4 succeed, the rest are short of stock, nothing went negative
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 2, outcomes
    assert all(isinstance(e, InsufficientStock) for e in errors), errors
    for s in skus:
        assert balances(s) == {"sellable": 0, "reserved": 4}
    call_command("check_stock")


@pytest.mark.parametrize("attempt", range(5))
def test_first_reservations_of_a_sku_create_its_balance_without_deadlock(
    make_sku, warehouse_location, attempt
):
    # given a SKU with stock and no reserved balance yet
    from inventory.services import Move, stock_move_many

    sku = make_sku(f"FIRST-{attempt}", Decimal("10.00"), stock=20)
    assert set(balances(sku)) == {"sellable"}

    # when 8 transactions reserve a unit each at once (each must create or
    # find the reserved balance while the others lock the sellable one)
    def reserve(i):
        return stock_move_many(
            [Move(sku.pk, warehouse_location.pk, 1, Bucket.SELLABLE, Bucket.RESERVED)],
            reason="exchange_reserve",
            reference=f"first-{attempt}-{i}",
            savepoint=False,
        )

    outcomes = race(reserve, n=8)

    # then every one succeeded (none was chosen as a deadlock victim)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert balances(sku) == {"sellable": 12, "reserved": 8}
    call_command("check_stock")


def test_a_reservation_waiting_on_a_restock_sees_the_restocked_quantity(
    make_sku, warehouse_location
):
    # given nothing sellable, and a restock holding the balance's row lock
    from django.db import transaction

    from inventory.services import stock_adjust
    from tests.inventory.helpers import reserve
    from tests.threads import in_threads

    sku = make_sku("WAIT-1", Decimal("100.00"), stock=1)
    reserve(sku, warehouse_location)
    assert balances(sku) == {"sellable": 0, "reserved": 1}
    locked = threading.Event()

    def restock():
        with transaction.atomic():
            stock_adjust(
                sku=sku,
                location=warehouse_location,
                bucket=Bucket.SELLABLE,
                quantity=5,
                reason="restock",
            )
            locked.set()
            threading.Event().wait(1.0)  # still holding the row

    def reservation():
        assert locked.wait(10)
        return reserve(sku, warehouse_location)

    # when a reservation arrives while the restock is uncommitted
    restocked, reserved = in_threads(restock, reservation)

    # then it waited for the restock and reserved from it
    assert restocked is None
    assert not isinstance(reserved, Exception), reserved
    assert balances(sku) == {"sellable": 4, "reserved": 2}
