"""The unit transition helper every app uses to move units, unit locks, inbound
event claims and readable references."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, connections, router, transaction
from django_fsm import TransitionNotAllowed

from inventory.services import Move, stock_move_many
from inventory.states import Bucket
from oms.errors import Conflict
from oms.prepared import ids_match, ids_param, run_sql

from ..events import Event, EventActor, EventType, timeline_record_many
from ..models import (
    ProcessedEvent,
    Unit,
)
from ..states import UnitState

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference(prefix: str, length: int = 8) -> str:
    """Readable, unguessable reference (no 0/O or 1/I to misread on the phone)."""
    return f"{prefix}-" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


# --- units -------------------------------------------------------------------


def units_transition(
    units: list[Unit],
    method: str | Callable[..., object],
    *,
    actor: EventActor,
    args: tuple = (),
    fields: tuple[str, ...] = (),
    message: str = "",
    payload: dict | None = None,
    occurred_at: datetime | None = None,
    source: str = "",
    external_id: str = "",
) -> None:
    """Apply transition ``method`` to each unit and persist it in bulk.

    ``method`` is the FSM method (``Unit.pass_qc_for_refund``) or, for now,
    its name; the name is the ``action`` in a refusal and the default message.

    The FSM refuses a transition from the wrong state (409 naming the unit and
    its state). Persisting is a conditional update per (from, to) group, so a
    unit that another transaction moved meanwhile makes the whole change fail
    instead of being overwritten. ``fields`` are attnames set by the transition
    that must be saved with it. One timeline row per unit.
    """
    if not units:
        return
    transition = method if callable(method) else getattr(Unit, method)
    method = transition.__name__
    groups: dict[tuple[str, str], list[Unit]] = defaultdict(list)
    events = []
    for unit in units:
        before = unit.state
        try:
            transition(unit, *args)
        except TransitionNotAllowed as exc:
            raise Conflict(
                f"Unit {unit.pk} is {before}; '{method}' does not apply.",
                code="invalid_state",
                extra={"unit": unit.pk, "state": before, "action": method},
            ) from exc
        groups[(before, unit.state)].append(unit)
        events.append(
            Event(
                "unit",
                unit.pk,
                EventType.UNIT_TRANSITION,
                before,
                unit.state,
                message or method.replace("_", " "),
                payload or {},
            )
        )
    for (before, after), members in groups.items():
        pks = [u.pk for u in members]
        if fields:
            values = {f: getattr(members[0], f) for f in fields}
            updated = Unit.objects.filter(pk__in=pks, state=before).update(state=after, **values)
        else:
            updated = _states_update(pks, before, after)
        if updated != len(members):
            raise Conflict(
                "Units changed concurrently; nothing was changed.", code="concurrent_change"
            )
    order_id = units[0].order_id
    timeline_record_many(
        order=order_id,
        events=events,
        actor=actor,
        occurred_at=occurred_at,
        source=source,
        external_id=external_id,
    )


def _states_update(pks: list[int], before: str, after: str) -> int:
    """``Unit.objects.filter(pk__in=pks, state=before).update(state=after)``:
    the rows it changed. On PostgreSQL and SQLite the statement is written
    directly, with the ids as one parameter (an array, a JSON list), so its text
    does not change with their number; building and compiling the queryset was
    a twentieth of a return's creation."""
    connection = connections[router.db_for_write(Unit)]
    ids = ids_match(connection)
    if ids is None:
        return Unit.objects.filter(pk__in=pks, state=before).update(state=after)
    q = connection.ops.quote_name
    state = q(Unit._meta.get_field("state").column)
    sql = (
        f"UPDATE {q(Unit._meta.db_table)} SET {state} = %s "  # noqa: S608 - quoted names, values bound
        f"WHERE {q(Unit._meta.pk.column)} {ids} AND {state} = %s"
    )
    # as QuerySet.update() does, run_sql marks the enclosing atomic block for
    # rollback on an error, so a caller that catches it cannot commit past it
    changed, _rows = run_sql(
        sql,
        [after, ids_param(connection, pks), before],
        what="unit_states_update",
        using=connection.alias,
    )
    return changed


def units_lock(qs):
    """Lock the units for update, in primary-key order (no-op on SQLite, whose
    IMMEDIATE transactions already serialise writers)."""
    return list(qs.select_for_update(of=("self",)).order_by("pk"))


def event_claim(*, source: str, external_id: str) -> bool:
    """Record an inbound event id. False when it was already processed, so the
    caller ignores a redelivery. Call inside the change's transaction."""
    if not external_id:
        return True
    try:
        with transaction.atomic():
            ProcessedEvent.objects.create(source=source, external_id=external_id)
    except IntegrityError:
        return False
    return True


def event_claim_many(keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """``event_claim`` for many (source, external id) pairs in two statements:
    the pairs claimed now (those already processed are left out). A pair
    claimed by another transaction meanwhile raises ``IntegrityError``: the
    caller runs in a savepoint and falls back to ``event_claim`` one by one."""
    keys = [k for k in dict.fromkeys(keys) if k[1]]
    if not keys:
        return set()
    done = set(
        ProcessedEvent.objects.filter(external_id__in=[e for _, e in keys]).values_list(
            "source", "external_id"
        )
    )
    new = [k for k in keys if k not in done]
    ProcessedEvent.objects.bulk_create(
        [ProcessedEvent(source=src, external_id=ext) for src, ext in new]
    )
    return set(new)


def units_cancel_unshipped(
    units: list[Unit],
    *,
    reference: str,
    stock_reason: str,
    actor: EventActor,
    message: str,
    payload: dict | None = None,
    source: str = "",
    external_id: str = "",
) -> None:
    """Cancel ``units`` (ordered or allocated, locked by the caller): their
    reservations go back to sellable, then each unit moves to cancelled.
    Order cancellation and a storefront's cancellation share it."""
    reserved: dict[tuple[int, int], int] = defaultdict(int)
    for unit in units:
        if unit.state == UnitState.ALLOCATED and unit.location_id:
            reserved[(unit.sku_id, unit.location_id)] += 1
    if reserved:
        stock_move_many(
            [
                Move(sku_id, location_id, n, Bucket.RESERVED, Bucket.SELLABLE)
                for (sku_id, location_id), n in sorted(reserved.items())
            ],
            reason=stock_reason,
            reference=reference,
        )
    units_transition(
        units,
        Unit.cancel,
        actor=actor,
        message=message,
        payload=payload,
        source=source,
        external_id=external_id,
    )
