"""Console writes that have no home in the domain apps: root-cause tags on a
return, contacts logged on an order, and a supervisor's "modify lines" on a
held return. Each writes its timeline row in the same transaction."""

from __future__ import annotations

from django.db import transaction

from flows.return_events import return_handle_event
from flows.return_intake import return_create
from oms.errors import ApplicationError, Conflict
from orders.events import Event, EventActor, timeline_record
from orders.models import ContactLog, Order
from returns.models import Return
from returns.services import ItemRequest, ReturnEventData, ReturnRequest
from returns.states import EventKind, ReturnState

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
        ret = Return.objects.select_for_update().filter(rma=rma).first()
        if ret is None:
            raise ApplicationError(f"Return {rma} does not exist.", code="not_found")
        before = ret.root_cause
        Return.objects.filter(pk=ret.pk).update(root_cause=root_cause)
        ret.root_cause = root_cause
        timeline_record(
            order=ret.order_id,
            actor=actor,
            event=Event(
                "return",
                ret.rma,
                "return.root_cause_tagged",
                message=f"Root cause: {dict(ROOT_CAUSES)[root_cause]}",
                payload={"rma": ret.rma, "root_cause": root_cause, "previous": before},
            ),
        )
        return ret


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


def return_modify_lines(*, rma: str, keep_units: list[int], actor: EventActor) -> Return:
    """Cancel a return held for review and create it again with fewer lines,
    under the same reasons, resolutions and refund method. All or nothing."""
    ret = Return.objects.filter(rma=rma).first()
    if ret is None:
        raise ApplicationError(f"Return {rma} does not exist.", code="not_found")
    if ret.state != ReturnState.PENDING_REVIEW:
        raise Conflict(f"Return {rma} is {ret.state}; only a held return can be modified.")
    items = list(ret.items.select_related("reason", "exchange_sku").order_by("pk"))
    kept = [i for i in items if i.unit_id in set(keep_units)]
    if not kept:
        raise ApplicationError("Keep at least one line; to drop them all, reject the return.")
    if len(kept) == len(items):
        raise ApplicationError("Remove at least one line.")
    with transaction.atomic():
        return_handle_event(
            rma=rma,
            data=ReturnEventData(
                type=EventKind.CANCELLED,
                reason=f"lines modified by {actor.label}; replaced by a new return",
            ),
            actor=actor,
        )
        return return_create(
            ReturnRequest(
                order=ret.order.number,
                refund_method=ret.refund_method,
                payout=ret.payout_details,
                channel="console",
                items=[
                    ItemRequest(
                        unit=i.unit_id,
                        reason=i.reason.code,
                        resolution=i.resolution,
                        exchange_sku=i.exchange_sku.code if i.exchange_sku else None,
                        serial=i.customer_serial,
                        note=i.customer_note,
                    )
                    for i in kept
                ],
            ),
            actor=actor,
        )
