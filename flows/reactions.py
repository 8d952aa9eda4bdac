"""What follows every change to a return, in one explicit order."""

from __future__ import annotations

from orders.events import EventActor
from quality.services import quality_react
from refunds.selectors import refund_open_for_return
from refunds.services import refund_create_due
from returns.models import Return
from returns.services import return_close, return_settled
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
