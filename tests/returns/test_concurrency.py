"""Concurrent returns on PostgreSQL with real threads and real transactions.

Each thread has its own API client and database connection; a barrier
releases them together so the requests really overlap.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from inventory.models import StockBalance
from orders.models import Payment, Unit
from refunds.models import Refund
from returns.models import Return, ReturnItem
from tests.returns.helpers import assert_invariants, unit_ids

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(worker, n=2):
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
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return [results[i] for i in range(n)]


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _post(key, path, body):
    r = _client(key).post(path, body, format="json")
    return r.status_code, r.json()


@pytest.fixture
def order(make_sku, make_order, deliver_order):
    make_sku("TEE-M", Decimal("999.00"), product="tee", stock=10)
    make_sku("TEE-XL", Decimal("1199.00"), product="tee", stock=1)
    make_sku("JEANS-32", Decimal("2499.00"), product="jeans", stock=10)
    o = make_order(
        [("TEE-M", 3, Decimal("999.00"), Decimal("100.00")), ("JEANS-32", 1)],
        order_discount=Decimal("200.00"),
        shipping=Decimal("49.00"),
    )
    deliver_order(o)
    return o


@pytest.mark.parametrize("attempt", range(3))
def test_two_creates_for_the_same_units_one_wins(order, storefront_api, attempt):
    # given two clients returning the same two tees
    units = unit_ids(order)[:2]
    body = {
        "order": order.number,
        "items": [{"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in units],
    }
    # when both create at the same moment
    outcomes = race(lambda i: _post(storefront_api.api_key, "/api/v1/returns/", body))
    # then exactly one 201 and one 409, and each unit is in one open return
    codes = sorted(code for code, _ in outcomes)
    assert codes == [201, 409], outcomes
    loser = next(b for c, b in outcomes if c == 409)
    assert loser["code"] in ("units_in_open_return", "concurrent_change"), loser
    assert Return.objects.filter(order=order).count() == 1
    for u in units:
        assert ReturnItem.objects.filter(unit_id=u, is_open=True).count() == 1
        assert Unit.objects.get(pk=u).state == "return_requested"
    assert_invariants(order)


def test_two_exchanges_for_the_last_unit_in_stock_one_wins(order, storefront_api):
    # given one XL left and two tees each to be exchanged for it
    a, b = unit_ids(order)[:2]

    def body(u):
        return {
            "order": order.number,
            "items": [
                {
                    "unit": u,
                    "reason": "size_too_small",
                    "resolution": "exchange",
                    "exchange_sku": "TEE-XL",
                }
            ],
        }

    # when both are created at once (one per thread, different units)
    outcomes = race(lambda i: _post(storefront_api.api_key, "/api/v1/returns/", body([a, b][i])))
    # then one gets the XL and the other is told it is out of stock; counts exact
    codes = sorted(code for code, _ in outcomes)
    assert codes == [201, 409], outcomes
    assert next(x for c, x in outcomes if c == 409)["code"] == "insufficient_stock"
    xl = dict(StockBalance.objects.filter(sku__code="TEE-XL").values_list("bucket", "quantity"))
    assert xl == {"sellable": 0, "reserved": 1}
    assert Return.objects.filter(order=order).count() == 1
    assert_invariants(order)


def test_concurrent_returns_of_different_units_add_up_exactly(order, storefront_api, warehouse_api):
    # given the order split in two halves, returned by two clients at once
    units = unit_ids(order)
    halves = [units[:2], units[2:]]

    def create(i):
        return _post(
            storefront_api.api_key,
            "/api/v1/returns/",
            {
                "order": order.number,
                "items": [
                    {"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in halves[i]
                ],
            },
        )

    outcomes = race(create)
    # then both are created
    assert [c for c, _ in outcomes] == [201, 201], outcomes
    rmas = [b["rma"] for _, b in outcomes]
    assert ReturnItem.objects.filter(unit__order=order, is_open=True).count() == len(units)
    # when both are picked up, received and pass QC, concurrently at each step
    for step in (
        lambda i: {"type": "pickup_completed"},
        lambda i: {"type": "received", "location": "wh-main"},
        lambda i: {
            "type": "qc_result",
            "results": [{"unit": u, "passed": True} for u in halves[i]],
        },
    ):
        results = race(
            lambda i, s=step: _post(
                warehouse_api.api_key, f"/api/v1/returns/{rmas[i]}/events/", s(i)
            )
        )
        assert [c for c, _ in results] == [200, 200], results
    # then both refunds are issued and add up to everything paid, shipping once
    refunds = list(Refund.objects.filter(order=order))
    assert len(refunds) == 2
    assert all(r.state == "issued" for r in refunds), [(r.state, r.failure_reason) for r in refunds]
    assert sum(r.amount for r in refunds) == order.grand_total
    assert sum(r.shipping_amount for r in refunds) == Decimal("49.00")
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == payment.captured_amount == order.grand_total
    assert set(Return.objects.filter(order=order).values_list("state", flat=True)) == {"completed"}
    assert_invariants(order)


def test_concurrent_events_on_one_return_apply_once(order, storefront_api, warehouse_api):
    # given a return of one tee
    tee = unit_ids(order)[0]
    code, body = _post(
        storefront_api.api_key,
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": tee, "reason": "changed_mind", "resolution": "refund"}],
        },
    )
    assert code == 201
    # when the courier reports the pickup twice at once (no event id)
    outcomes = race(
        lambda i: _post(
            warehouse_api.api_key,
            f"/api/v1/returns/{body['rma']}/events/",
            {"type": "pickup_completed"},
        )
    )
    # then one applies and the other is a conflict; the unit moved into transit once
    assert sorted(c for c, _ in outcomes) == [200, 409], outcomes
    tee_stock = dict(
        StockBalance.objects.filter(sku__code="TEE-M").values_list("bucket", "quantity")
    )
    assert tee_stock["in_transit"] == 1
    assert_invariants(order)
