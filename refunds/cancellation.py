"""Refunds for units cancelled before they shipped.

``orders.services.order_cancel_units`` works out what the customer no longer
owes and how much of it the cash-on-delivery tender absorbs; what is left
(``Cancellation.prepaid_due``) was paid by prepaid tenders and comes back
here, as a refund of kind ``cancellation``. ``flows.cancellation.order_cancel``
calls ``refund_for_cancellation`` after ``order_cancel_units``, in the same
transaction, with the current policy, so orders never imports refunds.

The amount comes from the refund calculator
(``refunds.calculator.cancellation_breakdown``: split over the prepaid
tenders in the policy's order, each capped at captured − refunded − promised
to pending refunds) and the row from the one builder
(``refunds.builder.refund_row_create``), issued by ``refund_issue_task``
after commit. Each tender is refunded in kind (method ``original``): a card
back to the card, a gift card or store credit back to itself.
"""

from __future__ import annotations

from orders.events import EventActor
from orders.services import Cancellation
from returns.models import ReturnPolicy

from .builder import RefundItemRow, refund_row_create
from .calculator import cancellation_breakdown
from .models import Refund
from .states import RefundKind


def refund_for_cancellation(
    result: Cancellation, actor: EventActor, *, policy: ReturnPolicy
) -> Refund | None:
    """Create the refund of what prepaid tenders paid for the cancelled units
    (and the shipping charge when nothing of the order ships any more).
    Returns None when nothing is due."""
    order = result.order
    computed = cancellation_breakdown(
        order=order,
        policy=policy,
        payments=result.payments,
        units=result.units,
        prepaid_due=result.prepaid_due,
        items_value=result.items_value,
        reason=result.reason,
        cod_reduction=result.cod_reduction,
    )
    if computed is None:
        return None
    by_pk = {u.pk: u for u in result.units}
    n = Refund.objects.filter(order=order, kind=RefundKind.CANCELLATION).count() + 1
    return refund_row_create(
        order=order,
        return_request=None,
        kind=RefundKind.CANCELLATION,
        method="original",
        breakdown=computed.breakdown,
        items=[
            RefundItemRow(by_pk[pk], RefundKind.CANCELLATION, amount)
            for pk, amount in computed.amounts.items()
        ],
        idempotency_key=f"{order.number}-CX{n}",
        actor=actor,
        timeline_payload={"units": [u.pk for u in result.units]},
        extra_breakdown={
            "cancelled_units": [u.pk for u in result.units],
            "cod_reduction": str(result.cod_reduction),
        },
        source="cancel",
        external_id=result.external_id,
    )
