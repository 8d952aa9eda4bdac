"""Event types and the only functions that write timeline rows.

Every app's services call ``timeline_record`` / ``timeline_record_many`` inside
the same transaction as the change they describe.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db import connection
from django.utils import timezone

from oms.prepared import insert_rows

from .models import Order, TimelineEvent
from .states import Actor


class EventType:
    ORDER_CREATED = "order.created"
    ORDER_DUPLICATE = "order.duplicate_ignored"
    UNIT_TRANSITION = "unit.transition"
    PAYMENT_TRANSITION = "payment.transition"
    PAYMENT_COLLECTED = "payment.collected"
    SHIPMENT_CREATED = "shipment.created"
    SHIPMENT_DELIVERED = "shipment.delivered"
    STOCK_RESERVED = "stock.reserved"
    STOCK_SHORT = "stock.short"
    UNITS_CANCELLED = "order.units_cancelled"
    PAYMENT_AMOUNT_REDUCED = "payment.amount_reduced"


@dataclass(frozen=True)
class EventActor:
    """Who did it: a kind (customer, staff, system, courier, api) and, for
    people and API keys, the user."""

    kind: str = Actor.SYSTEM
    user: object | None = None
    label: str = ""
    # The role whose duty this person performs without holding it (e.g. a
    # supervisor recording a warehouse receipt); shown on the timeline.
    acting_for: str = ""

    def on_duty(self, role: str) -> EventActor:
        """This actor doing ``role``'s work: unchanged for a holder of the role
        or the system, else marked as acting for it."""
        from oms.roles import user_roles

        if self.user is None or self.acting_for or role in user_roles(self.user):
            return self
        return replace(self, acting_for=role, label=f"{self.label} (acting for {role})")

    @classmethod
    def system(cls, label: str = "system") -> EventActor:
        return cls(Actor.SYSTEM, None, label)

    @classmethod
    def from_request(cls, request, default_kind: str = Actor.API) -> EventActor:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return cls(Actor.CUSTOMER, None, "customer")
        api_key = getattr(request, "auth", None)
        if api_key is not None and hasattr(api_key, "role"):
            kind = Actor.COURIER if api_key.role == "warehouse" else default_kind
            return cls(kind, user, f"{api_key.name} ({api_key.role})")
        return cls(Actor.STAFF, user, user.get_username())


@dataclass
class Event:
    entity: str
    entity_id: object
    type: str
    from_state: str = ""
    to_state: str = ""
    message: str = ""
    payload: dict = field(default_factory=dict)


def _row(
    order_id: int,
    event: Event,
    actor: EventActor,
    occurred_at: datetime,
    source: str,
    external_id: str,
) -> TimelineEvent:
    return TimelineEvent(
        order_id=order_id,
        entity=event.entity,
        entity_id=str(event.entity_id or ""),
        type=event.type,
        from_state=event.from_state or "",
        to_state=event.to_state or "",
        actor_kind=actor.kind,
        actor_user=actor.user if getattr(actor.user, "pk", None) else None,
        actor_label=actor.label[:150],
        source=source,
        external_id=external_id,
        message=event.message[:500],
        payload={**event.payload, "acting_for": actor.acting_for}
        if actor.acting_for
        else event.payload,
        occurred_at=occurred_at,
    )


@dataclass
class _Batch:
    rows: list[TimelineEvent]
    depth: int  # savepoints open when the batch began
    # Kept rows written early, inside a savepoint opened within the block (a
    # row recorded there goes after them): checked when the block ends.
    early: list[list[TimelineEvent]] = field(default_factory=list)


_batch: ContextVar[_Batch | None] = ContextVar("timeline_batch", default=None)


@contextmanager
def timeline_batched() -> Iterator[None]:
    """Inside (in one transaction), timeline rows are kept and written in one
    INSERT when the block ends, in the order they were recorded (their
    primary keys follow that order, as without the block).

    A row recorded inside a savepoint opened within the block is written at
    once, so a savepoint rolled back takes it with it; the rows kept so far
    are written just before it, to keep the order. Should that savepoint be
    rolled back and the block go on, those kept rows are written again when
    the block ends (one query checks). Read the timeline inside the block
    only after ``timeline_flush()``. Nested blocks write with the outermost
    one. An exception discards the kept rows (their transaction rolls back)."""
    if _batch.get() is not None:
        yield
        return
    batch = _Batch([], len(connection.savepoint_ids))
    token = _batch.set(batch)
    try:
        yield
        lost = [rows for rows in batch.early if not _still_there(rows[-1])]
        for rows in lost:
            for row in rows:
                row.pk = None
                row._state.adding = True
        batch.rows = [row for rows in lost for row in rows] + batch.rows
        timeline_flush()
    finally:
        _batch.reset(token)


def _still_there(row: TimelineEvent) -> bool:
    """Whether a row written early survived: its key, and what it says (on
    SQLite a rolled-back savepoint gives its key back to the next insert)."""
    return TimelineEvent.objects.filter(
        pk=row.pk,
        order_id=row.order_id,
        type=row.type,
        entity_id=row.entity_id,
        message=row.message,
    ).exists()


def timeline_flush() -> None:
    """Write the rows a ``timeline_batched`` block has kept so far (call it at
    the block's own level, not inside a savepoint opened within it)."""
    batch = _batch.get()
    if batch is not None and batch.rows:
        rows, batch.rows = batch.rows, []
        insert_rows(rows)


def timeline_record_many(
    *,
    order: Order | int,
    events: list[Event],
    actor: EventActor,
    occurred_at: datetime | None = None,
    source: str = "",
    external_id: str = "",
) -> None:
    if not events:
        return
    order_id = order if isinstance(order, int) else order.pk
    at = occurred_at or timezone.now()
    _write([_row(order_id, e, actor, at, source, external_id) for e in events])


def _write(rows: list[TimelineEvent]) -> None:
    """Insert ``rows``, or keep them in the open ``timeline_batched`` block."""
    batch = _batch.get()
    if batch is not None:
        if len(connection.savepoint_ids) == batch.depth:
            batch.rows += rows
            return
        if batch.rows:  # inside a savepoint: what was kept goes first
            kept, batch.rows = batch.rows, []
            insert_rows(kept)
            batch.early.append(kept)
    insert_rows(rows)


@dataclass(frozen=True)
class TimelineEntry:
    """One row for ``timeline_record_rows``: an event of one order, by one actor."""

    order_id: int
    event: Event
    actor: EventActor
    occurred_at: datetime | None = None


def timeline_record_rows(entries: list[TimelineEntry]) -> None:
    """Rows of several orders in one insert, in the given order (a sweep that
    changed many returns at once); ``occurred_at`` defaults to now."""
    if not entries:
        return
    now = timezone.now()
    _write([_row(e.order_id, e.event, e.actor, e.occurred_at or now, "", "") for e in entries])


def timeline_record(
    *,
    order: Order | int,
    event: Event,
    actor: EventActor,
    occurred_at: datetime | None = None,
    source: str = "",
    external_id: str = "",
) -> None:
    timeline_record_many(
        order=order,
        events=[event],
        actor=actor,
        occurred_at=occurred_at,
        source=source,
        external_id=external_id,
    )
