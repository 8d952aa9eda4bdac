"""The allocation rule (DOMAIN.md, Money): each unit's net paid.

Pure arithmetic on integer minor units, so it can be checked exhaustively.
Line discounts are split over the line's units, then the order discount over
all units in proportion to their value after line discounts; both splits use
the largest-remainder method, so the parts add up exactly.

Tax per unit comes from the line's rate, rounded per unit, unless the line
says how much tax was charged on it (``LineInput.tax``, what a storefront
reports per line after discounts). Then that amount is split over the line's
units by largest remainder in proportion to each unit's value after discounts,
so the units' tax adds up to the platform's figure exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from oms.money import allocate, from_minor, round_money, to_minor


@dataclass(frozen=True)
class LineInput:
    unit_price: Decimal
    quantity: int
    tax_rate: Decimal  # percent
    discount: Decimal  # on the whole line
    # Tax charged on the whole line after discounts, when the channel states it;
    # None: computed from tax_rate per unit.
    tax: Decimal | None = None


@dataclass(frozen=True)
class UnitAmounts:
    net_paid: Decimal
    tax: Decimal
    discount: Decimal  # line + order discount share


@dataclass(frozen=True)
class Allocation:
    units: list[list[UnitAmounts]]  # per line, per unit
    items_total: Decimal
    tax_total: Decimal
    line_discount_total: Decimal


class AllocationError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _round_half_up(value: Fraction) -> int:
    sign = -1 if value < 0 else 1
    value = abs(value)
    floor = value.numerator // value.denominator
    return sign * (floor + (1 if value - floor >= Fraction(1, 2) else 0))


def _given_tax_shares(
    lines: list[LineInput],
    flat: list[tuple[int, int]],
    bases: list[int],
    currency: str,
    prices_include_tax: bool,
) -> dict[int, int]:
    """Unit position -> tax share, for the lines that state their tax. Each
    line's tax is split over its units in proportion to their base (value
    after line and order discount shares) by largest remainder."""
    positions: dict[int, list[int]] = {}
    for k, (i, _) in enumerate(flat):
        positions.setdefault(i, []).append(k)
    shares: dict[int, int] = {}
    for i, line in enumerate(lines):
        if line.tax is None:
            continue
        field = f"lines[{i}].tax"
        if line.tax < 0:
            raise AllocationError(field, "must not be negative")
        try:
            tax = to_minor(line.tax, currency)
        except ValueError as exc:
            raise AllocationError(field, str(exc)) from exc
        units = positions.get(i, [])
        line_bases = [bases[k] for k in units]
        if prices_include_tax and tax > sum(line_bases):
            raise AllocationError(
                field,
                f"{line.tax} is more than the line's value after discounts "
                f"({from_minor(sum(line_bases), currency)}), which includes its tax",
            )
        shares.update(zip(units, allocate(tax, line_bases), strict=True))
    return shares


def allocate_order(
    *, currency: str, prices_include_tax: bool, lines: list[LineInput], order_discount: Decimal
) -> Allocation:
    flat: list[tuple[int, int]] = []  # (line index, value after line discount, minor)
    line_disc_shares: list[int] = []
    line_discount_total = 0
    for i, line in enumerate(lines):
        price = to_minor(line.unit_price, currency)
        disc = to_minor(line.discount, currency)
        if disc > price * line.quantity:
            raise AllocationError(f"lines[{i}].discount", "is larger than the line's value")
        line_discount_total += disc
        shares = allocate(disc, [price] * line.quantity)
        for share in shares:
            flat.append((i, price - share))
            line_disc_shares.append(share)
    order_disc = to_minor(order_discount, currency)
    value_after_lines = sum(v for _, v in flat)
    if order_disc > value_after_lines:
        raise AllocationError("order_discount", "is larger than the value of the items")
    order_shares = allocate(order_disc, [v for _, v in flat])

    bases = [
        value - order_share for (_, value), order_share in zip(flat, order_shares, strict=True)
    ]
    given_tax = _given_tax_shares(lines, flat, bases, currency, prices_include_tax)

    per_line: list[list[UnitAmounts]] = [[] for _ in lines]
    items_total = tax_total = 0
    for k, ((i, _), base, line_share, order_share) in enumerate(
        zip(flat, bases, line_disc_shares, order_shares, strict=True)
    ):
        if k in given_tax:
            tax = given_tax[k]
        else:
            rate = Fraction(lines[i].tax_rate)
            if not rate:
                tax = 0
            elif prices_include_tax:
                tax = _round_half_up(Fraction(base) * rate / (100 + rate))
            else:
                tax = _round_half_up(Fraction(base) * rate / 100)
        net = base if prices_include_tax else base + tax
        items_total += net
        tax_total += tax
        per_line[i].append(
            UnitAmounts(
                net_paid=from_minor(net, currency),
                tax=from_minor(tax, currency),
                discount=from_minor(line_share + order_share, currency),
            )
        )
    return Allocation(
        units=per_line,
        items_total=from_minor(items_total, currency),
        tax_total=from_minor(tax_total, currency),
        line_discount_total=from_minor(line_discount_total, currency),
    )


def exchange_difference(
    *, net_paid: Decimal, old_price: Decimal, new_price: Decimal, currency: str
) -> Decimal:
    """What an exchange to another variant costs (positive) or gives back
    (negative): the new variant priced as the customer paid for the old one,
    i.e. its catalogue price times the share of the old one's catalogue price
    the unit's net paid is. That share carries the unit's discounts and, where
    the order's prices excluded tax, its tax, so a size swap of a sale item at
    the same catalogue price costs nothing and a dearer variant on a
    tax-exclusive order costs its difference plus GST (issue 12, leak 2)."""
    if old_price <= 0:
        return round_money(new_price - net_paid, currency)
    return round_money(new_price * net_paid / old_price, currency) - net_paid
