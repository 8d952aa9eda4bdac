"""Issue 15's statement ceilings for the detail reads: GET /orders/{n}/ and
GET /returns/{rma}/ take a constant number of statements, whatever the number
of lines, units, payments, shipments, returns or refunds. The caller's key
has called before (authentication cached, as in steady state); a read of the
database cache table, which stands in for Redis when there is none, is not
the view's and is not counted.

Order detail: the order (with its channel and customer), lines, units,
payments, shipments, returns; plus the loyalty adjustments for an order with
loyalty points. Return detail: its items with the return (its order
number, policy version and location), each item's unit, SKU, reason,
exchange SKU and quality's assessment, repair and photo count; refunds, their
tenders (only when there are refunds), timeline, SLA legs.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Unit
from tests.returns.helpers import create, unit_ids, walk_to_qc

pytestmark = pytest.mark.django_db

ORDER_DETAIL = 6
RETURN_DETAIL = 4
RETURN_DETAIL_WITH_REFUNDS = 5


def _statements(api, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path)
    assert response.status_code == 200, response.json()
    # Without Redis (the SQLite runs) the shared cache is a table: its read of
    # the cached key is the cache's, not the view's (Redis on PostgreSQL runs).
    return len([q for q in ctx.captured_queries if '"oms_cache"' not in q["sql"]])


@pytest.fixture
def delivered(make_sku, make_order, deliver_order):
    """delivered(lines, qty) → a delivered order of ``lines`` lines of ``qty`` units."""

    def make(lines: int, qty: int = 1):
        for i in range(lines):
            make_sku(f"RC-{i:02d}", Decimal("100.00"), product=f"rc{i}", stock=100)
        order = make_order([(f"RC-{i:02d}", qty) for i in range(lines)])
        deliver_order(order)
        return order

    return make


@pytest.fixture
def warm(storefront_api, warehouse_api):
    for api in (storefront_api, warehouse_api):
        assert api.get("/api/v1/orders/?limit=1").status_code == 200


def _refund_return(api, order, units) -> str:
    r = create(
        api,
        {
            "order": order.number,
            "items": [{"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in units],
        },
    )
    assert r.status_code == 201, r.json()
    return r.json()["rma"]


def test_order_detail_takes_the_same_statements_for_1_line_and_20_lines_with_returns(
    delivered, storefront_api, warehouse_api, warm, django_capture_on_commit_callbacks
):
    # given an order of 1 line and one of 20 lines of 2 units, the big one
    # with three returns, one of them refunded
    small = delivered(1)
    big = delivered(20, qty=2)
    units = unit_ids(big)
    with django_capture_on_commit_callbacks(execute=True):
        refunded = _refund_return(storefront_api, big, units[:4])
        walk_to_qc(warehouse_api, refunded, units[:4])
    _refund_return(storefront_api, big, units[4:10])
    _refund_return(storefront_api, big, units[10:11])
    assert Unit.objects.filter(order=big).count() == 40

    # when each is read
    n_small = _statements(storefront_api, f"/api/v1/orders/{small.number}/")
    n_big = _statements(storefront_api, f"/api/v1/orders/{big.number}/")

    # then both take the ceiling's statements
    assert n_small == n_big == ORDER_DETAIL, (n_small, n_big)


def test_return_detail_takes_the_same_statements_for_1_unit_and_20_units(
    delivered, storefront_api, warm
):
    # given a return of 1 unit and one of 20 units
    one = delivered(1)
    many = delivered(20)
    rma_one = _refund_return(storefront_api, one, unit_ids(one))
    rma_many = _refund_return(storefront_api, many, unit_ids(many))

    # when each is read
    n_one = _statements(storefront_api, f"/api/v1/returns/{rma_one}/")
    n_many = _statements(storefront_api, f"/api/v1/returns/{rma_many}/")

    # then both take the ceiling's statements
    assert n_one == n_many == RETURN_DETAIL, (n_one, n_many)


def test_a_refunded_return_reads_its_tenders_in_one_more_statement(
    delivered, storefront_api, warehouse_api, warm, django_capture_on_commit_callbacks
):
    # given returns of 1 and of 10 units walked to QC: each has its refund issued
    one = delivered(1)
    many = delivered(10)
    rmas = []
    with django_capture_on_commit_callbacks(execute=True):
        for order in (one, many):
            rma = _refund_return(storefront_api, order, unit_ids(order))
            walk_to_qc(warehouse_api, rma, unit_ids(order))
            rmas.append(rma)
    assert all(storefront_api.get(f"/api/v1/returns/{r}/").json()["refunds"] for r in rmas)

    # when each is read
    counts = [_statements(storefront_api, f"/api/v1/returns/{r}/") for r in rmas]

    # then both take the ceiling's statements
    assert counts == [RETURN_DETAIL_WITH_REFUNDS] * 2, counts
