"""Finance pays COD refunds by bank/UPI; the customer corrects details the
bank returned (portal or API). One transaction each; paying the last payout
of a refund issues it and runs its return's reactions (the refund leg
closes, the return may complete)."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from refunds.models import Payout
from refunds.services import payout_details_correct, payout_fail, payout_pay
from returns.payout_details import payout_details_clean
from returns.services import return_get_for_update, return_lock, return_payout_details_set

from .reactions import return_changed


def payout_paid(*, payout_id: int, utr: str, actor: EventActor) -> Payout:
    with transaction.atomic():
        payout, issued = payout_pay(payout_id=payout_id, utr=utr, actor=actor)
        return_id = payout.refund.return_request_id
        if issued and return_id is not None:
            return_changed(return_lock(return_id), actor)
        return payout


def payout_failed(*, payout_id: int, reason: str, actor: EventActor) -> Payout:
    with transaction.atomic():
        payout, _ = payout_fail(payout_id=payout_id, reason=reason, actor=actor)
        return payout


def payout_details_update(*, rma: str, details: dict, actor: EventActor) -> list[Payout]:
    """The customer's corrected details: on the return, and on each of its
    payouts the bank returned, which go back to finance's worklist."""
    clean = payout_details_clean(details)
    with transaction.atomic():
        return_request = return_get_for_update(rma)
        payouts = payout_details_correct(return_request=return_request, details=clean, actor=actor)
        return_payout_details_set(return_request, clean)
        return payouts
