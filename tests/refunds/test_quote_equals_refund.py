"""Property: the refund a return's quote shows is the money it refunds.

For random orders (lines, discounts, tax, shipping, split prepaid tenders),
random policies (restocking and return-shipping fees) and random sequences of
returns over their units (each a random group, each unit kept, refunded or
exchanged for a variant at up to the same catalogue price,
each return for a merchant-fault reason or not, its refunds issued at once or
left pending), the quote taken just before a return is created equals the
sum of the refunds that return makes once its units pass QC, when nothing
changed in between: the total, the shipping within it, and what each tender
gives back. Earlier returns in the sequence (which may already have refunded
the order's shipping, taken fees, or promised a tender's money to a refund
not issued yet) are exactly the "nothing changed" history both must agree on.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import given
from hypothesis import strategies as st

from flows.policy import policy_version_create
from flows.return_events import return_handle_event
from flows.return_intake import return_create, return_quote
from flows.return_review import return_approve
from orders.models import Unit
from refunds.models import Refund, RefundTender
from returns.models import ReturnPolicy
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from returns.states import ReturnState
from tests.returns.test_properties import DB_SETTINGS, STOCK, _build_order, order_spec

pytestmark = pytest.mark.django_db

prepaid_spec = order_spec.flatmap(
    lambda spec: st.sampled_from(["card", "card+gift_card", "upi+wallet"]).map(
        lambda tenders: {**spec, "tenders": tenders}
    )
)
fees = st.fixed_dictionaries(
    {
        "restocking_fee": st.sampled_from([Decimal("0"), Decimal("25.00"), Decimal("400.00")]),
        "return_shipping_fee": st.sampled_from([Decimal("0"), Decimal("60.00")]),
    }
)


def _return_refunds(ret) -> tuple[Decimal, Decimal, dict[int, Decimal]]:
    sums = Refund.objects.filter(return_request=ret).aggregate(
        total=Sum("amount"), shipping=Sum("shipping_amount")
    )
    tenders = dict(
        RefundTender.objects.filter(refund__return_request=ret)
        .values("payment_id")
        .annotate(s=Sum("amount"))
        .values_list("payment_id", "s")
    )
    return sums["total"] or Decimal("0"), sums["shipping"] or Decimal("0"), tenders


def _quoted_tenders(quoted) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for t in quoted["tenders"]:
        out[t["payment"]] = out.get(t["payment"], Decimal("0")) + Decimal(t["amount"])
    return out


@DB_SETTINGS
@given(spec=prepaid_spec, policy=fees, data=st.data())
def test_quote_equals_refund_for_random_return_sequences(
    spec,
    policy,
    data,
    make_sku,
    make_order,
    deliver_order,
    actor,
    django_capture_on_commit_callbacks,
):
    # given a random policy with keep-it allowed, and a random delivered order, prepaid
    base = ReturnPolicy.objects.order_by("-version").first()
    policy_version_create(
        base=base, data={**policy, "keep_it_max_value": Decimal("100000.00")}, actor=None
    )
    order = _build_order(spec, make_sku, make_order, deliver_order)
    # and, per line, another variant at up to the same catalogue price (an exchange)
    variants = {}
    for line in order.lines.select_related("sku"):
        pct = data.draw(st.integers(min_value=50, max_value=100), label="variant price %")
        price = max(Decimal("0.01"), (line.sku.price * pct / 100).quantize(Decimal("0.01")))
        alt = make_sku(f"{line.sku.code}-ALT", price, stock=STOCK, product=line.sku.product)
        variants[line.pk] = alt.code
    line_of = dict(Unit.objects.filter(order=order).values_list("pk", "line_id"))
    waiting = data.draw(
        st.permutations(list(Unit.objects.filter(order=order).values_list("pk", flat=True))),
        label="sequence",
    )
    while waiting:
        size = data.draw(st.integers(min_value=1, max_value=len(waiting)), label="size")
        group, waiting = waiting[:size], waiting[size:]
        reason = data.draw(st.sampled_from(["changed_mind", "wrong_item"]), label="reason")
        resolutions = data.draw(
            st.lists(st.sampled_from(["refund", "keep", "exchange"]), min_size=size, max_size=size),
            label="resolutions",
        )
        issue = data.draw(st.booleans(), label="issue refunds at once")
        req = ReturnRequest(
            order=order.number,
            items=[
                ItemRequest(
                    reason=reason,
                    resolution=r,
                    unit=u,
                    exchange_sku=variants[line_of[u]] if r == "exchange" else None,
                )
                for u, r in zip(group, resolutions, strict=True)
            ],
        )
        sent_back = [u for u, r in zip(group, resolutions, strict=True) if r != "keep"]
        # when the customer is quoted, then creates the return at once
        quoted = return_quote(req)["breakdown"]
        with django_capture_on_commit_callbacks(execute=issue):
            ret = return_create(req, actor=actor)
        if ret.state == ReturnState.PENDING_REVIEW:
            with django_capture_on_commit_callbacks(execute=issue):
                return_approve(rma=ret.rma, actor=actor)
        events = [ReturnEventData(type="exchange_dispatched")] if "exchange" in resolutions else []
        events += [
            ReturnEventData(type="pickup_completed"),
            ReturnEventData(type="received", location="wh-main"),
            ReturnEventData(
                type="qc_result", results=[QcResult(unit=u, passed=True) for u in sent_back]
            ),
        ]
        for ev in events if sent_back else []:
            with django_capture_on_commit_callbacks(execute=issue):
                return_handle_event(rma=ret.rma, data=ev, actor=actor)
        # then what the return refunds is what the quote showed, shipping and tenders included
        total, shipping, tenders = _return_refunds(ret)
        assert (total, shipping, tenders) == (
            Decimal(quoted["total"]),
            Decimal(quoted["shipping"]),
            _quoted_tenders(quoted),
        ), (
            quoted,
            list(Refund.objects.filter(return_request=ret).values("kind", "amount", "breakdown")),
        )
