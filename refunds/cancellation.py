"""Refunds for units cancelled before they shipped.

``orders.services.order_cancel_units`` works out what the customer no longer
owes and how much of it the cash-on-delivery tender absorbs; what is left
(``Cancellation.prepaid_due``) was paid by prepaid tenders and comes back
here, as a refund of kind ``cancellation``. ``flows.cancellation.order_cancel``
calls ``refund_for_cancellation`` after ``order_cancel_units``, in the same
transaction, so orders never imports refunds.

The refund is made like a return's (``refunds.services._create``): pending
in the cancellation's transaction, split over the tenders in the current
policy's order, each capped at captured − refunded − promised to pending
refunds, and issued by ``refund_issue_task`` after commit, which writes the
ledger rows and the credit note. Each tender is refunded in kind (method
``original``): a card back to the card, a gift card or store credit back to
itself.
"""

from __future__ import annotations

from decimal import Decimal

from oms.jobs import job_enqueue
from orders.events import Event, EventActor, timeline_record
from orders.services import Cancellation
from orders.states import PaymentMethod
from returns.pricing import Breakdown, split_tenders
from returns.services import policy_current, tenders_in_policy_order

from .models import Refund, RefundItem, RefundTender
from .services import RefundEventType, _promised, _tax_share
from .states import RefundKind

ZERO = Decimal("0.00")


def refund_for_cancellation(result: Cancellation, actor: EventActor) -> Refund | None:
    """Create the refund of what prepaid tenders paid for the cancelled units
    (and the shipping charge when nothing of the order ships any more).

    Units are covered in id order at their stored net paid, then shipping; when
    cash on delivery absorbed part of the value, the units covered last (or the
    shipping) carry less or nothing. Returns None when nothing is due."""
    order = result.order
    if result.prepaid_due <= 0:
        return None
    policy = policy_current()
    prepaid = [p for p in result.payments if p.method != PaymentMethod.COD]
    tenders = tenders_in_policy_order(prepaid, policy, _promised(order))
    available = sum((t.refundable for t in tenders), ZERO)
    total = min(result.prepaid_due, available)
    if total <= 0:
        return None
    notes = [f"Cancelled before shipping: {result.reason}" if result.reason else "Cancelled"]
    if result.cod_reduction:
        notes.append(
            f"{result.cod_reduction} {order.currency} taken off the cash due at delivery instead."
        )
    if total < result.prepaid_due:
        notes.append(f"Capped at {available}: the most the order's tenders can still give back.")

    items_left = min(total, result.items_value)
    shipping = total - items_left
    amounts: dict[int, Decimal] = {}
    for unit in sorted(result.units, key=lambda u: u.pk):
        take = min(unit.net_paid, items_left)
        items_left -= take
        if take > 0:
            amounts[unit.pk] = take
    breakdown = Breakdown(
        currency=order.currency,
        items=total - shipping,
        shipping=shipping,
        total=total,
        capped=total < result.prepaid_due,
        tenders=split_tenders(total, tenders, "original"),
        units=[{"unit": pk, "amount": str(amount)} for pk, amount in amounts.items()],
        notes=notes,
    )
    n = Refund.objects.filter(order=order, kind=RefundKind.CANCELLATION).count() + 1
    refund = Refund.objects.create(
        order=order,
        return_request=None,
        kind=RefundKind.CANCELLATION,
        method="original",
        amount=total,
        currency=order.currency,
        items_amount=breakdown.items,
        fees_amount=ZERO,
        shipping_amount=shipping,
        breakdown={
            **breakdown.as_dict(),
            "cancelled_units": [u.pk for u in result.units],
            "cod_reduction": str(result.cod_reduction),
        },
        idempotency_key=f"{order.number}-CX{n}",
    )
    by_pk = {u.pk: u for u in result.units}
    RefundItem.objects.bulk_create(
        [
            RefundItem(
                refund=refund,
                unit_id=pk,
                kind=RefundKind.CANCELLATION,
                amount=amount,
                tax=_tax_share(by_pk[pk], amount, order.currency),
            )
            for pk, amount in amounts.items()
        ]
    )
    RefundTender.objects.bulk_create(
        [
            RefundTender(
                refund=refund,
                payment_id=t["payment"],
                instrument=t["method"],
                amount=Decimal(t["amount"]),
            )
            for t in breakdown.tenders
        ]
    )
    timeline_record(
        order=order,
        actor=actor,
        source="cancel",
        external_id=result.external_id,
        event=Event(
            "refund",
            refund.pk,
            RefundEventType.CREATED,
            "",
            refund.state,
            f"Refund of {refund.amount} {refund.currency} due ({refund.get_kind_display()})",
            {"units": [u.pk for u in result.units], "breakdown": refund.breakdown},
        ),
    )
    from .tasks import refund_issue_task

    job_enqueue(refund_issue_task, refund.pk)
    return refund
