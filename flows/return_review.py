"""Review of returns held for risk (API and console)."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from returns.models import Return
from returns.services import return_approved_notify, return_review_approve, return_review_reject
from sla.selectors import return_promised_dates

from .reactions import return_changed


def return_approve(*, rma: str, actor: EventActor, note: str = "") -> Return:
    """Approve, keep the keep-it units, tell the customer by when (sla's
    dates), then the reactions."""
    with transaction.atomic():
        return_request = return_review_approve(rma=rma, actor=actor, note=note)
        return_approved_notify(return_request, return_promised_dates(return_request))
        return_changed(return_request, actor)
        return return_request


def return_reject(*, rma: str, actor: EventActor, note: str = "", reason: str = "other") -> Return:
    """Reject: nothing follows (no refund falls due, no leg was started).
    ``reason`` picks the customer's message; ``note`` stays internal."""
    return return_review_reject(rma=rma, actor=actor, note=note, reason=reason)
