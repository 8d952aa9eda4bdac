"""Return event types and the only function that writes return timeline rows."""

from __future__ import annotations

from datetime import datetime

from orders.events import Event, EventActor, timeline_record

from .models import Return


class ReturnEventType:
    CREATED = "return.created"
    HELD = "return.held_for_review"
    APPROVED = "return.approved"
    REJECTED = "return.rejected"
    PICKUP_COMPLETED = "return.pickup_completed"
    PICKUP_FAILED = "return.pickup_failed"
    RECEIVED = "return.received"
    QC_RESULT = "return.qc_result"
    EXCHANGE_RESERVED = "return.exchange_reserved"
    EXCHANGE_DISPATCHED = "return.exchange_dispatched"
    DIFFERENCE_COLLECTED = "return.difference_collected"
    CANCELLED = "return.cancelled"
    COMPLETED = "return.completed"
    STATE = "return.transition"


def return_event(
    ret: Return,
    type_: str,
    *,
    actor: EventActor,
    message: str = "",
    payload: dict | None = None,
    from_state: str = "",
    to_state: str = "",
    occurred_at: datetime | None = None,
    source: str = "",
    external_id: str = "",
) -> None:
    timeline_record(
        order=ret.order_id,
        actor=actor,
        occurred_at=occurred_at,
        source=source,
        external_id=external_id,
        event=Event(
            "return",
            ret.rma,
            type_,
            from_state,
            to_state or ret.state,
            message,
            {"rma": ret.rma, **(payload or {})},
        ),
    )
