"""Console writes that have no home in the domain apps: root-cause tags on a
return and contacts logged on an order (a supervisor's "modify lines" on a
held return is ``flows.return_intake.return_modify_lines``). Each writes its
timeline row in the same transaction."""

from __future__ import annotations

from django.db import transaction

from oms.errors import ApplicationError
from orders.events import Event, EventActor, timeline_record
from orders.models import ContactLog, Order
from returns.models import Return

ROOT_CAUSES = [
    ("sizing", "Sizing or fit guidance"),
    ("product_quality", "Product quality"),
    ("listing_content", "Listing photos or description"),
    ("packaging", "Packaging"),
    ("courier_damage", "Courier damage"),
    ("wrong_pick", "Warehouse picked the wrong item"),
    ("customer_preference", "Customer preference"),
    ("fraud_suspected", "Suspected abuse"),
    ("other", "Other"),
]
CONTACT_CHANNELS = [("phone", "Phone"), ("email", "Email"), ("chat", "Chat"), ("social", "Social")]


def return_set_root_cause(*, rma: str, root_cause: str, actor: EventActor) -> Return:
    if root_cause not in dict(ROOT_CAUSES):
        raise ApplicationError("root_cause: unknown tag.", extra={"field": "root_cause"})
    with transaction.atomic():
        return_request = Return.objects.select_for_update().filter(rma=rma).first()
        if return_request is None:
            raise ApplicationError(f"Return {rma} does not exist.", code="not_found")
        before = return_request.root_cause
        Return.objects.filter(pk=return_request.pk).update(root_cause=root_cause)
        return_request.root_cause = root_cause
        timeline_record(
            order=return_request.order_id,
            actor=actor,
            event=Event(
                "return",
                return_request.rma,
                "return.root_cause_tagged",
                message=f"Root cause: {dict(ROOT_CAUSES)[root_cause]}",
                payload={"rma": return_request.rma, "root_cause": root_cause, "previous": before},
            ),
        )
        return return_request


def contact_log_create(
    *, order: Order, channel: str, summary: str, resolved: bool, actor: EventActor
) -> ContactLog:
    with transaction.atomic():
        contact = ContactLog.objects.create(
            order=order,
            channel=channel,
            summary=summary[:500],
            resolved=resolved,
            user=actor.user if getattr(actor.user, "pk", None) else None,
        )
        timeline_record(
            order=order,
            actor=actor,
            event=Event(
                "contact",
                contact.pk,
                "contact.logged",
                message=f"{channel}: {summary[:200]}",
                payload={"channel": channel, "resolved": resolved},
            ),
        )
        return contact


def return_assign(*, rma: str, assignee, actor: EventActor) -> Return:
    """Give a return an owner in the console queue (``assignee`` None: nobody).
    Only console users can own a case."""
    from .forms import is_console_user

    if assignee is not None and not is_console_user(assignee):
        raise ApplicationError(
            f"assignee: {assignee.get_username()} cannot use the console.",
            extra={"field": "assignee"},
        )
    with transaction.atomic():
        return_request = Return.objects.select_for_update().filter(rma=rma).first()
        if return_request is None:
            raise ApplicationError(f"Return {rma} does not exist.", code="not_found")
        before = return_request.assignee_id
        new = assignee.pk if assignee is not None else None
        if before == new:
            return return_request
        Return.objects.filter(pk=return_request.pk).update(assignee_id=new)
        return_request.assignee_id = new
        name = assignee.get_username() if assignee is not None else "nobody"
        timeline_record(
            order=return_request.order_id,
            actor=actor,
            event=Event(
                "return",
                return_request.rma,
                "return.assigned",
                message=f"Assigned to {name}",
                payload={"rma": return_request.rma, "assignee": new, "previous": before},
            ),
        )
        return return_request
