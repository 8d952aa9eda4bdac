"""The one writer of refund rows: the refund, its items (with their tax
share), its tenders, the ``refund.created`` timeline row, and the job that
issues it after commit. Returns' refunds and cancellations both come here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms.jobs import job_enqueue
from oms.prepared import insert_rows
from orders.events import Event, EventActor, timeline_record
from orders.models import Order, Unit
from returns.models import Return

from .calculator import Breakdown, tax_share
from .events import RefundEventType
from .models import Refund, RefundItem, RefundTender


@dataclass(frozen=True)
class RefundItemRow:
    unit: Unit
    kind: str
    amount: Decimal


def _loaded(refund: Refund, tenders: list[RefundTender]) -> None:
    """The new refund as ``refunds_by_return`` loads one (its tenders, no
    credit note yet), so the response of the change that created it reads
    neither back."""
    qs = refund.tenders.all()
    qs._result_cache = sorted(tenders, key=lambda t: t.pk)
    qs._prefetch_done = True
    refund._prefetched_objects_cache = {"tenders": qs}
    Refund._meta.get_field("credit_note").set_cached_value(refund, None)


def refund_row_create(
    *,
    order: Order,
    return_request: Return | None,
    kind: str,
    method: str,
    breakdown: Breakdown,
    items: list[RefundItemRow],
    idempotency_key: str,
    actor: EventActor,
    timeline_payload: dict,
    extra_breakdown: dict | None = None,
    source: str = "",
    external_id: str = "",
) -> Refund:
    # insert_rows: each insert's statement built once (``oms.prepared``)
    (refund,) = insert_rows(
        [
            Refund(
                order=order,
                return_request=return_request,
                kind=kind,
                method=method,
                amount=breakdown.total,
                currency=order.currency,
                items_amount=breakdown.items + breakdown.exchange_difference,
                fees_amount=breakdown.fees,
                shipping_amount=breakdown.shipping,
                breakdown={**breakdown.as_dict(), **(extra_breakdown or {})},
                idempotency_key=idempotency_key,
            )
        ]
    )
    insert_rows(
        [
            RefundItem(
                refund=refund,
                unit_id=row.unit.pk,
                amount=row.amount,
                kind=row.kind,
                tax=tax_share(row.unit, row.amount, order.currency),
            )
            for row in items
        ]
    )
    tenders = insert_rows(
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
    _loaded(refund, tenders)
    timeline_record(
        order=order,
        actor=actor,
        source=source,
        external_id=external_id,
        event=Event(
            "refund",
            refund.pk,
            RefundEventType.CREATED,
            "",
            refund.state,
            f"Refund of {refund.amount} {refund.currency} due ({refund.get_kind_display()})",
            {**timeline_payload, "breakdown": refund.breakdown},
        ),
    )
    from .tasks import refund_issue_task

    job_enqueue(refund_issue_task, refund.pk)
    return refund
