"""Property-based tests: random orders, random sequences of partial returns.

Whatever the order (lines, discounts, shipping, split tenders, cash on
delivery) and whatever order the customer sends units back in, with QC passing
or failing:
- refunds never exceed what was captured, per tender;
- stock balances equal their ledger, and physical stock is conserved;
- every unit is in exactly one state that agrees with its return items;
- when everything comes back and passes, the refunds add up exactly to what
  was paid for the items plus shipping once.
"""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from flows.return_events import return_handle_event
from flows.return_intake import return_create
from inventory.models import StockBalance
from orders.models import Payment, Unit
from orders.services import PaymentData
from orders.states import OPEN_RETURN_STATES, UnitState
from refunds.models import Refund, RefundItem, RefundTender
from refunds.pricing import Tender, price_return, split_tenders
from returns.models import ReturnItem, ReturnPolicy
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from tests.returns.helpers import assert_invariants

pytestmark = pytest.mark.django_db

STOCK = 50
_codes = itertools.count(1)

# No shrinking for database examples: each one is slow and the data grows, so
# shrinking could run for minutes; the failing example is printed as found.
DB_SETTINGS = settings(
    max_examples=30,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

paise = st.integers(min_value=1, max_value=500_000).map(lambda p: Decimal(p) / 100)
line = st.tuples(
    paise,  # unit price
    st.integers(min_value=1, max_value=3),  # quantity
    st.integers(min_value=0, max_value=30),  # line discount, % of the line value
    st.sampled_from([Decimal("0"), Decimal("5"), Decimal("12"), Decimal("18")]),  # tax rate
)
order_spec = st.fixed_dictionaries(
    {
        "lines": st.lists(line, min_size=1, max_size=4),
        "order_discount_pct": st.integers(min_value=0, max_value=40),
        "shipping": st.sampled_from([Decimal("0"), Decimal("49.00"), Decimal("99.50")]),
        "tenders": st.sampled_from(["card", "card+gift_card", "upi+wallet", "cod"]),
        "split_pct": st.integers(min_value=1, max_value=99),
        "prices_include_tax": st.booleans(),
    }
)


def _build_order(spec, make_sku, make_order, deliver_order):
    lines = []
    for price, qty, disc_pct, tax in spec["lines"]:
        code = f"HYP-{next(_codes)}"
        make_sku(code, price, tax_rate=tax, stock=STOCK, product=code.lower())
        discount = (price * qty * disc_pct / 100).quantize(Decimal("0.01"))
        lines.append(
            {
                "sku": code,
                "quantity": qty,
                "unit_price": price,
                "discount": discount,
                "tax_rate": tax,
            }
        )
    gross = sum((ln["unit_price"] * ln["quantity"] - ln["discount"] for ln in lines), Decimal("0"))
    order_discount = (gross * spec["order_discount_pct"] / 100).quantize(Decimal("0.01"))
    from orders.allocation import LineInput, allocate_order

    alloc = allocate_order(
        currency="INR",
        prices_include_tax=spec["prices_include_tax"],
        lines=[
            LineInput(ln["unit_price"], ln["quantity"], ln["tax_rate"], ln["discount"])
            for ln in lines
        ],
        order_discount=order_discount,
    )
    total = alloc.items_total + spec["shipping"]
    methods = spec["tenders"].split("+")
    if len(methods) == 2 and total >= Decimal("0.02"):
        first = max(Decimal("0.01"), (total * spec["split_pct"] / 100).quantize(Decimal("0.01")))
        first = min(first, total - Decimal("0.01"))
        payments = [PaymentData(methods[0], first), PaymentData(methods[1], total - first)]
    else:
        payments = [PaymentData(methods[0], total)]
    order = make_order(
        lines,
        order_discount=order_discount,
        shipping=spec["shipping"],
        payments=payments,
        prices_include_tax=spec["prices_include_tax"],
    )
    deliver_order(order)
    return order


def test_an_order_whose_total_is_not_exact_in_binary_is_accepted(make_sku, make_order):
    # given items of 107.29 and shipping of 49.00 (107.29 + 49.0 != 156.29 in floats)
    make_sku("FLOAT-1", Decimal("107.29"), stock=1)
    # when the order is taken
    order = make_order([("FLOAT-1", 1)], shipping=Decimal("49.00"))
    # then it exists with the exact total
    assert order.grand_total == Decimal("156.29")


def test_a_fully_discounted_line_whose_value_is_not_exact_in_binary_is_accepted(
    make_sku, make_order
):
    # given 3 x 0.70 (2.0999999999999996 in floats) discounted by the full 2.10
    make_sku("FLOAT-2", Decimal("0.70"), stock=3)
    make_sku("FLOAT-3", Decimal("10.00"), stock=1)
    # when the order is taken
    order = make_order([("FLOAT-2", 3, Decimal("0.70"), Decimal("2.10")), ("FLOAT-3", 1)])
    # then the free line is stored
    assert order.lines.get(sku__code="FLOAT-2").discount == Decimal("2.10")


def _physical_stock_is_conserved(order) -> None:
    """Every unit is either with the customer (shipped, delivered, awaiting
    pickup, rejected at QC) or back in one of our buckets."""
    with_customer = {
        UnitState.SHIPPED,
        UnitState.DELIVERED,
        UnitState.RETURN_REQUESTED,
        UnitState.RETURN_REJECTED,
        UnitState.KEPT,
    }
    out = Counter(
        Unit.objects.filter(order=order, state__in=with_customer).values_list("sku_id", flat=True)
    )
    for sku_id in Unit.objects.filter(order=order).values_list("sku_id", flat=True).distinct():
        held = StockBalance.objects.filter(sku_id=sku_id).aggregate(s=Sum("quantity"))["s"]
        assert held == STOCK - out[sku_id], (sku_id, held, out[sku_id])


def _units_agree_with_returns(order) -> None:
    units = dict(Unit.objects.filter(order=order).values_list("pk", "state"))
    items = Counter(
        ReturnItem.objects.filter(unit__order=order, is_open=True).values_list("unit_id", flat=True)
    )
    refunded = Counter(
        RefundItem.objects.filter(unit__order=order, kind="return").values_list(
            "unit_id", flat=True
        )
    )
    for unit_id, state in units.items():
        assert state in UnitState.values
        if state in OPEN_RETURN_STATES:
            assert items[unit_id] == 1, (unit_id, state)
        else:
            assert items[unit_id] == 0, (unit_id, state)
        # (a refund eaten entirely by fees settles its units with no money)
        assert refunded[unit_id] <= 1
        if refunded[unit_id]:
            assert state in (UnitState.PENDING_REFUND, UnitState.REFUNDED), (unit_id, state)
        if state == UnitState.DELIVERED:
            assert not ReturnItem.objects.filter(unit_id=unit_id).exists()


def _check(order) -> None:
    assert_invariants(order)
    _physical_stock_is_conserved(order)
    _units_agree_with_returns(order)
    for p in Payment.objects.filter(order=order):
        given_back = RefundTender.objects.filter(payment=p, refund__state="issued").aggregate(
            s=Sum("amount")
        )["s"] or Decimal("0")
        assert given_back == p.refunded_amount <= p.captured_amount
    shipping = Refund.objects.filter(order=order).aggregate(s=Sum("shipping_amount"))["s"]
    assert (shipping or Decimal("0")) <= order.shipping_amount


_utrs = itertools.count(100000000000)


def _pay_payouts(order, data, actor, capture) -> None:
    """Finance pays each pending payout, some only after the bank returned
    it and the customer corrected the details; a retried "paid" changes nothing."""
    from flows.payouts import payout_details_update, payout_failed, payout_paid
    from refunds.models import Payout

    for payout in Payout.objects.filter(refund__order=order, state="pending").order_by("pk"):
        with capture(execute=True):
            if data.draw(st.booleans(), label="bank returns it"):
                payout_failed(payout_id=payout.pk, reason="account closed", actor=actor)
                _check(order)
                payout_details_update(
                    rma=payout.refund.return_request.rma,
                    details={"upi_id": "prop.fixed@okaxis"},
                    actor=actor,
                )
            utr = str(next(_utrs))
            payout_paid(payout_id=payout.pk, utr=utr, actor=actor)
            payout_paid(payout_id=payout.pk, utr=utr, actor=actor)
        _check(order)


@DB_SETTINGS
@given(
    spec=order_spec,
    data=st.data(),
    fees=st.sampled_from([(Decimal("0"), Decimal("0")), (Decimal("25.00"), Decimal("79.00"))]),
)
def test_random_partial_returns_keep_money_stock_and_units_exact(
    spec, data, fees, make_sku, make_order, deliver_order, actor, django_capture_on_commit_callbacks
):
    # given a random delivered order and a policy with or without fees, that
    # holds no return for review (this is about money, stock and units: a
    # third return of a costly order would otherwise score 35 + 20 and wait)
    ReturnPolicy.objects.create(
        version=ReturnPolicy.objects.order_by("-version").first().version + 1,
        restocking_fee=fees[0],
        return_shipping_fee=fees[1],
        risk_weight_repeat_returner=0,
        risk_weight_high_order_value=0,
        risk_weight_high_item_value=0,
        review_value_limit=Decimal("9999999999.99"),
    )
    order = _build_order(spec, make_sku, make_order, deliver_order)
    units = list(Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True))
    cod = spec["tenders"] == "cod"
    # when the units come back in random groups, in a random order
    order_of_return = data.draw(st.permutations(units), label="order")
    cuts = sorted(
        data.draw(
            st.sets(st.integers(min_value=1, max_value=max(1, len(units) - 1)), max_size=3),
            label="cuts",
        )
    )
    groups = [
        g
        for g in (
            order_of_return[a:b] for a, b in zip([0, *cuts], [*cuts, len(units)], strict=True)
        )
        if g
    ]
    all_passed = True
    for group in groups:
        reason = data.draw(st.sampled_from(["changed_mind", "size_too_small", "wrong_item"]))
        passed = data.draw(st.booleans() | st.just(True), label="qc")
        all_passed &= passed
        method = "original"
        if cod:  # cash on delivery: store credit, or a bank/UPI payout finance makes
            method = data.draw(st.sampled_from(["store_credit", "bank_transfer"]), label="method")
        with django_capture_on_commit_callbacks(execute=True):
            ret = return_create(
                ReturnRequest(
                    order=order.number,
                    items=[ItemRequest(reason=reason, resolution="refund", unit=u) for u in group],
                    refund_method=method,
                    payout={"upi_id": "prop.test@okaxis"} if method == "bank_transfer" else {},
                ),
                actor=actor,
            )
        _check(order)
        for ev in (
            ReturnEventData(type="pickup_completed"),
            ReturnEventData(type="received", location="wh-main"),
            ReturnEventData(
                type="qc_result", results=[QcResult(unit=u, passed=passed) for u in group]
            ),
        ):
            with django_capture_on_commit_callbacks(execute=True):
                return_handle_event(rma=ret.rma, data=ev, actor=actor)
            _check(order)
        _pay_payouts(order, data, actor, django_capture_on_commit_callbacks)
    # then every unit is settled, and money is exact
    states = set(Unit.objects.filter(order=order).values_list("state", flat=True))
    assert states <= {UnitState.REFUNDED, UnitState.RETURN_REJECTED}
    assert not Refund.objects.filter(order=order).exclude(state="issued").exists()
    refunded = Payment.objects.filter(order=order).aggregate(s=Sum("refunded_amount"))["s"]
    captured = Payment.objects.filter(order=order).aggregate(s=Sum("captured_amount"))["s"]
    if all_passed and fees[0] == 0:
        # everything back and nothing withheld: exactly what was paid, shipping once
        assert refunded == captured == order.grand_total
    # and each refunded unit got back exactly its net paid (fees are separate)
    for item in RefundItem.objects.filter(unit__order=order).select_related("unit"):
        assert item.amount == item.unit.net_paid


@settings(max_examples=300, database=None)
@given(
    total=paise,
    caps=st.lists(st.integers(min_value=0, max_value=500_000), min_size=1, max_size=4),
    method=st.sampled_from(["original", "store_credit", "bank_transfer"]),
)
def test_split_never_exceeds_a_tender_and_adds_up(total, caps, method):
    # given tenders with what each can still give back
    tenders = [Tender(i, "card", Decimal(c) / 100) for i, c in enumerate(caps)]
    # when a refund is spread over them
    parts = split_tenders(total, tenders, method)
    # then no tender gives more than it can, and the parts add up to what fits
    for part in parts:
        assert Decimal(part["amount"]) <= tenders[part["payment"]].refundable
        assert Decimal(part["amount"]) > 0
    available = sum((t.refundable for t in tenders), Decimal("0"))
    assert sum((Decimal(p["amount"]) for p in parts), Decimal("0")) == min(total, available)


@settings(max_examples=300, database=None)
@given(
    nets=st.lists(paise, min_size=1, max_size=5),
    fee=st.integers(min_value=0, max_value=20_000).map(lambda p: Decimal(p) / 100),
    ship_fee=st.integers(min_value=0, max_value=20_000).map(lambda p: Decimal(p) / 100),
    cap=paise,
)
def test_price_return_is_never_negative_and_never_above_the_tenders(nets, fee, ship_fee, cap):
    from refunds.pricing import PricedUnit

    b = price_return(
        currency="INR",
        units=[PricedUnit(i, n, Decimal("0"), "refund", False) for i, n in enumerate(nets)],
        restocking_fee=fee,
        return_shipping_fee=ship_fee,
        needs_pickup=True,
        charge_fees=True,
        shipping_charge=Decimal("49.00"),
        shipping_due=False,
        tenders=[Tender(1, "card", cap)],
        refund_method="original",
    )
    assert Decimal("0") <= b.total <= cap
    assert b.fees <= b.items
    assert b.total == min(b.items - b.fees, cap)
