"""Property: random orders, random cancellations interleaved with partial
deliveries, then returns of everything delivered.

Whatever the order (lines, discounts, tax, shipping, split tenders, cash on
delivery alone or with a gift card):
- what the merchant holds plus the cash still to collect is exactly what the
  customer owes for the units not cancelled (their net paid, shipping once);
- refunds and credits never exceed what a tender captured;
- the ledger reconciles and stock balances equal their movements, with
  physical stock conserved;
- when everything delivered comes back and passes QC, nothing is retained.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import given
from hypothesis import strategies as st

from flows.cancellation import order_cancel as order_cancel_units
from flows.delivery import shipment_deliver
from flows.return_events import return_handle_event
from flows.return_intake import return_create
from flows.return_review import return_approve
from inventory.models import StockBalance
from inventory.selectors import stock_ledger_mismatches
from orders.models import Payment, Unit
from orders.services import shipment_create
from orders.states import UnitState
from refunds.models import Refund, RefundTender
from refunds.selectors import order_ledger
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from returns.states import ReturnState
from tests.cancellation.helpers import cod_still_to_collect, owed, retained
from tests.returns.test_properties import DB_SETTINGS, STOCK, _build_order, order_spec

pytestmark = pytest.mark.django_db

spec_with_mixed_cod = order_spec.flatmap(
    lambda spec: st.sampled_from(
        ["card", "card+gift_card", "upi+wallet", "cod", "gift_card+cod"]
    ).map(lambda tenders: {**spec, "tenders": tenders})
)


def _check(order) -> None:
    for p in Payment.objects.filter(order=order):
        given_back = RefundTender.objects.filter(payment=p, refund__state="issued").aggregate(
            s=Sum("amount")
        )["s"] or Decimal("0")
        assert given_back == p.refunded_amount <= p.captured_amount, p
        assert p.captured_amount <= p.amount
    assert order_ledger(order)["balanced"] is True
    assert stock_ledger_mismatches() == []
    shipping = Refund.objects.filter(order=order).aggregate(s=Sum("shipping_amount"))["s"]
    assert (shipping or Decimal("0")) <= order.shipping_amount
    out = Counter(
        Unit.objects.filter(
            order=order, state__in=[UnitState.SHIPPED, UnitState.DELIVERED]
        ).values_list("sku_id", flat=True)
    )
    for sku_id in Unit.objects.filter(order=order).values_list("sku_id", flat=True).distinct():
        held = StockBalance.objects.filter(sku_id=sku_id).aggregate(s=Sum("quantity"))["s"]
        assert held == STOCK - out[sku_id], (sku_id, held, out[sku_id])


@DB_SETTINGS
@given(spec=spec_with_mixed_cod, data=st.data())
def test_random_cancellations_keep_money_and_stock_exact(
    spec, data, make_sku, make_order, actor, django_capture_on_commit_callbacks
):
    # given a random order, nothing shipped yet
    order = _build_order(spec, make_sku, make_order, deliver_order=lambda o: None)
    units = list(Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True))
    # when units are cancelled or shipped and delivered in random groups
    waiting = data.draw(st.permutations(units), label="sequence")
    while waiting:
        size = data.draw(st.integers(min_value=1, max_value=len(waiting)), label="size")
        group, waiting = waiting[:size], waiting[size:]
        with django_capture_on_commit_callbacks(execute=True):
            if data.draw(st.booleans(), label="cancel"):
                order_cancel_units(order=order, unit_ids=group, actor=actor, reason="property")
            else:
                shipment = shipment_create(order=order, unit_ids=group, actor=actor)
                shipment_deliver(shipment_id=shipment.pk, actor=actor)
        _check(order)
        # then the customer pays exactly for what was not cancelled
        assert retained(order) + cod_still_to_collect(order) == owed(order)
    # when everything delivered comes back and passes QC
    delivered = list(
        Unit.objects.filter(order=order, state=UnitState.DELIVERED).values_list("pk", flat=True)
    )
    if delivered:
        method = "store_credit" if "cod" in spec["tenders"] else "original"
        with django_capture_on_commit_callbacks(execute=True):
            ret = return_create(
                ReturnRequest(
                    order=order.number,
                    items=[
                        ItemRequest(reason="changed_mind", resolution="refund", unit=u)
                        for u in delivered
                    ],
                    refund_method=method,
                ),
                actor=actor,
            )
        if ret.state == ReturnState.PENDING_REVIEW:
            # the risk check held it (examples share the customer, whose
            # returns add up, and a large order weighs too): an agent approves
            with django_capture_on_commit_callbacks(execute=True):
                ret = return_approve(rma=ret.rma, actor=actor, note="property test")
        for ev in (
            ReturnEventData(type="pickup_completed"),
            ReturnEventData(type="received", location="wh-main"),
            ReturnEventData(
                type="qc_result", results=[QcResult(unit=u, passed=True) for u in delivered]
            ),
        ):
            with django_capture_on_commit_callbacks(execute=True):
                return_handle_event(rma=ret.rma, data=ev, actor=actor)
            _check(order)
    # then every unit is cancelled or refunded and nothing is retained
    states = set(Unit.objects.filter(order=order).values_list("state", flat=True))
    assert states <= {UnitState.CANCELLED, UnitState.REFUNDED}
    assert not Refund.objects.filter(order=order).exclude(state="issued").exists()
    assert retained(order) == 0
    assert cod_still_to_collect(order) == 0
