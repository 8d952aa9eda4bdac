"""Money: Decimal amounts in a currency, rounded to its minor unit.

Never floats. ``allocate`` is the largest-remainder split that the whole
product relies on: it turns a total into integer minor units in proportion to
weights so the parts always add up exactly to the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# Minor-unit exponents for the currencies the product accepts. Amount columns
# have two decimal places, so currencies with three (KWD, BHD) are not offered.
CURRENCY_EXPONENTS: dict[str, int] = {
    "INR": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "AUD": 2,
    "CAD": 2,
    "SGD": 2,
    "AED": 2,
    "NZD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "ZAR": 2,
    "HKD": 2,
    "MYR": 2,
    "JPY": 0,
    "KRW": 0,
    "IDR": 2,
    "THB": 2,
    "PHP": 2,
    "BRL": 2,
    "MXN": 2,
    "LKR": 2,
    "NPR": 2,
    "BDT": 2,
    "PKR": 2,
}


class CurrencyMismatch(ValueError):
    pass


def is_known_currency(code: str) -> bool:
    return code in CURRENCY_EXPONENTS


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-CURRENCY_EXPONENTS[currency])


def round_money(amount: Decimal, currency: str) -> Decimal:
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    scaled = Decimal(amount).scaleb(CURRENCY_EXPONENTS[currency])
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    return (Decimal(minor).scaleb(-CURRENCY_EXPONENTS[currency])).quantize(quantum(currency))


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if self.currency not in CURRENCY_EXPONENTS:
            raise ValueError(f"Unknown currency {self.currency!r}")
        if isinstance(self.amount, float):
            raise TypeError("Money never takes a float")
        object.__setattr__(self, "amount", round_money(Decimal(self.amount), self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} do not mix")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def allocate(total_minor: int, weights: list[int | Fraction]) -> list[int]:
    """Split ``total_minor`` in proportion to ``weights`` by largest remainder.

    Parts are integers that sum exactly to ``total_minor``. Ties in remainder go
    to the earlier position, so the split is deterministic. With all weights
    zero the total is split evenly (a discount on free items still lands).
    """
    if not weights:
        if total_minor:
            raise ValueError("cannot allocate a non-zero total over nothing")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    total_weight = sum(Fraction(w) for w in weights)
    if total_weight == 0:
        weights = [1] * len(weights)
        total_weight = Fraction(len(weights))
    exact = [Fraction(total_minor) * Fraction(w) / total_weight for w in weights]
    floors = [e.numerator // e.denominator for e in exact]
    leftover = total_minor - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return floors
