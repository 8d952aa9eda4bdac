"""Walking a gateway-paid order to a refund through the services."""

from __future__ import annotations

from flows.return_events import return_handle_event
from flows.return_intake import return_create
from orders.models import OutboundMessage, Unit
from refunds.models import Refund
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest


def return_and_pass_qc(order, actor, units=None):
    """A return of ``units`` (default: all) walked to QC passed; the refund it
    makes due is issued by the task after commit (the caller captures)."""
    units = units or list(Unit.objects.filter(order=order).order_by("pk"))
    ret = return_create(
        ReturnRequest(
            order=order.number,
            items=[
                ItemRequest(reason="changed_mind", resolution="refund", unit=u.pk) for u in units
            ],
        ),
        actor=actor,
    )
    for data in (
        ReturnEventData(type="pickup_completed"),
        ReturnEventData(type="received", location="wh-main"),
        ReturnEventData(
            type="qc_result", results=[QcResult(unit=u.pk, passed=True) for u in units]
        ),
    ):
        return_handle_event(rma=ret.rma, data=data, actor=actor)
    return ret


def refund_of(order) -> Refund:
    return Refund.objects.prefetch_related("tenders").get(order=order)


def issued_messages(order) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(order=order, template="refund_issued"))
