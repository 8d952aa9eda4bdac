"""The allocation rule (DOMAIN.md, Money): each unit's net paid is fixed at
intake and the units add up exactly to what the order charged for items."""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.money import from_minor
from orders.allocation import AllocationError, LineInput, allocate_order
from orders.models import Unit

CENT = Decimal("0.01")


@st.composite
def orders(draw):
    """Random orders: 1-6 lines, 1-5 units each, prices 0.00-99999.99, line
    discounts within the line value, an order discount within what remains."""
    lines = []
    remaining = 0
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        price = draw(st.integers(min_value=0, max_value=9_999_999))
        qty = draw(st.integers(min_value=1, max_value=5))
        discount = draw(st.integers(min_value=0, max_value=price * qty))
        rate = draw(st.sampled_from([Decimal("0"), Decimal("5"), Decimal("12"), Decimal("18")]))
        remaining += price * qty - discount
        lines.append(LineInput(from_minor(price, "INR"), qty, rate, from_minor(discount, "INR")))
    order_discount = from_minor(draw(st.integers(min_value=0, max_value=remaining)), "INR")
    return lines, order_discount, draw(st.booleans())


def _check(lines, order_discount, inclusive, alloc):
    units = [u for line_units in alloc.units for u in line_units]
    gross = sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0"))
    line_discounts = sum((ln.discount for ln in lines), Decimal("0"))
    unit_tax = sum((u.tax for u in units), Decimal("0"))
    expected = gross - line_discounts - order_discount + (Decimal("0") if inclusive else unit_tax)
    # the units add up exactly to the items total, which is what was charged
    assert sum((u.net_paid for u in units), Decimal("0")) == alloc.items_total == expected
    assert alloc.tax_total == unit_tax
    assert alloc.line_discount_total == line_discounts
    # every unit's discount share adds up to the discounts given
    assert sum((u.discount for u in units), Decimal("0")) == line_discounts + order_discount
    # one entry per unit, never negative, always whole paise
    assert [len(lu) for lu in alloc.units] == [ln.quantity for ln in lines]
    for u in units:
        assert u.net_paid >= 0
        assert u.tax >= 0
        assert u.discount >= 0
        assert u.net_paid.as_tuple().exponent == -2
        assert u.tax.as_tuple().exponent == -2
        if inclusive:
            assert u.tax <= u.net_paid
    # each unit's net paid is its price less its discounts (plus tax if exclusive)
    for line, line_units in zip(lines, alloc.units, strict=True):
        for u in line_units:
            plus_tax = Decimal("0") if inclusive else u.tax
            assert u.net_paid == line.unit_price - u.discount + plus_tax


@given(orders())
def test_units_add_up_exactly_to_the_items_total(order):
    # given a random order
    lines, order_discount, inclusive = order
    # when it is allocated
    alloc = allocate_order(
        currency="INR", prices_include_tax=inclusive, lines=lines, order_discount=order_discount
    )
    # then
    _check(lines, order_discount, inclusive, alloc)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=orders())
def test_order_created_by_the_service_stores_units_that_add_up(order, make_order, make_sku):
    lines, order_discount, inclusive = order
    with transaction.atomic():
        # given SKUs for the lines
        specs = []
        for i, ln in enumerate(lines):
            make_sku(f"PROP-{i}", ln.unit_price, tax_rate=ln.tax_rate)
            specs.append(
                {
                    "sku": f"PROP-{i}",
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price,
                    "tax_rate": ln.tax_rate,
                    "discount": ln.discount,
                }
            )
        # when the order is created through intake
        created = make_order(specs, order_discount=order_discount, prices_include_tax=inclusive)
        # then the stored units add up to the stored items total
        stored = list(Unit.objects.filter(order=created).values_list("net_paid", flat=True))
        assert len(stored) == sum(ln.quantity for ln in lines)
        assert sum(stored, Decimal("0")) == created.items_total
        assert created.grand_total == created.items_total + created.shipping_amount
        transaction.set_rollback(True)


def _alloc(lines, order_discount=Decimal("0"), inclusive=True):
    return allocate_order(
        currency="INR",
        prices_include_tax=inclusive,
        lines=[LineInput(*ln) for ln in lines],
        order_discount=order_discount,
    )


def test_hand_checked_line_and_order_discount():
    # given 3 x 999.00 with 100.00 off the line and 200.00 off the order
    # (line shares 33.34/33.33/33.33 leave 965.66/965.67/965.67; the order
    # discount splits 66.66/66.67/66.67 on those values)
    alloc = _alloc([(Decimal("999.00"), 3, Decimal("0"), Decimal("100.00"))], Decimal("200.00"))
    # then every unit paid exactly 899.00 and carries 100.00 of discount
    units = alloc.units[0]
    assert [u.net_paid for u in units] == [Decimal("899.00")] * 3
    assert [u.discount for u in units] == [Decimal("100.00")] * 3
    assert alloc.items_total == Decimal("2697.00")


def test_uneven_split_gives_the_extra_paisa_to_the_first_unit():
    # given 3 x 100.00 with a 100.00 line discount
    alloc = _alloc([(Decimal("100.00"), 3, Decimal("0"), Decimal("100.00"))])
    # then the discount splits 33.34 / 33.33 / 33.33
    units = alloc.units[0]
    assert [u.discount for u in units] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert [u.net_paid for u in units] == [Decimal("66.66"), Decimal("66.67"), Decimal("66.67")]
    assert alloc.items_total == Decimal("200.00")


def test_order_discount_follows_value_across_lines():
    # given a 300.00 and a 100.00 unit with 40.00 off the order
    alloc = _alloc(
        [
            (Decimal("300.00"), 1, Decimal("0"), Decimal("0")),
            (Decimal("100.00"), 1, Decimal("0"), Decimal("0")),
        ],
        Decimal("40.00"),
    )
    # then the discount lands 30.00 / 10.00
    assert [lu[0].net_paid for lu in alloc.units] == [Decimal("270.00"), Decimal("90.00")]


def test_tax_exclusive_prices_add_tax_per_unit():
    # given 2 x 100.00 at 18% exclusive with 10.00 off the order
    alloc = _alloc(
        [(Decimal("100.00"), 2, Decimal("18"), Decimal("0"))], Decimal("10.00"), inclusive=False
    )
    # then each unit is 95.00 + 17.10 tax
    assert [u.net_paid for u in alloc.units[0]] == [Decimal("112.10")] * 2
    assert [u.tax for u in alloc.units[0]] == [Decimal("17.10")] * 2
    assert alloc.items_total == Decimal("224.20")
    assert alloc.tax_total == Decimal("34.20")


def test_tax_inclusive_prices_contain_the_tax():
    # given 118.00 at 18% inclusive, and 10.00 at 5% inclusive (0.476.. rounds to 0.48)
    alloc = _alloc(
        [
            (Decimal("118.00"), 1, Decimal("18"), Decimal("0")),
            (Decimal("10.00"), 1, Decimal("5"), Decimal("0")),
        ]
    )
    # then the price is what was paid and the tax is carved out of it
    assert [lu[0].net_paid for lu in alloc.units] == [Decimal("118.00"), Decimal("10.00")]
    assert [lu[0].tax for lu in alloc.units] == [Decimal("18.00"), Decimal("0.48")]


def test_free_items_still_allocate():
    alloc = _alloc([(Decimal("0.00"), 2, Decimal("18"), Decimal("0"))])
    assert [u.net_paid for u in alloc.units[0]] == [Decimal("0.00")] * 2
    assert alloc.items_total == Decimal("0.00")


def test_line_discount_larger_than_the_line_is_refused():
    with pytest.raises(AllocationError) as exc:
        _alloc([(Decimal("10.00"), 2, Decimal("0"), Decimal("20.01"))])
    assert exc.value.field == "lines[0].discount"


def test_order_discount_larger_than_the_items_is_refused():
    with pytest.raises(AllocationError) as exc:
        _alloc([(Decimal("10.00"), 2, Decimal("0"), Decimal("5.00"))], Decimal("15.01"))
    assert exc.value.field == "order_discount"
