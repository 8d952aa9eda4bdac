"""Delivered orders and returns, one trait per return status.

Nothing here writes a state by hand. Each object is walked to its status
through the services, the same way an API call would do it: ``order_create``,
shipping, delivery, ``return_create``, then the return's events
(``return_handle_event``), review (``return_approve`` / ``return_reject``) and
refund issue (``refund_issue``). So units, stock, money, timeline rows and SLA
legs always agree with the return's state.

    ReturnFactory()                      # approved, one unit for a refund
    ReturnFactory(received=True)         # picked up and received at wh-main
    ReturnFactory(completed=True, exchange=True, units=2)
    ReturnFactory(order=my_order, in_transit=True)

A test that runs the on-commit callbacks (``django_capture_on_commit_callbacks
(execute=True)``) around a factory gets the same objects: the queued refund
task finds its refund already issued, or issues it as ``refund_issue`` would.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from inventory.models import SKU
from orders.events import EventActor
from orders.models import Order, Unit
from orders.states import PaymentMethod, UnitState
from returns.models import Return
from returns.states import NO_PICKUP, RefundMethod, Resolution, ReturnState, ReturnType

from .inventory import LocationFactory
from .orders import ChannelFactory

ACTOR = EventActor.system("factories")
WAREHOUSE = "wh-main"
PRODUCT = "ftee"
SKU_CODE = "F-TEE-M"
EXCHANGE_SKU_CODE = "F-TEE-L"
STOCK = 1000
# A serial that never matches the shipped one: the risk check adds 50, which
# reaches the default threshold (50) and holds the return for review.
MISMATCHED_SERIAL = "SN-NOT-SHIPPED"


def warehouse():
    """The default warehouse, the same row as the ``warehouse_location`` fixture."""
    return LocationFactory(code=WAREHOUSE, name="Main warehouse", is_default=True)


def stocked_sku(code: str, price: Decimal, *, product: str = PRODUCT, size: str = "M") -> SKU:
    """The SKU ``code``, created through the inventory services with sellable
    stock at the warehouse the first time it is asked for."""
    from inventory.services import sku_upsert, stock_adjust
    from inventory.states import Bucket

    sku = SKU.objects.filter(code=code).first()
    if sku is not None:
        return sku
    sku, _ = sku_upsert(
        code=code, product=product, name=code, price=price, attributes={"size": size}
    )
    stock_adjust(
        sku=sku, location=warehouse(), bucket=Bucket.SELLABLE, quantity=STOCK, reason="factory"
    )
    return sku


class DeliveredOrderFactory(factory.Factory):
    """An order of ``quantity`` units of one SKU, made by ``order_create``,
    shipped in one shipment (each unit with serial ``SN-<unit id>``) and
    delivered; ``refused`` units are refused at the door, which opens a
    doorstep-refusal return by itself. ``delivered=False`` stops after
    ``order_create`` (units allocated)."""

    class Meta:
        model = Order

    sku = SKU_CODE
    quantity = 2
    price = Decimal("500.00")
    shipping = Decimal("0.00")
    cod = False
    refused = 0
    delivered = True
    external_id = factory.Sequence(lambda n: f"F-{n:05d}")
    email = factory.Sequence(lambda n: f"factory{n}@example.com")

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("orders only exist through order_create: use create()")

    @classmethod
    def _create(
        cls,
        model_class,
        *,
        sku,
        quantity,
        price,
        shipping,
        cod,
        refused,
        delivered,
        external_id,
        email,
    ):
        from flows.delivery import shipment_deliver
        from orders.services import LineData, OrderData, PaymentData, order_create, shipment_create

        warehouse()
        ChannelFactory(code="web", name="Web store")
        stocked_sku(sku, price)
        total = price * quantity + shipping
        order, _ = order_create(
            data=OrderData(
                channel="web",
                external_id=external_id,
                currency="INR",
                placed_at=timezone.now() - timedelta(hours=1),
                lines=[LineData(sku=sku, quantity=quantity, unit_price=price)],
                payments=[
                    PaymentData(
                        method=PaymentMethod.COD if cod else PaymentMethod.CARD, amount=total
                    )
                ],
                customer={"email": email, "name": email.split("@")[0].title()},
                shipping=shipping,
            ),
            actor=ACTOR,
        )
        if not delivered:
            return order
        units = list(order.units.order_by("pk"))
        shipment = shipment_create(
            order=order,
            unit_ids=[u.pk for u in units],
            serials={u.pk: f"SN-{u.pk}" for u in units},
            actor=ACTOR,
        )
        shipment_deliver(
            shipment_id=shipment.pk,
            actor=ACTOR,
            refused_unit_ids=[u.pk for u in units[:refused]],
        )
        return Order.objects.get(pk=order.pk)


# The events that take an approved return to each status, in order.
PATHS = {
    ReturnState.PENDING_REVIEW: (),
    ReturnState.APPROVED: (),
    ReturnState.IN_TRANSIT: ("pickup_completed",),
    ReturnState.RECEIVED: ("pickup_completed", "received"),
    ReturnState.COMPLETED: ("pickup_completed", "received", "qc_passed", "settle"),
    ReturnState.REJECTED: ("reject",),
    ReturnState.CANCELLED: ("cancelled",),
}
HELD = {ReturnState.PENDING_REVIEW, ReturnState.REJECTED}
# A doorstep refusal is opened by the delivery itself, already in transit.
DOORSTEP_PATHS = {
    ReturnState.IN_TRANSIT: (),
    ReturnState.RECEIVED: ("received",),
    ReturnState.COMPLETED: ("received", "qc_passed", "settle"),
}


class ReturnFactory(factory.django.DjangoModelFactory):
    """A return of ``units`` delivered units of ``order`` (a new
    ``DeliveredOrderFactory`` order when not given), with one ``resolution``
    and ``reason`` for all, walked to ``state`` through the services.

    Traits: ``pending_review`` (held by the risk check: the customer gives a
    serial that was not shipped), ``approved`` (the default), ``in_transit``,
    ``received``, ``completed`` (QC passed and the refund issued, or the
    exchange dispatched), ``rejected`` (in review), ``cancelled`` (before
    pickup); ``exchange`` (for the same-priced size L, reserved at
    creation); ``doorstep_refusal`` (``units`` refused at delivery of a new
    prepaid order; only with ``in_transit``, ``received`` or ``completed``)."""

    class Meta:
        model = Return

    order = None
    state = ReturnState.APPROVED
    units = 1
    reason = "changed_mind"
    resolution = Resolution.REFUND
    refund_method = RefundMethod.ORIGINAL
    payout = factory.LazyFunction(dict)
    refused = False

    class Params:
        pending_review = factory.Trait(state=ReturnState.PENDING_REVIEW)
        approved = factory.Trait(state=ReturnState.APPROVED)
        in_transit = factory.Trait(state=ReturnState.IN_TRANSIT)
        received = factory.Trait(state=ReturnState.RECEIVED)
        completed = factory.Trait(state=ReturnState.COMPLETED)
        rejected = factory.Trait(state=ReturnState.REJECTED)
        cancelled = factory.Trait(state=ReturnState.CANCELLED)
        exchange = factory.Trait(resolution=Resolution.EXCHANGE)
        doorstep_refusal = factory.Trait(refused=True)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("returns only exist through return_create: use create()")

    @classmethod
    def _create(
        cls,
        model_class,
        *,
        order,
        state,
        units,
        reason,
        resolution,
        refund_method,
        refused,
        payout,
    ):
        from flows.return_intake import return_create
        from returns.services import ItemRequest, ReturnRequest

        if refused:
            return _doorstep_refusal(state, units, order)
        if state not in PATHS:
            raise ValueError(f"no path to a {state!r} return")
        if resolution in NO_PICKUP and state not in (ReturnState.APPROVED, *HELD):
            raise ValueError(f"a {resolution} return has no pickup to walk to {state!r}")
        if order is None:
            order = DeliveredOrderFactory(quantity=max(units, 2))
        chosen = list(
            Unit.objects.filter(order=order, state=UnitState.DELIVERED).order_by("pk")[:units]
        )
        if len(chosen) < units:
            raise ValueError(
                f"order {order.number} has {len(chosen)} delivered unit(s), not {units}"
            )
        exchange_sku = None
        if resolution == Resolution.EXCHANGE:
            exchange_sku = stocked_sku(EXCHANGE_SKU_CODE, chosen[0].line.unit_price, size="L").code
        ret = return_create(
            ReturnRequest(
                order=order.number,
                items=[
                    ItemRequest(
                        unit=u.pk,
                        reason=reason,
                        resolution=resolution,
                        exchange_sku=exchange_sku,
                        serial=MISMATCHED_SERIAL if state in HELD else "",
                    )
                    for u in chosen
                ],
                refund_method=refund_method,
                payout=payout,
            ),
            actor=ACTOR,
        )
        if (ret.state == ReturnState.PENDING_REVIEW) != (state in HELD):
            raise ValueError(
                f"{ret.rma} came out {ret.state} (risk {ret.risk_score} against threshold "
                f"{ret.policy.risk_threshold}); the current policy does not fit a {state} return"
            )
        for step in PATHS[state]:
            walk(ret, step)
        ret = Return.objects.select_related("order", "policy").get(pk=ret.pk)
        if ret.state != state:
            raise ValueError(f"{ret.rma} ended {ret.state}, not {state}")
        return ret


def _doorstep_refusal(state: str, units: int, order) -> Return:
    if state not in DOORSTEP_PATHS:
        raise ValueError(f"a doorstep refusal starts in transit; no path to {state!r}")
    if order is not None:
        raise ValueError("a doorstep refusal comes with its own order (refused at delivery)")
    order = DeliveredOrderFactory(quantity=units + 1, refused=units)
    ret = Return.objects.get(order=order, type=ReturnType.DOORSTEP_REFUSAL)
    for step in DOORSTEP_PATHS[state]:
        walk(ret, step)
    ret = Return.objects.select_related("order", "policy").get(pk=ret.pk)
    if ret.state != state:
        raise ValueError(f"{ret.rma} ended {ret.state}, not {state}")
    return ret


def walk(ret: Return, step: str) -> None:
    """Apply one step to a return through the services."""
    from flows.refunds import refund_issue
    from flows.return_events import return_handle_event
    from flows.return_review import return_reject
    from refunds.models import Refund
    from refunds.states import RefundState
    from returns.services import QcResult, ReturnEventData

    def send(type_: str, **data) -> None:
        return_handle_event(rma=ret.rma, data=ReturnEventData(type=type_, **data), actor=ACTOR)

    physical = list(
        ret.items.exclude(resolution__in=NO_PICKUP).order_by("pk").values_list("unit_id", flat=True)
    )
    if step == "pickup_completed":
        send("pickup_completed")
    elif step == "received":
        send("received", location=WAREHOUSE)
    elif step in ("qc_passed", "qc_failed"):
        passed = step == "qc_passed"
        send("qc_result", results=[QcResult(unit=u, passed=passed, grade="A") for u in physical])
    elif step == "settle":
        if ret.items.filter(
            resolution__in=[Resolution.EXCHANGE, Resolution.REPLACEMENT],
            replacement_unit__isnull=True,
        ).exists():
            send("exchange_dispatched")
        for pk in Refund.objects.filter(
            return_request=ret, state__in=[RefundState.PENDING, RefundState.FAILED]
        ).values_list("pk", flat=True):
            refund_issue(refund_id=pk, actor=ACTOR)
    elif step == "reject":
        return_reject(rma=ret.rma, actor=ACTOR, note="factory: rejected in review")
    elif step == "cancelled":
        send("cancelled", reason="factory: cancelled")
    else:
        raise ValueError(f"unknown step {step!r}")
