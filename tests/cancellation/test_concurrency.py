"""Cancelling a unit while the warehouse ships it, on PostgreSQL with real
threads and real transactions: exactly one wins, the other gets 409 and
changes nothing, and stock stays exact."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from inventory.selectors import stock_ledger_mismatches
from orders.models import Payment, Shipment, Unit
from refunds.models import Refund
from refunds.selectors import order_ledger
from tests.returns.helpers import stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(workers):
    barrier = threading.Barrier(len(workers), timeout=10)
    results: dict[int, object] = {}

    def run(i):
        try:
            barrier.wait()
            results[i] = workers[i]()
        except Exception as exc:  # the test inspects what each thread raised
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return [results[i] for i in range(len(workers))]


def _post(key, path, body):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    r = client.post(path, body, format="json")
    return r.status_code, r.json()


@pytest.mark.parametrize("attempt", range(5))
def test_cancel_while_shipping_the_same_unit_one_wins(
    make_sku, make_order, api_client_for, attempt
):
    # given a card order of two lamps, both reserved
    lamp = make_sku("LAMP-1", Decimal("1000.00"), stock=5)
    order = make_order([("LAMP-1", 2)], shipping=Decimal("49.00"))
    unit, other = Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True)
    assert stock(lamp) == {"sellable": 3, "reserved": 2}
    storefront = api_client_for("storefront").api_key
    warehouse = api_client_for("warehouse").api_key
    # when the storefront cancels a lamp while the warehouse ships it
    cancelled, shipped = race(
        [
            lambda: _post(
                storefront,
                f"/api/v1/orders/{order.number}/cancel/",
                {"units": [unit], "reason": "race"},
            ),
            lambda: _post(
                warehouse, f"/api/v1/orders/{order.number}/shipments/", {"units": [unit]}
            ),
        ]
    )
    # then exactly one wins and the other is a conflict naming the unit
    statuses = sorted([cancelled[0], shipped[0]])
    assert statuses in ([200, 409], [201, 409]), (cancelled, shipped)
    loser = cancelled if cancelled[0] == 409 else shipped
    assert loser[1]["extra"]["unit"] == unit
    state = Unit.objects.get(pk=unit).state
    card = Payment.objects.get(order=order)
    if cancelled[0] == 200:
        # the cancel won: the reservation is sellable again and the lamp refunded
        assert state == "cancelled"
        assert loser[1]["extra"]["state"] == "cancelled"
        assert not Shipment.objects.filter(order=order).exists()
        assert stock(lamp) == {"sellable": 4, "reserved": 1}
        assert Refund.objects.get(order=order).amount == Decimal("1000.00")
        assert card.refunded_amount == Decimal("1000.00")
    else:
        # the shipment won: the lamp left the building, nothing refunded
        assert state == "shipped"
        assert loser[1]["extra"]["state"] == "shipped"
        assert stock(lamp) == {"sellable": 3, "reserved": 1}
        assert not Refund.objects.filter(order=order).exists()
        assert card.refunded_amount == 0
    assert Unit.objects.get(pk=other).state == "allocated"
    assert stock_ledger_mismatches() == []
    assert order_ledger(order)["balanced"] is True


@pytest.mark.parametrize("attempt", range(2))
def test_two_cancellations_of_the_same_unit_refund_once(
    make_sku, make_order, api_client_for, attempt
):
    # given a card order of one lamp
    lamp = make_sku("LAMP-1", Decimal("1000.00"), stock=5)
    order = make_order([("LAMP-1", 1)])
    unit = Unit.objects.get(order=order).pk
    keys = [api_client_for("storefront").api_key for _ in range(2)]
    # when two clients cancel it at the same moment
    results = race(
        [
            lambda k=k: _post(
                k, f"/api/v1/orders/{order.number}/cancel/", {"units": [unit], "reason": "twice"}
            )
            for k in keys
        ]
    )
    # then one wins, the other is a conflict, and the lamp is refunded once
    assert sorted(r[0] for r in results) == [200, 409], results
    assert Refund.objects.filter(order=order).count() == 1
    assert Payment.objects.get(order=order).refunded_amount == Decimal("1000.00")
    assert stock(lamp) == {"sellable": 5}
    assert stock_ledger_mismatches() == []
