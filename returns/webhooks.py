"""The return's part of the storefront webhooks (orders.webhooks): the payload
and which step sends which event. Written in the transaction of the step."""

from __future__ import annotations

from orders.messaging import webhook_enqueue, webhook_wanted

from .models import Return, ReturnItem

# The customer message sent at a step -> the webhook sent at the same step.
# ``return.completed`` has no message; ``return_close`` sends it.
BY_TEMPLATE = {
    "return_created": "return.created",
    "return_approved": "return.approved",
    "return_rejected": "return.rejected",
    "received": "return.received",
    "qc_outcome": "return.qc_completed",
    "exchange_dispatched": "exchange.dispatched",
    "cancelled": "return.cancelled",
}


def return_data(ret: Return) -> dict:
    items = ReturnItem.objects.filter(return_request=ret).select_related("unit").order_by("unit_id")
    return {
        "rma": ret.rma,
        "type": ret.type,
        "state": ret.state,
        "full_return": ret.is_full_return,
        "units": [
            {"id": i.unit_id, "state": i.unit.state, "resolution": i.resolution} for i in items
        ],
    }


def return_webhook(ret: Return, type: str) -> None:
    if webhook_wanted(ret.order, type):
        webhook_enqueue(order=ret.order, type=type, data=return_data(ret))
