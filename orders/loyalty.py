"""Loyalty points on an order (seed 004): what the storefront says the
customer earned and redeemed, checked at intake and split over the units.

Redeemed points are a tender (``loyalty_points``) worth ``redeemed / rate`` in
the order's currency. Both earned and redeemed points are split over the units
in proportion to their net paid by largest remainder (``oms.money.allocate``),
fixed at intake like the money allocation, so a return gives back exactly the
points of its units and all returns together give back exactly the order's
points.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms.errors import ApplicationError
from oms.money import allocate, round_money, to_minor

from .states import PaymentMethod

MAX_POINTS = 10**9


@dataclass(frozen=True)
class LoyaltyData:
    earned: int
    redeemed: int
    points_per_unit_currency: Decimal


def loyalty_value(points: int, rate: Decimal, currency: str) -> Decimal:
    """What ``points`` are worth in the currency, rounded to its minor unit."""
    return round_money(Decimal(points) / rate, currency)


def _bad(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        f"loyalty.{field}: {message}", code="invalid_loyalty", extra={"field": f"loyalty.{field}"}
    )


def loyalty_check(loyalty: LoyaltyData | None, currency: str, payments: list) -> Decimal:
    """Check the order's loyalty block against its payments (each a
    ``PaymentData``). The ``loyalty_points`` tender the order gave must be
    worth its redeemed points; when it gave none, the amount of the tender to
    add is returned (0: none to add)."""
    points_tenders = [p for p in payments if p.method == PaymentMethod.LOYALTY_POINTS]
    if loyalty is None:
        if points_tenders:
            raise ApplicationError(
                "payments: a loyalty_points tender needs the order's loyalty block "
                "(earned, redeemed, points_per_unit_currency).",
                code="invalid_loyalty",
                extra={"field": "loyalty"},
            )
        return Decimal("0")
    for name in ("earned", "redeemed"):
        value = getattr(loyalty, name)
        if not isinstance(value, int) or value < 0 or value > MAX_POINTS:
            raise _bad(name, f"must be a whole number of points from 0 to {MAX_POINTS}.")
    rate = loyalty.points_per_unit_currency
    if rate is None or rate <= 0:
        raise _bad("points_per_unit_currency", "must be positive.")
    if len(points_tenders) > 1:
        raise ApplicationError(
            "payments: at most one loyalty_points tender.",
            code="invalid_loyalty",
            extra={"field": "payments"},
        )
    value = loyalty_value(loyalty.redeemed, rate, currency)
    if loyalty.redeemed and value <= 0:
        raise _bad("redeemed", f"{loyalty.redeemed} points are worth nothing at this rate.")
    if points_tenders:
        given = points_tenders[0].amount
        if given != value:
            raise ApplicationError(
                f"payments: the loyalty_points tender is {given} but {loyalty.redeemed} "
                f"points at {rate} per unit of currency are worth {value}.",
                code="invalid_loyalty",
                extra={"field": "payments", "expected": str(value), "given": str(given)},
            )
        return Decimal("0")
    return value


def loyalty_split(points: int, net_paid: list[Decimal], currency: str) -> list[int]:
    """``points`` over units in proportion to their net paid, exactly."""
    if not net_paid:
        return []
    return allocate(points, [to_minor(n, currency) for n in net_paid])
