"""Escalating a return's refunds that are still not issued to finance."""

from __future__ import annotations

from django.utils import timezone

from orders.events import Event, EventActor, timeline_record
from returns.models import Return

from ..events import RefundEventType
from ..models import Refund
from ..states import RefundState


def refund_escalate(*, ret: Return, reason: str, new_date, actor: EventActor) -> int:
    """Escalate the return's refunds that are still not issued to finance, and
    tell the customer the new date. Returns how many were escalated."""
    now = timezone.now()
    refunds = list(
        Refund.objects.select_for_update(of=("self",)).filter(
            return_request=ret,
            state__in=[RefundState.PENDING, RefundState.FAILED, RefundState.PROCESSING],
            escalated_at__isnull=True,
        )
    )
    if not refunds:
        return 0
    Refund.objects.filter(pk__in=[r.pk for r in refunds]).update(escalated_at=now)
    for refund in refunds:
        timeline_record(
            order=ret.order_id,
            actor=actor,
            event=Event(
                "refund",
                refund.pk,
                RefundEventType.ESCALATED,
                refund.state,
                refund.state,
                f"Escalated to finance: {reason}",
                {"rma": ret.rma, "new_date": new_date.isoformat()},
            ),
        )
    return len(refunds)
