"""Recoveries: amounts customers owe back (the QC flow opens them)."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from refunds.models import Recovery
from refunds.services import gateway_webhook_done, gateway_webhook_store
from refunds.services.recovery import (
    recoveries_apply_to_order,
    recoveries_open_for_failed_qc,
    recovery_link_cancel,
    recovery_link_create,
    recovery_link_paid,
)
from refunds.services.recovery import recovery_charge as refunds_recovery_charge
from refunds.services.recovery import recovery_collect as refunds_recovery_collect
from refunds.services.recovery import recovery_write_off as refunds_recovery_write_off

__all__ = [
    "recoveries_apply_to_order",
    "recoveries_open_for_failed_qc",
    "recovery_charge",
    "recovery_collect",
    "recovery_gateway_event",
    "recovery_link",
    "recovery_link_close",
    "recovery_write_off",
]


def recovery_charge(*, recovery_id: int, actor: EventActor | None = None) -> Recovery:
    """The after-commit charge through the tender's gateway (the task)."""
    with transaction.atomic():
        return refunds_recovery_charge(recovery_id, actor or EventActor.system("recoveries"))


def recovery_collect(*, recovery_id: int, reference: str, actor: EventActor) -> Recovery:
    with transaction.atomic():
        return refunds_recovery_collect(recovery_id=recovery_id, reference=reference, actor=actor)


def recovery_write_off(*, recovery_id: int, reason: str, actor: EventActor) -> Recovery:
    with transaction.atomic():
        return refunds_recovery_write_off(recovery_id=recovery_id, reason=reason, actor=actor)


def recovery_link(
    *, recovery_id: int, actor: EventActor | None = None, give_up: bool = False
) -> Recovery:
    """The after-commit job: the tender's gateway makes the payment link
    (``give_up``: its last retry; the brand's page is sent instead)."""
    with transaction.atomic():
        return recovery_link_create(
            recovery_id, actor or EventActor.system("recoveries"), give_up=give_up
        )


def recovery_link_close(*, recovery_id: int, actor: EventActor | None = None) -> bool:
    """The after-commit job: a settled recovery's gateway link is cancelled."""
    with transaction.atomic():
        return recovery_link_cancel(recovery_id, actor or EventActor.system("recoveries"))


def recovery_gateway_event(
    *,
    gateway: str,
    event_id: str,
    event_type: str,
    body: bytes,
    headers: dict,
    link: str,
    payment: str,
    amount_minor: int | None,
) -> tuple[bool, str]:
    """A gateway's "payment link paid" webhook, signature already checked:
    stored raw once, then the recovery collected. Returns whether it was a
    redelivery, and what happened."""
    row, fresh = gateway_webhook_store(
        gateway=gateway, event_id=event_id, event_type=event_type, body=body, headers=headers
    )
    if not fresh:
        return True, row.outcome
    with transaction.atomic():
        _recovery, outcome = recovery_link_paid(
            gateway=gateway,
            link=link,
            payment=payment,
            amount_minor=amount_minor,
            actor=EventActor.system(gateway),
        )
        gateway_webhook_done(row, outcome, payment or link)
    return False, outcome
