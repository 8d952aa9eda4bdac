"""The returns part of the demo data: partial returns, exchanges, damage
claims and refusals at every stage, driven through the real services at
simulated times, so the console, queues, SLA legs and dashboard have
something true to show."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone

from flows.refunds import refund_issue
from flows.return_events import return_handle_event
from flows.return_intake import return_create
from inventory.models import SKU
from oms.errors import ApplicationError
from orders.events import EventActor
from orders.models import Order, OutboundMessage, Unit
from orders.states import PaymentMethod, UnitState
from refunds.models import Refund
from returns.models import Return
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest

CUSTOMER = EventActor("customer", None, "customer (demo)")
WAREHOUSE = EventActor("courier", None, "warehouse (demo)")
REASONS = ["size_too_small", "size_too_large", "changed_mind", "not_as_described"]


def seed_order_returns(order: Order, clock, now: datetime) -> int:
    """Maybe open a return on ``order`` and move it along; returns how many
    returns were created or moved (0 when the dice say no)."""
    rng = random.Random(order.external_id)  # noqa: S311 - demo data, not security
    moved = 0
    refusal = order.returns.filter(type="doorstep_refusal").first()
    if refusal is not None:
        moved += _progress(refusal, rng, _first_time(order), clock, now)
    delivered = list(
        Unit.objects.filter(order=order, state=UnitState.DELIVERED).select_related("sku", "line")
    )
    if not delivered or rng.random() > 0.35:
        return moved
    start = max(u.delivered_at for u in delivered) + timedelta(
        days=rng.randint(1, 6), hours=rng.randint(1, 9)
    )
    if start > now - timedelta(hours=2):
        return moved
    unit = rng.choice(delivered)
    roll = rng.random()
    item = ItemRequest(unit=unit.pk, reason=rng.choice(REASONS), resolution="refund")
    if roll < 0.3:
        other = (
            SKU.objects.filter(
                product_id=unit.sku.product_id,
                balances__bucket="sellable",
                balances__quantity__gt=2,
            )
            .exclude(pk=unit.sku_id)
            .order_by("code")
            .first()
        )
        if other is not None:
            item = ItemRequest(
                unit=unit.pk,
                reason=rng.choice(["size_too_small", "size_too_large"]),
                resolution="exchange",
                exchange_sku=other.code,
            )
    elif roll < 0.4:
        item = ItemRequest(unit=unit.pk, reason="damaged_in_transit", resolution="refund")
    cod = order.payments.filter(method=PaymentMethod.COD).exists()
    request = ReturnRequest(
        order=order.number,
        items=[item],
        channel=rng.choice(["portal", "console", "api"]),
        refund_method="store_credit" if cod else "original",
    )
    try:
        with clock(start):
            ret = return_create(request, actor=CUSTOMER)
    except ApplicationError:
        return moved
    return moved + 1 + _progress(ret, rng, start, clock, now)


def _first_time(order: Order) -> datetime:
    ret = order.returns.order_by("created_at").first()
    return ret.created_at if ret else timezone.now()


def _progress(ret: Return, rng: random.Random, start: datetime, clock, now: datetime) -> int:
    """Move a return a random number of steps, each at its own time."""
    if ret.state in ("pending_review", "completed", "cancelled", "rejected"):
        return 0
    stage = rng.random()
    steps = []
    if ret.type != "doorstep_refusal":
        steps.append(("pickup_completed", {}))
    steps.append(("received", {"location": ret.location.code if ret.location else "wh-mumbai"}))
    steps.append(("qc_result", {}))
    if ret.type == "exchange":
        steps.append(("exchange_dispatched", {}))
    keep = int(len(steps) * stage * 1.4)
    at = start
    done = 0
    for kind, extra in steps[:keep]:
        at += timedelta(hours=rng.randint(10, 40))
        if at > now - timedelta(hours=1):
            break
        data = ReturnEventData(type=kind, event_id=f"demo-{ret.rma}-{kind}", **extra)
        if kind == "qc_result":
            data.results = [
                QcResult(unit=i.unit_id, passed=rng.random() > 0.08, grade=rng.choice("AAB"))
                for i in ret.items.filter(unit__state=UnitState.RETURNED)
            ]
            if not data.results:
                break
        try:
            with clock(at):
                return_handle_event(rma=ret.rma, data=data, actor=WAREHOUSE)
                for refund in Refund.objects.filter(return_request=ret, state="pending"):
                    refund_issue(refund_id=refund.pk)
        except ApplicationError:
            break
        done += 1
    return done


def mark_demo_messages_sent(orders) -> None:
    """The demo's customer emails are history: mark them sent so starting the
    worker does not print hundreds of old emails."""
    OutboundMessage.objects.filter(order__in=orders, state=OutboundMessage.State.PENDING).update(
        state=OutboundMessage.State.SENT, sent_at=timezone.now()
    )
