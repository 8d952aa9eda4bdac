"""Return event types and the only function that writes return timeline rows."""

from __future__ import annotations

from datetime import datetime

from django.db import models

from orders.events import Event, EventActor, TimelineEntry, timeline_record

from .models import Return


class ReturnEventType(models.TextChoices):
    """Every return timeline event. The ten in ``INPUT_EVENTS`` are also the
    commands ``return_event_handle`` takes; their API input name is ``.kind``
    (``ReturnEventType.QC_RESULT.kind == "qc_result"``)."""

    CREATED = "return.created"
    HELD = "return.held_for_review"
    APPROVED = "return.approved"
    REJECTED = "return.rejected"
    PICKUP_COMPLETED = "return.pickup_completed"
    PICKUP_FAILED = "return.pickup_failed"
    RECEIVED = "return.received"
    QC_RESULT = "return.qc_result"
    QC_COMPLETED = "return.qc_completed"
    EXCHANGE_RESERVED = "return.exchange_reserved"
    EXCHANGE_DISPATCHED = "return.exchange_dispatched"
    EXCHANGE_FAILED_AFTER_DISPATCH = "return.exchange_failed_after_dispatch"
    EXCHANGE_RELOCATED = "return.exchange_relocated"
    DIFFERENCE_COLLECTED = "return.difference_collected"
    CONVERTED_TO_KEEP = "return.converted_to_keep"
    CONVERTED_TO_REFUND = "return.converted_to_refund"
    REFUND_METHOD_CHANGED = "return.refund_method_changed"
    CANCELLED = "return.cancelled"
    PICKUP_BOOKED = "return.pickup_booked"
    PICKUP_NOT_BOOKED = "return.pickup_not_booked"
    PICKUP_UNSERVICEABLE = "return.pickup_unserviceable"
    COURIER_TRACKING = "return.courier_tracking"
    SHIPMENT_BOOKED = "return.shipment_booked"
    SENT_BACK = "return.sent_back"
    COMPLETED = "return.completed"
    STATE = "return.transition"

    @property
    def kind(self) -> str:
        """The API input name (``qc_result``, ``convert_to_keep``)."""
        return _INPUT_NAMES.get(self.value, self.value.removeprefix("return."))

    @classmethod
    def from_kind(cls, kind: str) -> ReturnEventType | None:
        """The input event for an API input name, or None if it is not one."""
        return _BY_KIND.get(str(kind))


# Input names that differ from the timeline value (a command, not its outcome).
_INPUT_NAMES = {
    ReturnEventType.CONVERTED_TO_KEEP.value: "convert_to_keep",
    ReturnEventType.CONVERTED_TO_REFUND.value: "convert_to_refund",
}

INPUT_EVENTS = (
    ReturnEventType.PICKUP_COMPLETED,
    ReturnEventType.PICKUP_FAILED,
    ReturnEventType.RECEIVED,
    ReturnEventType.QC_RESULT,
    ReturnEventType.EXCHANGE_DISPATCHED,
    ReturnEventType.DIFFERENCE_COLLECTED,
    ReturnEventType.CANCELLED,
    ReturnEventType.CONVERTED_TO_KEEP,
    ReturnEventType.CONVERTED_TO_REFUND,
    ReturnEventType.EXCHANGE_RELOCATED,
)
_BY_KIND = {t.kind: t for t in INPUT_EVENTS}

# Deprecated: the input names as their own choices, for the callers outside
# returns that still import ``returns.states.EventKind`` (the API's input
# choices, the console, a test). Use ``INPUT_EVENTS`` and ``.kind``.
EventKind = models.TextChoices("EventKind", [(t.kind.upper(), t.kind) for t in INPUT_EVENTS])


def _event(
    return_request: Return, type_: str, message: str, payload, from_state, to_state
) -> Event:
    return Event(
        "return",
        return_request.rma,
        type_,
        from_state,
        to_state or return_request.state,
        message,
        {"rma": return_request.rma, **(payload or {})},
    )


def return_event(
    return_request: Return,
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
        order=return_request.order_id,
        actor=actor,
        occurred_at=occurred_at,
        source=source,
        external_id=external_id,
        event=_event(return_request, type_, message, payload, from_state, to_state),
    )


def return_event_entry(
    return_request: Return,
    type_: str,
    *,
    actor: EventActor,
    message: str = "",
    payload: dict | None = None,
) -> TimelineEntry:
    """The row ``return_event`` writes, for ``timeline_record_rows`` (many
    returns in one insert)."""
    return TimelineEntry(
        return_request.order_id,
        _event(return_request, type_, message, payload, "", ""),
        actor,
    )
