"""Recoveries: amounts customers owe back (the QC flow opens them)."""

from __future__ import annotations

from django.db import transaction

from orders.events import EventActor
from refunds.models import Recovery
from refunds.services.recovery import (
    recoveries_apply_to_order,
    recoveries_open_for_failed_qc,
)
from refunds.services.recovery import recovery_charge as refunds_recovery_charge
from refunds.services.recovery import recovery_collect as refunds_recovery_collect
from refunds.services.recovery import recovery_write_off as refunds_recovery_write_off

__all__ = [
    "recoveries_apply_to_order",
    "recoveries_open_for_failed_qc",
    "recovery_charge",
    "recovery_collect",
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
