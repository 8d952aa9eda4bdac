"""What follows every change to a return, in one explicit order."""

from __future__ import annotations

from dataclasses import dataclass, field

from couriers.config import shiprocket_configured
from orders.events import EventActor
from orders.states import UnitState
from quality.services import quality_react
from refunds.models import Refund
from refunds.selectors import refund_open_for_return
from refunds.services import refund_create_due, refund_create_due_held
from returns.models import Return, ReturnItem
from returns.services import return_close, return_settled
from returns.states import ReturnType
from sla.models import Leg
from sla.services import sla_sync

from .couriers import courier_react


def return_changed(ret: Return, actor: EventActor, *, sync_sla: bool = True) -> None:
    """Inside the change's transaction, with the return locked:

    1. quality assesses new defect lines and applies their outcome (it may
       change a line's resolution, so it goes before refunds prices it);
    2. refunds creates the refunds now due (keep-it, partial credit, instant,
       after QC, exchange difference);
    3. the courier bookings it calls for are queued (reverse pickup on
       approval, forward shipments; nothing on the manual path);
    4. sla starts and closes legs (the refund leg sees the refunds of step 2,
       the pickup leg waits for the courier's booking);
    5. the return closes when every unit is settled and no money is pending.

    ``sync_sla=False``: an SLA breach's action (``flows.sla`` syncs once after).
    """
    quality_react(ret, actor)
    refund_create_due(ret, actor)
    courier_react(ret, actor)
    if sync_sla:
        sla_sync(ret, actor)
    if return_settled(ret) and not refund_open_for_return(ret):
        return_close(ret, actor)


def return_created_waits(ret: Return, items: list[ReturnItem]) -> bool:
    """True when a return approved as it was created needs only its SLA clock
    (``return_created``): while every unit still waits for its pickup, none
    of steps 1, 2 and 4 of ``return_changed`` can do anything (no defect line
    to assess, no refund due: keep-it and instant refunds need a kept or
    picked-up unit; nothing settled). A quality rejection, a kept unit or a
    configured courier (it books the pickup, step 3, before the clock
    starts) takes the whole chain instead."""
    return (
        ret.type != ReturnType.QUALITY_REJECTION
        and all(i.unit.state == UnitState.RETURN_REQUESTED for i in items)
        and not shiprocket_configured()
    )


@dataclass
class ReturnChange:
    """What one change's transaction holds of a return, handed from step to
    step so that none reads or locks it again, and what the response is
    built from: the items (units locked, kept current by every step), the
    refunds the change created, the ids of the return's refunds before them
    (None: not read), and the SLA legs after the sync."""

    items: list[ReturnItem]
    refunds: list[Refund] = field(default_factory=list)
    refunds_before: list[int] | None = None
    legs: list[Leg] | None = None
    # The items were loaded with quality's keys (no step of the change alters them).
    quality_held: bool = False


def return_changed_held(ret: Return, actor: EventActor, change: ReturnChange) -> None:
    """``return_changed`` for a change that holds the return's items
    (``change.items``, from ``return_items`` in this transaction, under the
    order's lock; every step keeps them current): the same steps in the same
    order, on those objects. The order is already locked and loaded with the
    return (``return_get_for_update``, ``return_lock``), so refunds does not
    lock or read it again; SLA sees the refund just created without reading
    it back."""
    quality_react(ret, actor, items=change.items)
    due = refund_create_due_held(ret, actor, change.items)
    change.refunds += due.created
    if change.refunds_before is None:
        change.refunds_before = due.before
    courier_react(ret, actor)
    # Whether money is still due on the return: asked once, for SLA and close
    # alike (no step between them changes refunds).
    money_open = bool(due.created) or refund_open_for_return(ret)
    change.legs = sla_sync(ret, actor, items=change.items, money_open=money_open)
    if return_settled(ret, change.items) and not money_open:
        return_close(ret, actor)
        for item in change.items:
            item.is_open = False


def return_created(ret: Return, items: list[ReturnItem], actor: EventActor) -> bool:
    """The reactions to a return approved as it was created, in the same
    transaction: only the SLA clock, from the items in hand, when
    ``return_created_waits``; otherwise the whole chain. True when the short
    way was taken (the items' units are then as the caller holds them)."""
    if not return_created_waits(ret, items):
        return_changed(ret, actor)
        return False
    sla_sync(ret, actor, created_items=items)
    return True
