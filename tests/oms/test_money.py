"""Money and the largest-remainder split every refund relies on."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms.money import (
    CurrencyMismatch,
    Money,
    allocate,
    from_minor,
    round_money,
    to_minor,
)

weights = st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=30)


@given(total=st.integers(min_value=0, max_value=10**12), weights=weights)
def test_allocate_parts_add_up_exactly_and_stay_within_one_of_the_exact_share(total, weights):
    # given a total and any non-negative weights
    # when it is split
    parts = allocate(total, weights)
    # then the parts add up to the total, none is negative, and each is the
    # exact proportional share rounded down or up
    assert sum(parts) == total
    assert len(parts) == len(weights)
    assert all(p >= 0 for p in parts)
    total_weight = sum(weights) or len(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = Fraction(total * (w if sum(weights) else 1), total_weight)
        assert abs(part - exact) < 1


@given(total=st.integers(min_value=0, max_value=10**9), weights=weights)
def test_allocate_is_deterministic(total, weights):
    assert allocate(total, list(weights)) == allocate(total, list(weights))


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # tie: the earliest position gets the extra unit
        (2, [1, 1, 1], [1, 1, 0]),
        (1, [5, 5], [1, 0]),
        (10000, [99900, 99900, 99900], [3334, 3333, 3333]),
        (20000, [96566, 96567, 96567], [6666, 6667, 6667]),  # larger remainders win
        (7, [0, 3, 4], [0, 3, 4]),
        (5, [Fraction(1, 3), Fraction(2, 3)], [2, 3]),
    ],
)
def test_allocate_known_splits(total, weights, expected):
    assert allocate(total, weights) == expected


def test_allocate_with_all_weights_zero_splits_evenly():
    # given items that are all free
    # when a discount of 10 minor units lands on them
    # then it is split evenly, remainder to the earliest
    assert allocate(10, [0, 0, 0]) == [4, 3, 3]


def test_allocate_over_nothing():
    assert allocate(0, []) == []
    with pytest.raises(ValueError, match="over nothing"):
        allocate(5, [])


def test_allocate_refuses_negative_weights():
    with pytest.raises(ValueError, match="negative"):
        allocate(10, [1, -1])


def test_money_refuses_floats():
    with pytest.raises(TypeError, match="float"):
        Money(0.1, "INR")


def test_money_refuses_mixed_currencies():
    # given amounts in two currencies
    inr, usd = Money(Decimal("10.00"), "INR"), Money(Decimal("10.00"), "USD")
    # then no arithmetic or comparison mixes them
    with pytest.raises(CurrencyMismatch):
        inr + usd
    with pytest.raises(CurrencyMismatch):
        inr - usd
    with pytest.raises(CurrencyMismatch):
        inr < usd  # noqa: B015


def test_money_refuses_unknown_currency():
    with pytest.raises(ValueError, match="Unknown currency"):
        Money(Decimal("1"), "XXX")


def test_money_rounds_half_up_to_the_minor_unit():
    assert Money(Decimal("10.005"), "INR").amount == Decimal("10.01")
    assert Money(Decimal("10.004"), "INR").amount == Decimal("10.00")
    assert Money(Decimal("99.5"), "JPY").amount == Decimal("100")
    assert str(Money(Decimal("10"), "INR")) == "10.00 INR"


def test_money_arithmetic_keeps_currency_and_precision():
    total = Money(Decimal("0.10"), "INR") + Money(Decimal("0.20"), "INR")
    assert total == Money(Decimal("0.30"), "INR")
    assert (total - Money(Decimal("0.30"), "INR")) == Money.zero("INR")
    assert -Money(Decimal("1.50"), "INR") == Money(Decimal("-1.50"), "INR")
    assert Money(Decimal("1"), "INR") <= Money(Decimal("1.00"), "INR")


def test_minor_unit_conversions():
    assert to_minor(Decimal("10.15"), "INR") == 1015
    assert to_minor(Decimal("10"), "JPY") == 10
    assert from_minor(1015, "INR") == Decimal("10.15")
    assert str(from_minor(5, "INR")) == "0.05"
    assert round_money(Decimal("2.675"), "INR") == Decimal("2.68")
    with pytest.raises(ValueError, match="more decimals"):
        to_minor(Decimal("10.155"), "INR")
