"""Refund arithmetic for a return (DOMAIN.md, Money).

Pure functions over plain values so the quote, the estimate at creation and
the refund computed when it falls due all use the same rule:

    refund = net paid of units resolved refund or keep
           + the policy's percentage of net paid of units resolved partial credit
           − restocking fee per refunded unit and a return-shipping fee per
             pickup (never for merchant-fault reasons, never for refusals)
           + the order's shipping charge, once, when the return leaves no unit
             with the customer or a reason is merchant fault
           + the price difference of exchanges to a cheaper variant

The total is split over the tenders in the policy's order, each capped at
what it captured minus what was refunded or is already promised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from oms.money import round_money

if TYPE_CHECKING:
    from orders.models import Payment

    from .models import ReturnPolicy

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PricedUnit:
    unit_id: int
    net_paid: Decimal
    tax: Decimal
    resolution: str  # refund | keep | partial_credit | exchange | replacement | repair
    merchant_fault: bool
    price_difference: Decimal = ZERO  # exchanges: replacement − original


@dataclass(frozen=True)
class Tender:
    payment_id: int
    method: str
    refundable: Decimal  # captured − refunded − promised to pending refunds


@dataclass
class Breakdown:
    currency: str
    items: Decimal = ZERO
    restocking_fee: Decimal = ZERO
    return_shipping_fee: Decimal = ZERO
    shipping: Decimal = ZERO
    exchange_difference: Decimal = ZERO
    collect: Decimal = ZERO
    total: Decimal = ZERO
    capped: bool = False
    tenders: list[dict] = field(default_factory=list)
    units: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fees(self) -> Decimal:
        return self.restocking_fee + self.return_shipping_fee

    def as_dict(self) -> dict:
        return {
            "currency": self.currency,
            "items": str(self.items),
            "fees": str(self.fees),
            "fee_details": {
                "restocking": str(self.restocking_fee),
                "return_shipping": str(self.return_shipping_fee),
            },
            "shipping": str(self.shipping),
            "exchange_difference": str(self.exchange_difference),
            "to_collect": str(self.collect),
            "total": str(self.total),
            "capped": self.capped,
            "tenders": self.tenders,
            "units": self.units,
            "notes": self.notes,
        }


REFUNDED_RESOLUTIONS = ("refund", "keep")


def price_return(
    *,
    currency: str,
    units: list[PricedUnit],
    restocking_fee: Decimal,
    return_shipping_fee: Decimal,
    needs_pickup: bool,
    charge_fees: bool,
    shipping_charge: Decimal,
    shipping_due: bool,
    tenders: list[Tender],
    refund_method: str,
    nothing_to_refund_reason: str = "",
    partial_credit_percent: int = 0,
) -> Breakdown:
    out = Breakdown(currency=currency)
    if nothing_to_refund_reason:
        out.notes.append(nothing_to_refund_reason)
        out.units = [{"unit": u.unit_id, "amount": "0.00"} for u in units]
        return out
    fee_units = 0
    for u in units:
        amount = ZERO
        if u.resolution in REFUNDED_RESOLUTIONS:
            amount = u.net_paid
            out.items += u.net_paid
            if u.resolution == "refund" and u.price_difference > 0:
                # An exchange converted to a refund after the customer paid
                # the difference for a dearer variant: that comes back too.
                amount += u.price_difference
                out.items += u.price_difference
            if not u.merchant_fault and u.resolution == "refund":
                fee_units += 1
        elif u.resolution == "partial_credit":
            # The customer keeps the unit and gets a share of its net paid; no fees.
            amount = round_money(u.net_paid * Decimal(partial_credit_percent) / 100, currency)
            out.items += amount
        elif u.resolution == "exchange":
            if u.price_difference < 0:
                amount = min(-u.price_difference, u.net_paid)
                out.exchange_difference += amount
            elif u.price_difference > 0:
                out.collect += u.price_difference
        out.units.append({"unit": u.unit_id, "amount": str(amount)})
    if charge_fees and fee_units:
        out.restocking_fee = restocking_fee * fee_units
        if needs_pickup:
            out.return_shipping_fee = return_shipping_fee
        # Fees never exceed what is refunded for items.
        if out.fees > out.items:
            over = out.fees - out.items
            cut = min(over, out.return_shipping_fee)
            out.return_shipping_fee -= cut
            out.restocking_fee -= over - cut
    if shipping_due:
        out.shipping = shipping_charge
    total = out.items - out.fees + out.shipping + out.exchange_difference
    available = sum((t.refundable for t in tenders), ZERO)
    if total > available:
        out.capped = True
        out.notes.append(
            f"Capped at {available}: the most the order's tenders can still give back."
        )
        total = available
    out.total = max(total, ZERO)
    out.tenders = split_tenders(out.total, tenders, refund_method)
    return out


def split_tenders(total: Decimal, tenders: list[Tender], refund_method: str) -> list[dict]:
    """Spread ``total`` over tenders in the given order, each within its cap.
    The instrument is the original tender, store credit, or a bank/UPI payout."""
    remaining = total
    out = []
    for t in tenders:
        if remaining <= 0:
            break
        take = min(remaining, t.refundable)
        if take <= 0:
            continue
        instrument = t.method if refund_method == "original" else refund_method
        out.append(
            {"payment": t.payment_id, "method": instrument, "tender": t.method, "amount": str(take)}
        )
        remaining -= take
    return out


def tenders_in_policy_order(
    payments: list[Payment], policy: ReturnPolicy, promised: dict[int, Decimal] | None = None
) -> list[Tender]:
    rank = {m: i for i, m in enumerate(policy.tender_order)}
    promised = promised or {}
    ordered = sorted(payments, key=lambda p: (rank.get(p.method, len(rank)), p.position))
    return [
        Tender(
            p.pk,
            p.method,
            max(
                p.captured_amount - p.refunded_amount - promised.get(p.pk, Decimal("0")),
                Decimal("0"),
            ),
        )
        for p in ordered
    ]
