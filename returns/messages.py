"""What the customer is told at each step (DOMAIN.md, Customer communication).
Every message goes through the outbox in the transaction of its change.

The dates promised are sla's clock (``sla.selectors.return_promised_dates``):
the use cases in ``flows`` read them and pass them in as ``dates``, so
returns never imports sla."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote

from oms.dates import fmt
from orders.messaging import message_enqueue

from .models import Return
from .states import Resolution, ReturnType
from .webhooks import BY_TEMPLATE, return_webhook


def _fmt(dt) -> str:
    return fmt(dt, "%a %d %b %Y")


_withheld: ContextVar[bool] = ContextVar("returns_emails_withheld", default=False)


@contextmanager
def emails_withheld() -> Iterator[None]:
    """Inside, ``notify`` queues no email (the storefront webhook still goes):
    for an event whose caller sends the customer one message of its own."""
    token = _withheld.set(True)
    try:
        yield
    finally:
        _withheld.reset(token)


# Why a supervisor rejects a held return: code → (what staff pick, what the
# customer reads). The supervisor's own note stays on the timeline; the
# customer only ever gets the sentence written for customers.
REJECT_REASONS: dict[str, tuple[str, str]] = {
    "outside_window": (
        "Outside the return window",
        "The return window for these items had closed when the request was made.",
    ),
    "not_returnable": (
        "Final-sale or non-returnable item",
        "These items were sold as final sale, so they can't be returned.",
    ),
    "used_or_damaged_by_use": (
        "Used, worn or washed",
        "Items need to be unused and in their original condition with tags to be returned.",
    ),
    "evidence_mismatch": (
        "Photos or serial don't match what we shipped",
        "The photos or serial number you sent don't match the item we delivered. "
        "Reply to this email with clearer photos and we'll look again.",
    ),
    "duplicate": (
        "Duplicate of another return",
        "These items are already covered by another return on your order.",
    ),
    "return_pattern": (
        "Unusual return pattern (risk review)",
        "After reviewing the request, we can't accept this return. If you think this is "
        "a mistake, reply to this email and a person will look at it again.",
    ),
    "other": (
        "Other",
        "Reply to this email and a person will explain and help you with the next steps.",
    ),
}


def status_link(rma: str) -> str:
    """The return's status page in the portal, for emails."""
    from django.conf import settings
    from django.urls import get_script_prefix

    head, tail = _status_path(get_script_prefix())
    return f"{settings.OMS_PUBLIC_URL}{head}{quote(rma, safe=_REVERSE_SAFE)}{tail}"


_RMA_MARK = "RMA0MARK0"
_REVERSE_SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted in a path


@functools.cache
def _status_path(script_prefix: str) -> tuple[str, str]:
    """``reverse("portal:return", args=[rma])`` split around the rma, worked
    out once per script prefix (reverse() was a third of a return message's
    cost)."""
    from django.urls import reverse

    head, _, tail = reverse("portal:return", args=[_RMA_MARK]).partition(_RMA_MARK)
    return head, tail


def notify(ret: Return, template: str, **ctx) -> None:
    if not _withheld.get():
        subject, body = TEMPLATES[template](ret, **ctx)
        body = f"{body}\n\nFollow your return: {status_link(ret.rma)}"
        message_enqueue(order=ret.order, template=template, subject=subject, body=body)
    if template in BY_TEMPLATE:
        return_webhook(ret, BY_TEMPLATE[template])


def _created(ret: Return, items=None, held=False, breakdown=None, dates=None):
    lines = [f"We have your return request {ret.rma} for order {ret.order.number}."]
    if held:
        lines.append(
            "A specialist will review it within one business day; we'll email you as soon as it's decided."
        )
    elif ret.type != ReturnType.DOORSTEP_REFUSAL:
        lines.append(
            f"What happens next: a courier will collect the item(s) by {_fmt(dates['pickup_by'])}. "
            "Please keep them packed with their tags."
        )
    resolutions = {i.resolution for i in (items or [])}
    if resolutions & {Resolution.EXCHANGE, Resolution.REPLACEMENT}:
        lines.append(
            f"Your exchange is reserved and should reach you by {_fmt(dates['exchange_by'])}."
        )
    if breakdown and breakdown.get("total") not in (None, "0.00"):
        lines.append(
            f"Your refund of {breakdown['total']} {ret.order.currency} should arrive by "
            f"{_fmt(dates['refund_by'])}, after the item(s) pass inspection."
        )
    return f"Return {ret.rma} received", "\n\n".join(lines)


def _self_ship_text(ret: Return) -> str:
    policy = ret.policy
    ways = []
    if policy.self_ship_allowed:
        ways.append("post the parcel to us")
    if policy.store_drop_allowed:
        ways.append("drop it at one of our stores")
    if not ways:
        return "Our team will contact you to arrange the return."
    return "You can " + " or ".join(ways) + " with the label attached."


TEMPLATES = {
    "return_created": _created,
    "return_approved": lambda ret, dates, **_: (
        f"Return {ret.rma} approved",
        f"Good news: your return {ret.rma} is approved. A courier will collect the item(s) by "
        f"{_fmt(dates['pickup_by'])}.",
    ),
    "return_rejected": lambda ret, reason="", **_: (
        f"Return {ret.rma} not approved",
        f"We could not approve return {ret.rma}. {REJECT_REASONS.get(reason, REJECT_REASONS['other'])[1]}",
    ),
    "pickup_booked": lambda ret, **_: (
        f"Pickup booked for return {ret.rma}",
        f"{ret.courier_name} will collect your return"
        + (f" on {_fmt(ret.pickup_scheduled_at)}" if ret.pickup_scheduled_at else "")
        + f". Tracking number (AWB): {ret.awb}. Please keep the item(s) packed with their tags.",
    ),
    "pickup_unserviceable": lambda ret, **_: (
        f"How to send back return {ret.rma}",
        "Our courier cannot collect from your pincode. "
        + _self_ship_text(ret)
        + f" Print your return label from the return page: /returns/r/{ret.rma}/label.pdf",
    ),
    "pickup_done": lambda ret, **_: (
        f"Return {ret.rma} picked up",
        "The courier has collected your item(s). We'll inspect them as soon as they arrive.",
    ),
    "pickup_failed": lambda ret, **_: (
        f"We missed you: return {ret.rma}",
        f"The courier could not collect your return (attempt {ret.pickup_attempts}). "
        "We will try again on the next working day.",
    ),
    "received": lambda ret, **_: (
        f"Return {ret.rma} received at our warehouse",
        "Your item(s) arrived and are waiting for inspection.",
    ),
    "qc_outcome": lambda ret, passed=0, failed=0, **_: (
        f"Inspection result for return {ret.rma}",
        f"{passed} item(s) passed inspection."
        + (f" {failed} item(s) did not pass and will be sent back to you." if failed else ""),
    ),
    "exchange_dispatched": lambda ret, **_: (
        f"Your exchange for {ret.rma} is on its way",
        "We've shipped your replacement item(s).",
    ),
    "cancelled": lambda ret, **_: (
        f"Return {ret.rma} cancelled",
        "Your return has been cancelled. Nothing will be collected.",
    ),
}
