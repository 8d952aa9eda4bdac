"""The reads a refund falling due starts with (``refunds.calculator``): the
order's refunds with their tenders, and its units with which of the units
asked about a refund already covers; each compiled once, whatever the
number of units asked about."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Unit
from refunds.calculator import refund_money_rows, refund_unit_rows
from refunds.models import Refund
from refunds.states import RefundKind
from tests.factories.returns import DeliveredOrderFactory, ReturnFactory

pytestmark = pytest.mark.django_db


def test_units_and_what_refunds_cover_for_any_units_asked_about():
    order = DeliveredOrderFactory(quantity=3)
    ret = ReturnFactory(order=order, units=2, completed=True)
    refunded = sorted(ret.items.values_list("unit_id", flat=True))
    (kept,) = Unit.objects.filter(order=order).exclude(pk__in=refunded).values_list("pk", flat=True)
    everyone = {(u.pk, u.state, u.net_paid) for u in Unit.objects.filter(order=order)}
    sqls = []
    for asked, covered in (
        ([*refunded, kept], {(u, RefundKind.RETURN) for u in refunded}),
        ([refunded[0]], {(refunded[0], RefundKind.RETURN)}),
        ([kept], set()),
        ([], set()),
    ):
        with CaptureQueriesContext(connection) as ctx:
            units, found = refund_unit_rows(order, asked)
        assert set(units) == everyone
        assert found == covered
        assert len(ctx.captured_queries) == 1
        sqls.append(ctx.captured_queries[0]["sql"])
    # one statement for every number of ids: compiled once, the ids one parameter
    from refunds.calculator.returns_money import _unit_rows

    assert len(_unit_rows.prepared_cache) == 1
    if connection.vendor == "postgresql":
        assert all(s.startswith("EXECUTE oms_unit_rows") for s in sqls)
    else:
        assert all("json_each" in s for s in sqls)


def test_the_refunds_with_their_tenders_one_row_per_tender():
    ret = ReturnFactory(units=2, completed=True)
    expected = [
        (
            r.pk,
            r.state,
            r.shipping_amount,
            r.fees_amount,
            r.return_request_id,
            t.payment_id,
            t.amount,
            t.state,
        )
        for r in Refund.objects.filter(order=ret.order)
        for t in r.tenders.all()
    ]
    assert expected
    assert sorted(refund_money_rows(ret.order), key=str) == sorted(expected, key=str)
