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


# --- tax stated per line (the platform's own figure) ------------------------------


@st.composite
def orders_with_line_tax(draw):
    """Random orders where some lines state the tax charged on them. With
    prices including tax, a line's tax is at most its value after discounts."""
    lines, order_discount, inclusive = draw(orders())
    baseline = allocate_order(
        currency="INR", prices_include_tax=inclusive, lines=lines, order_discount=order_discount
    )
    with_tax = []
    for line, units in zip(lines, baseline.units, strict=True):
        if draw(st.booleans()):
            with_tax.append(line)
            continue
        value = sum(line.unit_price - u.discount for u in units)
        cap = int(value * 100) if inclusive else max(int(value * 100), 1) * 2
        tax = from_minor(draw(st.integers(min_value=0, max_value=cap)), "INR")
        with_tax.append(
            LineInput(line.unit_price, line.quantity, line.tax_rate, line.discount, tax)
        )
    return with_tax, order_discount, inclusive, baseline


@given(orders_with_line_tax())
def test_stated_line_tax_is_split_exactly_over_the_units(order):
    # given a random order where some lines state their tax
    lines, order_discount, inclusive, baseline = order
    # when it is allocated
    alloc = allocate_order(
        currency="INR", prices_include_tax=inclusive, lines=lines, order_discount=order_discount
    )
    # then the general rules hold (sums exact, nothing negative, net = price - discount (+ tax))
    _check(lines, order_discount, inclusive, alloc)
    for line, units, before in zip(lines, alloc.units, baseline.units, strict=True):
        # discounts do not depend on tax
        assert [u.discount for u in units] == [u.discount for u in before]
        if line.tax is None:
            # a line without a stated tax is exactly what it was
            assert units == before
            continue
        # the units' tax adds up to the line's tax, to the paisa
        assert sum((u.tax for u in units), Decimal("0")) == line.tax
        # each share is within one paisa of its exact share by value after discounts
        bases = [line.unit_price - u.discount for u in units]
        total_base = sum(bases, Decimal("0"))
        for u, base in zip(units, bases, strict=True):
            exact = line.tax * base / total_base if total_base else line.tax / len(units)
            assert abs(u.tax - exact) < CENT


def test_stated_tax_on_two_units_exclusive():
    # given 2 x 3.00 where the platform charged 0.45 tax on the line (WooCommerce #727),
    # which per-unit rounding at 7.5% would make 0.23 + 0.23
    alloc = _alloc(
        [(Decimal("3.00"), 2, Decimal("7.5"), Decimal("0"), Decimal("0.45"))], inclusive=False
    )
    # then the tax splits 0.23 / 0.22 (the extra paisa to the first unit) and
    # the units paid 3.23 / 3.22
    units = alloc.units[0]
    assert [u.tax for u in units] == [Decimal("0.23"), Decimal("0.22")]
    assert [u.net_paid for u in units] == [Decimal("3.23"), Decimal("3.22")]
    assert (alloc.items_total, alloc.tax_total) == (Decimal("6.45"), Decimal("0.45"))


def test_stated_tax_that_is_not_the_rate_is_kept():
    # given Shopify order 450789469's line: 199.00 less 3.33 allocated, 3.98 tax at "6%"
    alloc = _alloc(
        [(Decimal("199.00"), 1, Decimal("6"), Decimal("3.33"), Decimal("3.98"))], inclusive=False
    )
    # then the unit carries the platform's 3.98, not 11.74
    (unit,) = alloc.units[0]
    assert (unit.net_paid, unit.tax, unit.discount) == (
        Decimal("199.65"),
        Decimal("3.98"),
        Decimal("3.33"),
    )


def test_stated_tax_inclusive_follows_value_after_discounts():
    # given 3 x 10.00 including tax, 1.00 off the line (0.34/0.33/0.33), 2.90 of it tax
    alloc = _alloc([(Decimal("10.00"), 3, Decimal("12"), Decimal("1.00"), Decimal("2.90"))])
    # then the price is what was paid, and the tax splits by value 9.66/9.67/9.67:
    # exact 0.966/0.967/0.967 -> 0.96/0.97/0.97
    units = alloc.units[0]
    assert [u.net_paid for u in units] == [Decimal("9.66"), Decimal("9.67"), Decimal("9.67")]
    assert [u.tax for u in units] == [Decimal("0.96"), Decimal("0.97"), Decimal("0.97")]
    assert (alloc.items_total, alloc.tax_total) == (Decimal("29.00"), Decimal("2.90"))


def test_stated_tax_follows_the_order_discount_share_too():
    # given 100.00 and 300.00 with 40.00 off the order, the first line stating 1.01 of
    # tax over its 2 units of 50.00, the second at 10% from its rate (exclusive)
    alloc = _alloc(
        [
            (Decimal("50.00"), 2, Decimal("0"), Decimal("0"), Decimal("1.01")),
            (Decimal("300.00"), 1, Decimal("10"), Decimal("0")),
        ],
        Decimal("40.00"),
        inclusive=False,
    )
    # then the order discount lands 5.00/5.00/30.00, the stated tax splits 0.51/0.50
    # over 45.00/45.00, and the other line's tax is 10% of 270.00
    assert [[u.discount for u in lu] for lu in alloc.units] == [
        [Decimal("5.00"), Decimal("5.00")],
        [Decimal("30.00")],
    ]
    assert [[u.tax for u in lu] for lu in alloc.units] == [
        [Decimal("0.51"), Decimal("0.50")],
        [Decimal("27.00")],
    ]
    assert [[u.net_paid for u in lu] for lu in alloc.units] == [
        [Decimal("45.51"), Decimal("45.50")],
        [Decimal("297.00")],
    ]
    assert alloc.items_total == Decimal("388.01")


def test_stated_tax_of_zero_means_no_tax_whatever_the_rate():
    alloc = _alloc(
        [(Decimal("100.00"), 2, Decimal("18"), Decimal("0"), Decimal("0.00"))], inclusive=False
    )
    assert [(u.net_paid, u.tax) for u in alloc.units[0]] == [
        (Decimal("100.00"), Decimal("0.00"))
    ] * 2


@pytest.mark.parametrize(
    ("line", "inclusive"),
    [
        pytest.param(
            (Decimal("3.00"), 2, Decimal("0"), Decimal("0"), Decimal("-0.01")), False, id="negative"
        ),
        pytest.param(
            (Decimal("3.00"), 2, Decimal("0"), Decimal("0"), Decimal("0.001")),
            False,
            id="sub-paisa",
        ),
        pytest.param(
            (Decimal("3.00"), 2, Decimal("0"), Decimal("1.00"), Decimal("5.01")),
            True,
            id="inclusive-over-value",
        ),
    ],
)
def test_bad_stated_tax_is_refused_naming_the_line(line, inclusive):
    with pytest.raises(AllocationError) as exc:
        _alloc([(Decimal("1.00"), 1, Decimal("0"), Decimal("0")), line], inclusive=inclusive)
    assert exc.value.field == "lines[1].tax"


def test_stated_tax_equal_to_the_value_is_allowed_inclusive_and_any_exclusive():
    inclusive = _alloc([(Decimal("3.00"), 2, Decimal("0"), Decimal("1.00"), Decimal("5.00"))])
    assert inclusive.tax_total == inclusive.items_total == Decimal("5.00")
    exclusive = _alloc(
        [(Decimal("3.00"), 2, Decimal("0"), Decimal("1.00"), Decimal("9.00"))], inclusive=False
    )
    assert exclusive.items_total == Decimal("14.00")
