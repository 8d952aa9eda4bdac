"""The one refund calculator (DOMAIN.md, Money).

Every amount refunds pays out is worked out here: the quote a customer sees
before a return exists, the estimate a return stores, the refund of a return
when it falls due (keep-it, partial credit, instant, after QC, exchange
difference) and the refund of units cancelled before they shipped.

The rules are pure functions in ``refunds.pricing`` (``batch_price`` prices
one batch of a return's items). This module reads the money state they need
(tenders in the policy's order, capped at captured − refunded − promised to
pending refunds; shipping and fees already refunded; the state of every unit
of the order) and feeds it in. The quote and the estimate run the very
batches ``refunds.services.due`` will create (keep-it at approval, partial
credit, then the units refunded after QC with the exchange differences),
each on the state the one before leaves, so the quote cannot differ from
the refunds when nothing changes in between.
"""

from ..pricing import (
    WITH_CUSTOMER,
    Breakdown,
    PricedUnit,
    Tender,
    price_return,
    split_tenders,
    tenders_in_policy_order,
)
from .cancellation import CancellationBreakdown, cancellation_breakdown
from .returns_money import (
    order_payments,
    refund_due_breakdown,
    refund_estimate,
    refund_money_rows,
    refund_quote,
    refund_unit_rows,
    tax_share,
    tenders_promised,
)

__all__ = [
    "WITH_CUSTOMER",
    "Breakdown",
    "CancellationBreakdown",
    "PricedUnit",
    "Tender",
    "cancellation_breakdown",
    "order_payments",
    "price_return",
    "refund_due_breakdown",
    "refund_estimate",
    "refund_money_rows",
    "refund_quote",
    "refund_unit_rows",
    "split_tenders",
    "tax_share",
    "tenders_in_policy_order",
    "tenders_promised",
]
