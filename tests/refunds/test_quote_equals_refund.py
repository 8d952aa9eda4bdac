"""Property: the refund a return's quote shows is the money it refunds.

For random orders (lines, discounts, tax, shipping, split prepaid tenders) and
random sequences of returns over their units (each a random group, for a
merchant-fault reason or not), the quote taken just before a return is
created equals the sum of the refunds that return makes once its units pass
QC, when nothing changed in between: the total, and the shipping within it.
Earlier returns in the sequence (which may already have refunded the order's
shipping, or taken fees) are exactly the "nothing changed" history both must
agree on.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import given
from hypothesis import strategies as st

from flows.return_events import return_handle_event
from flows.return_intake import return_create, return_quote
from flows.return_review import return_approve
from orders.models import Unit
from refunds.models import Refund
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from returns.states import ReturnState
from tests.returns.test_properties import DB_SETTINGS, _build_order, order_spec

pytestmark = pytest.mark.django_db

prepaid_spec = order_spec.flatmap(
    lambda spec: st.sampled_from(["card", "card+gift_card", "upi+wallet"]).map(
        lambda tenders: {**spec, "tenders": tenders}
    )
)


def _return_refunds(ret) -> tuple[Decimal, Decimal]:
    sums = Refund.objects.filter(return_request=ret).aggregate(
        total=Sum("amount"), shipping=Sum("shipping_amount")
    )
    return sums["total"] or Decimal("0"), sums["shipping"] or Decimal("0")


@DB_SETTINGS
@given(spec=prepaid_spec, data=st.data())
def test_quote_equals_refund_for_random_return_sequences(
    spec, data, make_sku, make_order, deliver_order, actor, django_capture_on_commit_callbacks
):
    # given a random delivered order, prepaid
    order = _build_order(spec, make_sku, make_order, deliver_order)
    waiting = data.draw(
        st.permutations(list(Unit.objects.filter(order=order).values_list("pk", flat=True))),
        label="sequence",
    )
    while waiting:
        size = data.draw(st.integers(min_value=1, max_value=len(waiting)), label="size")
        group, waiting = waiting[:size], waiting[size:]
        reason = data.draw(st.sampled_from(["changed_mind", "wrong_item"]), label="reason")
        req = ReturnRequest(
            order=order.number,
            items=[ItemRequest(reason=reason, resolution="refund", unit=u) for u in group],
        )
        # when the customer is quoted, then creates the return at once
        quoted = return_quote(req)["breakdown"]
        with django_capture_on_commit_callbacks(execute=True):
            ret = return_create(req, actor=actor)
        if ret.state == ReturnState.PENDING_REVIEW:
            with django_capture_on_commit_callbacks(execute=True):
                return_approve(rma=ret.rma, actor=actor)
        for ev in (
            ReturnEventData(type="pickup_completed"),
            ReturnEventData(type="received", location="wh-main"),
            ReturnEventData(
                type="qc_result", results=[QcResult(unit=u, passed=True) for u in group]
            ),
        ):
            with django_capture_on_commit_callbacks(execute=True):
                return_handle_event(rma=ret.rma, data=ev, actor=actor)
        # then what the return refunds is what the quote showed, shipping included
        total, shipping = _return_refunds(ret)
        assert (total, shipping) == (Decimal(quoted["total"]), Decimal(quoted["shipping"])), (
            quoted,
            list(Refund.objects.filter(return_request=ret).values("kind", "amount", "breakdown")),
        )
