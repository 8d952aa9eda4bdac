"""A courier's delivery report, refused units included."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from orders.events import EventActor
from orders.services import DeliveryResult
from orders.services import shipment_deliver as orders_shipment_deliver
from refunds.calculator import refund_estimate
from returns.services import doorstep_refusal_create, return_estimate_record

from .reactions import return_changed


def shipment_deliver(
    *,
    shipment_id: int,
    actor: EventActor,
    delivered_at: datetime | None = None,
    refused_unit_ids: list[int] | None = None,
    cod_collected: Decimal | None = None,
    external_id: str = "",
) -> DeliveryResult:
    """Record the delivery; refused units open a doorstep-refusal return in
    the same transaction (returns writes it, refunds estimates it), followed
    by its reactions."""
    with transaction.atomic():
        result = orders_shipment_deliver(
            shipment_id=shipment_id,
            actor=actor,
            delivered_at=delivered_at,
            refused_unit_ids=refused_unit_ids,
            cod_collected=cod_collected,
            external_id=external_id,
        )
        ret = doorstep_refusal_create(delivery=result, actor=actor)
        if ret is not None:
            return_estimate_record(ret, refund_estimate(ret))  # refunds prices it
            return_changed(ret, actor)
        return result
