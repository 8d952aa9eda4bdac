"""Database queries per request stay constant as an order grows: the count is
the same for an order of 1 line and of 50 lines."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.returns.helpers import create, event, unit_ids

pytestmark = pytest.mark.django_db

LINES = (1, 50)


@pytest.fixture
def orders(make_sku, make_order, deliver_order):
    """A delivered order of n lines (one unit each) per n in LINES."""
    out = {}
    for n in LINES:
        for i in range(n):
            make_sku(f"Q{n}-{i}", Decimal("100.00") + i, product=f"q{n}x{i}", stock=5)
        o = make_order(
            [(f"Q{n}-{i}", 1) for i in range(n)],
            order_discount=Decimal("10.00"),
            shipping=Decimal("40.00"),
        )
        deliver_order(o)
        out[n] = o
    return out


def _count(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code in (200, 201), response.json()
    return len(ctx.captured_queries), response


def _all_units_body(order):
    return {
        "order": order.number,
        "items": [
            {"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in unit_ids(order)
        ],
    }


def test_queries_per_request_do_not_grow_with_lines(
    orders,
    storefront_api,
    warehouse_api,
    finance_api,
    django_capture_on_commit_callbacks,
    config_kept,
):
    # keys that have called before: authentication cached (steady state)
    for client in (storefront_api, warehouse_api, finance_api):
        assert client.get("/api/v1/orders/?limit=1").status_code == 200
    counts = {}
    for n, order in orders.items():
        # given an order of n lines, every unit returned in one return
        body = _all_units_body(order)
        c = {}
        # when each request of the flow is made
        c["quote"], _ = _count(
            lambda b=body: storefront_api.post("/api/v1/returns/quote/", b, format="json")
        )
        c["create"], r = _count(lambda b=body: create(storefront_api, b))
        rma = r.json()["rma"]
        c["order_detail"], _ = _count(
            lambda o=order: storefront_api.get(f"/api/v1/orders/{o.number}/")
        )
        c["returnable"], _ = _count(
            lambda o=order: storefront_api.get(f"/api/v1/orders/{o.number}/returnable/")
        )
        c["return_detail"], _ = _count(lambda m=rma: storefront_api.get(f"/api/v1/returns/{m}/"))
        c["pickup"], _ = _count(lambda m=rma: event(warehouse_api, m, {"type": "pickup_completed"}))
        c["received"], _ = _count(
            lambda m=rma: event(warehouse_api, m, {"type": "received", "location": "wh-main"})
        )
        results = [{"unit": u, "passed": True} for u in unit_ids(order)]
        # (QC makes the refund due; issuing it runs after commit, counted too)
        with (
            CaptureQueriesContext(connection) as ctx,
            django_capture_on_commit_callbacks(execute=True),
        ):
            r = event(warehouse_api, rma, {"type": "qc_result", "results": results})
        assert r.status_code == 200, r.json()
        c["qc_and_refund"] = len(ctx.captured_queries)
        c["refunds"], r = _count(
            lambda o=order: storefront_api.get(f"/api/v1/refunds/?order={o.number}")
        )
        assert r.json()[0]["state"] == "issued"
        c["ledger"], r = _count(
            lambda o=order: finance_api.get(f"/api/v1/orders/{o.number}/ledger/")
        )
        assert r.json()["balanced"] is True
        counts[n] = c
    # then every request costs the same number of queries for 1 and 50 lines
    assert counts[1] == counts[50], counts
    assert max(counts[50].values()) <= 150, counts
