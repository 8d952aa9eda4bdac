"""Refund arithmetic (DOMAIN.md, Money), owned by refunds.

Pure functions over plain values; ``refunds.calculator`` reads the money
state they need and is their only caller outside tests, so the quote, the
estimate at creation and the refund made when it falls due are one rule:

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
from orders.states import UnitState
from returns.states import NO_PICKUP, Resolution, ReturnType

if TYPE_CHECKING:
    from orders.models import Payment
    from returns.models import ReturnPolicy

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


# --- one batch of a return's refunds -------------------------------------------------

# Unit states in which a unit is still with the customer: while one is, a
# return does not refund the order's shipping (unless the fault is ours).
WITH_CUSTOMER = frozenset(
    {
        UnitState.ORDERED,
        UnitState.ALLOCATED,
        UnitState.SHIPPED,
        UnitState.DELIVERED,
        UnitState.RETURN_REJECTED,
        UnitState.RETURNED_TO_CUSTOMER,
        UnitState.KEPT,
        UnitState.IN_REPAIR,
        UnitState.REPAIRED,
    }
)


COD_NOTHING = "Cash on delivery: refused items were never paid for; nothing to refund."


@dataclass(frozen=True)
class ReturnTerms:
    """What every refund of one return is priced under."""

    currency: str
    return_type: str
    refund_method: str
    restocking_fee: Decimal
    return_shipping_fee: Decimal
    partial_credit_percent: int
    shipping_charge: Decimal
    # Any unit of the return is merchant fault: the pickup is ours to pay, so
    # no return-shipping fee on any of its refunds (issue 12, leak 5).
    any_merchant_fault: bool


@dataclass(frozen=True)
class BatchItem:
    unit_id: int
    net_paid: Decimal
    tax: Decimal
    resolution: str
    merchant_fault: bool  # the reason is merchant fault
    fees_waived: bool = False
    price_difference: Decimal = ZERO


@dataclass
class MoneyState:
    """What the order's earlier refunds left, as a batch sees it."""

    tenders: list[Tender]  # policy order; captured − refunded − promised
    shipping_refunded: Decimal
    fees_taken: Decimal  # by earlier refunds of this return
    # A refusal on an order with cash on delivery refunds at most what the
    # tenders hold beyond what the customer still owes; None: no such cap.
    overpaid: Decimal | None = None


def batch_price(
    terms: ReturnTerms, items: list[BatchItem], state: MoneyState, unit_states: dict[int, str]
) -> Breakdown:
    """The refund one batch of a return's items makes (keep-it, partial
    credit, or the units refunded after QC with the exchange differences),
    given every unit of the order in the state it has when the batch falls
    due. Fees are waived for merchant-fault reasons and items converted to a
    refund; the return-shipping fee is taken once per return and never when
    a unit is merchant fault; the order's shipping comes back once, when
    nothing stays with the customer (or the fault is ours)."""
    refusal = terms.return_type == ReturnType.DOORSTEP_REFUSAL
    refunding = {i.unit_id for i in items if i.resolution == Resolution.REFUND}
    others = [s for uid, s in unit_states.items() if uid not in refunding]
    stays = any(s in WITH_CUSTOMER for s in others) or any(i.resolution in NO_PICKUP for i in items)
    replaced_any = UnitState.REPLACED in others
    merchant_fault = any(
        i.merchant_fault for i in items if i.resolution in (Resolution.REFUND, Resolution.KEEP)
    )
    take_shipping_fee = state.fees_taken == 0 and not terms.any_merchant_fault
    out = price_return(
        currency=terms.currency,
        units=[
            PricedUnit(
                i.unit_id,
                i.net_paid,
                i.tax,
                i.resolution,
                i.merchant_fault or i.fees_waived,
                i.price_difference,
            )
            for i in items
        ],
        restocking_fee=terms.restocking_fee,
        return_shipping_fee=terms.return_shipping_fee if take_shipping_fee else ZERO,
        needs_pickup=not refusal and bool(refunding),
        charge_fees=not refusal,
        shipping_charge=terms.shipping_charge,
        shipping_due=terms.shipping_charge > 0
        and state.shipping_refunded == 0
        and (merchant_fault or not (stays or replaced_any)),
        tenders=state.tenders,
        refund_method=terms.refund_method,
        partial_credit_percent=terms.partial_credit_percent,
        nothing_to_refund_reason=COD_NOTHING if state.overpaid == 0 else "",
    )
    if state.overpaid is not None and out.total > state.overpaid:
        _cap_at_overpayment(out, state, terms)
    return out


def _cap_at_overpayment(out: Breakdown, state: MoneyState, terms: ReturnTerms) -> None:
    """Cash on delivery took only what the prepaid tenders had not covered, so
    a refused unit gives back only what they paid beyond what the customer
    keeps: units first (in id order), then shipping."""
    total = max(state.overpaid or ZERO, ZERO)
    left = total
    units = []
    items = ZERO
    for u in sorted(out.units, key=lambda u: u["unit"]):
        take = min(Decimal(u["amount"]), left)
        left -= take
        items += take
        units.append({"unit": u["unit"], "amount": str(take)})
    out.units = units
    out.items = items
    out.shipping = min(out.shipping, left)
    out.total = items + out.shipping
    out.tenders = split_tenders(out.total, state.tenders, terms.refund_method)
    out.notes.append(
        "Cash on delivery: what was refused was never paid for in cash; the prepaid tenders "
        f"give back {out.total} {terms.currency} they paid beyond what is kept."
        if out.total
        else COD_NOTHING
    )
