"""The money rules as pure functions (``refunds.pricing``,
``orders.allocation.exchange_difference``): no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.allocation import exchange_difference
from refunds.pricing import BatchItem, MoneyState, ReturnTerms, Tender, batch_price

D = Decimal


def _terms(**over) -> ReturnTerms:
    values = {
        "currency": "INR",
        "return_type": "partial_return",
        "refund_method": "original",
        "restocking_fee": D("0"),
        "return_shipping_fee": D("100.00"),
        "partial_credit_percent": 30,
        "shipping_charge": D("0"),
        "any_merchant_fault": False,
    }
    return ReturnTerms(**(values | over))


def _state(**over) -> MoneyState:
    values = {
        "tenders": [Tender(1, "card", D("10000.00"))],
        "shipping_refunded": D("0"),
        "fees_taken": D("0"),
    }
    return MoneyState(**(values | over))


ITEMS = [
    BatchItem(1, D("500.00"), D("0"), "refund", False),
    BatchItem(2, D("300.00"), D("0"), "refund", True),
]
STATES = {1: "pending_refund", 2: "pending_refund", 3: "delivered"}


def test_the_return_shipping_fee_is_taken_once_and_only_without_merchant_fault():
    # given a changed-mind unit and a wrong-item unit, a third still delivered
    # when the return has no merchant-fault unit elsewhere, the fee is taken
    charged = batch_price(_terms(), ITEMS[:1], _state(), STATES)
    # when any unit of the return is merchant fault, it is not
    waived = batch_price(_terms(any_merchant_fault=True), ITEMS, _state(), STATES)
    # when an earlier refund of this return took fees, it is not taken again
    again = batch_price(_terms(), ITEMS[:1], _state(fees_taken=D("100.00")), STATES)
    # then
    assert (charged.return_shipping_fee, charged.total) == (D("100.00"), D("400.00"))
    assert (waived.return_shipping_fee, waived.total) == (D("0"), D("800.00"))
    assert (again.return_shipping_fee, again.total) == (D("0"), D("500.00"))


def test_a_part_cash_refusal_gives_back_only_the_prepaid_overpayment_units_first():
    # given two refused units of 2000 and 700 and shipping of 50 due back
    terms = _terms(return_type="doorstep_refusal", shipping_charge=D("50.00"))
    items = [
        BatchItem(7, D("700.00"), D("0"), "refund", False),
        BatchItem(4, D("2000.00"), D("0"), "refund", False),
    ]
    states = {4: "pending_refund", 7: "pending_refund"}
    # when the prepaid tenders overpaid 2100
    b = batch_price(terms, items, _state(overpaid=D("2100.00")), states)
    # then units are covered in id order, then shipping; no fees on a refusal
    assert b.total == D("2100.00")
    assert b.units == [{"unit": 4, "amount": "2000.00"}, {"unit": 7, "amount": "100.00"}]
    assert (b.items, b.shipping, b.fees) == (D("2100.00"), D("0.00"), D("0"))
    assert b.tenders == [{"payment": 1, "method": "card", "tender": "card", "amount": "2100.00"}]


def test_a_refusal_nothing_was_prepaid_for_refunds_nothing_and_says_why():
    terms = _terms(return_type="doorstep_refusal")
    b = batch_price(terms, ITEMS[:1], _state(overpaid=D("0")), {1: "pending_refund"})
    assert b.total == D("0")
    assert "never paid for" in b.notes[0]


@pytest.mark.parametrize(
    ("net_paid", "old_price", "new_price", "expected"),
    [
        (D("800.00"), D("1000.00"), D("1000.00"), D("0.00")),  # sale item, same list price
        (D("1180.00"), D("1000.00"), D("1200.00"), D("236.00")),  # 18% GST on top
        (D("929.87"), D("999.00"), D("799.00"), D("-186.16")),  # discounted, cheaper variant
        (D("999.00"), D("999.00"), D("1199.00"), D("200.00")),  # paid list price
    ],
)
def test_an_exchange_prices_the_new_variant_as_the_old_one_was_paid(
    net_paid, old_price, new_price, expected
):
    assert (
        exchange_difference(
            net_paid=net_paid, old_price=old_price, new_price=new_price, currency="INR"
        )
        == expected
    )
