"""``return_event_handle``: the one place events move a return and its units.

The courier webhook, the warehouse's QC screen, the console and the SLA
sweeper all call it. An event that does not fit the current state is refused
with 409 and changes nothing; a redelivered event (same ``event_id``) is
ignored.
"""

from __future__ import annotations

import functools

from oms.errors import ApplicationError
from oms.roles import WAREHOUSE
from orders.events import EventActor
from orders.services import event_claim

from ...events import ReturnEventType
from ...messages import emails_withheld
from ...models import Return, ReturnItem
from .. import resolve
from .cancel import _cancelled, _relocate
from .data import QcResult, ReturnEventData
from .exchange import _difference_collected, _exchange_dispatched
from .pickup import _pickup_completed, _pickup_failed, return_pickup_failed_many
from .qc import _qc_result
from .receipt import _received

__all__ = [
    "QcResult",
    "ReturnEventData",
    "return_event_actor",
    "return_event_claim",
    "return_event_handle",
    "return_pickup_failed_many",
]

HANDLERS = {
    ReturnEventType.PICKUP_COMPLETED: _pickup_completed,
    ReturnEventType.PICKUP_FAILED: _pickup_failed,
    ReturnEventType.RECEIVED: _received,
    ReturnEventType.QC_RESULT: _qc_result,
    ReturnEventType.EXCHANGE_DISPATCHED: _exchange_dispatched,
    ReturnEventType.DIFFERENCE_COLLECTED: _difference_collected,
    ReturnEventType.CANCELLED: _cancelled,
    ReturnEventType.CONVERTED_TO_KEEP: resolve.convert_to_keep,
    ReturnEventType.CONVERTED_TO_REFUND: resolve.convert_to_refund,
    ReturnEventType.EXCHANGE_RELOCATED: _relocate,
}

# Events that are the warehouse's duty; anyone else recording them is marked
# on the timeline as acting for the warehouse.
WAREHOUSE_EVENTS = {ReturnEventType.RECEIVED.kind, ReturnEventType.QC_RESULT.kind}


def return_event_actor(data: ReturnEventData, actor: EventActor) -> EventActor:
    """The actor an event is recorded under (acting for the warehouse when
    the event is the warehouse's duty)."""
    if data.type in WAREHOUSE_EVENTS:
        actor = actor.on_duty(WAREHOUSE)
    return actor


def return_event_claim(return_request: Return, data: ReturnEventData) -> bool:
    """False for a redelivered event (same ``event_id``): ignore it."""
    return event_claim(source=f"return:{return_request.rma}", external_id=data.event_id)


def return_event_handle(
    return_request: Return,
    data: ReturnEventData,
    actor: EventActor,
    *,
    items: list[ReturnItem] | None = None,
) -> None:
    """Apply one event to a locked return (``return_get_for_update``). The
    reactions follow in ``flows.reactions.return_changed``. ``items``: for a
    QC result, the return's items with their units locked, loaded by the
    caller (``return_items(..., lock_units=True)``) and kept current here."""
    handler = HANDLERS.get(ReturnEventType.from_kind(data.type))
    if handler is None:
        raise ApplicationError(f"type: unknown event type {data.type!r}.", extra={"field": "type"})
    if items is not None:
        if handler is not _qc_result:
            raise ValueError("Only a QC result takes the items from its caller.")
        handler = functools.partial(_qc_result, held=items)
    if data.email_customer:
        handler(return_request, data, actor)
        return
    with emails_withheld():
        handler(return_request, data, actor)
