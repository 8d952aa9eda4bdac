"""Order services: intake, unit transitions, shipping and delivery."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from inventory.models import StockBalance, StockMovement
from oms.errors import ApplicationError, Conflict
from orders.models import Order, Payment, TimelineEvent, Unit
from orders.services import (
    LineData,
    OrderData,
    PaymentData,
    order_create,
    shipment_create,
    units_transition,
)
from orders.states import PaymentState, UnitState

pytestmark = pytest.mark.django_db


def data(**overrides):
    base = {
        "channel": "web",
        "external_id": "S-1",
        "currency": "INR",
        "placed_at": timezone.now() - timedelta(hours=2),
        "lines": [LineData(sku="BAG-1", quantity=2, unit_price=Decimal("750.00"))],
        "payments": [PaymentData(method="card", amount=Decimal("1500.00"))],
        "customer": {"email": "Ravi@Example.com", "phone": "+919800000001"},
    }
    base.update(overrides)
    return OrderData(**base)


@pytest.fixture
def bag(make_sku, channel):
    return make_sku("BAG-1", Decimal("750.00"), stock=2)


def test_intake_writes_order_units_payments_stock_and_timeline_together(bag, actor):
    # when
    order, created = order_create(data=data(), actor=actor)
    # then
    assert created
    assert order.number.startswith("OD-")
    assert order.email == "ravi@example.com"
    units = list(order.units.all())
    assert [(u.index, u.state, u.net_paid) for u in units] == [
        (1, UnitState.ALLOCATED, Decimal("750.00")),
        (2, UnitState.ALLOCATED, Decimal("750.00")),
    ]
    assert {u.location.code for u in units} == {"wh-main"}
    payment = order.payments.get()
    assert (payment.state, payment.captured_amount) == (PaymentState.CAPTURED, Decimal("1500.00"))
    balances = dict(StockBalance.objects.filter(sku=bag).values_list("bucket", "quantity"))
    assert balances == {"sellable": 0, "reserved": 2}
    reserve_rows = StockMovement.objects.filter(reason="order_reserve", reference=order.number)
    assert sorted(reserve_rows.values_list("bucket", "delta")) == [
        ("reserved", 2),
        ("sellable", -2),
    ]
    events = list(TimelineEvent.objects.filter(order=order).values_list("type", "to_state"))
    assert events[0] == ("order.created", "placed")
    assert events.count(("unit.transition", "allocated")) == 2


def test_intake_is_idempotent_by_channel_and_external_id(bag, actor):
    first, created = order_create(data=data(), actor=actor)
    again, created_again = order_create(data=data(), actor=actor)
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert StockMovement.objects.filter(reason="order_reserve").count() == 2


def test_the_same_external_id_on_another_channel_is_another_order(bag, actor):
    from tests.factories import ChannelFactory

    ChannelFactory(code="app")
    bag_order, _ = order_create(data=data(), actor=actor)
    app_order, created = order_create(data=data(channel="app"), actor=actor)
    assert created
    assert app_order.pk != bag_order.pk


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "ABC"}, "currency"),
        ({"lines": []}, "lines"),
        (
            {"lines": [LineData(sku="BAG-1", quantity=0, unit_price=Decimal("1"))]},
            "lines[0].quantity",
        ),
        ({"lines": [LineData(sku="NOPE", quantity=1, unit_price=Decimal("1"))]}, "lines[0].sku"),
        ({"payments": [PaymentData(method="card", amount=Decimal("1499.99"))]}, "payments"),
        ({"ship_from": "nowhere"}, "ship_from"),
        ({"channel": "nowhere"}, "channel"),
        ({"shipping": Decimal("10.00")}, "payments"),
    ],
)
def test_intake_refuses_with_the_field_named_and_writes_nothing(bag, actor, overrides, field):
    before = (Order.objects.count(), Unit.objects.count(), StockMovement.objects.count())
    with pytest.raises(ApplicationError) as exc:
        order_create(data=data(**overrides), actor=actor)
    assert exc.value.extra["field"] == field
    assert exc.value.message.startswith(field)
    assert (Order.objects.count(), Unit.objects.count(), StockMovement.objects.count()) == before


def test_ship_from_reserves_at_that_location(make_sku, channel, actor):
    from tests.factories import LocationFactory

    store = LocationFactory(code="store-1", store=True)
    make_sku("BAG-1", Decimal("750.00"), stock=2, location=store)
    order, _ = order_create(data=data(ship_from="store-1"), actor=actor)
    assert {u.location_id for u in order.units.all()} == {store.pk}


def test_disallowed_transition_is_a_conflict_and_writes_nothing(make_order, actor):
    # given an allocated unit
    order = make_order()
    unit = order.units.get()
    events = TimelineEvent.objects.count()
    # when it is "delivered" without being shipped
    with pytest.raises(Conflict) as exc, transaction.atomic():
        units_transition([unit], "deliver", args=(timezone.now(),), actor=actor)
    # then
    assert exc.value.extra == {"unit": unit.pk, "state": "allocated", "action": "deliver"}
    assert Unit.objects.get(pk=unit.pk).state == UnitState.ALLOCATED
    assert TimelineEvent.objects.count() == events


def test_a_stale_unit_loses_to_the_change_that_came_first(make_order, actor):
    # given two copies of the same allocated unit
    order = make_order()
    mine, theirs = order.units.get(), order.units.get()
    # when one copy is cancelled and then the stale one is shipped
    units_transition([theirs], "cancel", actor=actor)
    with pytest.raises(Conflict) as exc, transaction.atomic():
        units_transition([mine], "cancel", actor=actor)
    # then the second change is refused rather than overwriting the first
    assert exc.value.code == "concurrent_change"
    assert Unit.objects.get(pk=mine.pk).state == UnitState.CANCELLED
    assert TimelineEvent.objects.filter(order=order, to_state="cancelled").count() == 1


def test_one_stale_unit_among_several_refuses_them_all(make_order, actor):
    # given three allocated units, one of them cancelled by another change
    order = make_order([("TEE-1", 3)])
    units = list(order.units.order_by("pk"))
    units_transition([Unit.objects.get(pk=units[1].pk)], "cancel", actor=actor)
    # when the three (one copy stale) are cancelled together
    with pytest.raises(Conflict) as exc, transaction.atomic():
        units_transition(units, "cancel", actor=actor)
    # then none of them moved, and the one cancelled first stays so
    assert exc.value.code == "concurrent_change"
    states = list(order.units.order_by("pk").values_list("state", flat=True))
    assert states == [UnitState.ALLOCATED, UnitState.CANCELLED, UnitState.ALLOCATED]
    # and the same three, read afresh, move in one change
    units_transition(
        [u for u in order.units.order_by("pk") if u.state == UnitState.ALLOCATED],
        "cancel",
        actor=actor,
    )
    assert set(order.units.values_list("state", flat=True)) == {UnitState.CANCELLED}


def test_every_transition_writes_a_timeline_row(make_order, deliver_order):
    order = make_order([("TEE-1", 2)])
    deliver_order(order, refused=[order.units.order_by("pk").last()])
    rows = TimelineEvent.objects.filter(order=order, type="unit.transition")
    path = sorted(rows.values_list("entity_id", "from_state", "to_state"))
    first, second = sorted(str(pk) for pk in order.units.values_list("pk", flat=True))
    assert path == sorted(
        [
            (first, "ordered", "allocated"),
            (first, "allocated", "shipped"),
            (first, "shipped", "delivered"),
            (second, "ordered", "allocated"),
            (second, "allocated", "shipped"),
            (second, "shipped", "refused"),
            (second, "refused", "return_in_transit"),
        ]
    )


def test_shipping_nothing_is_refused(make_order, actor):
    order = make_order()
    with pytest.raises(ApplicationError, match="units"):
        shipment_create(order=order, unit_ids=[], actor=actor)
    unit = order.units.get()
    with pytest.raises(ApplicationError, match="twice"):
        shipment_create(order=order, unit_ids=[unit.pk, unit.pk], actor=actor)


def test_delivered_at_in_the_future_is_refused(make_order, deliver_order):
    order = make_order()
    with pytest.raises(ApplicationError, match="delivered_at"), transaction.atomic():
        deliver_order(order, delivered_at=timezone.now() + timedelta(hours=1))
    assert order.units.get().state == UnitState.ALLOCATED


def test_cod_over_two_shipments_collects_shipping_once(make_order, make_sku, actor):
    from flows.delivery import shipment_deliver

    # given a COD order of 600 + 400 with 40 shipping, shipped in two parcels
    make_sku("LAMP-1", Decimal("600.00"), stock=1)
    make_sku("BULB-1", Decimal("400.00"), stock=1)
    order = make_order([("LAMP-1", 1), ("BULB-1", 1)], shipping=Decimal("40.00"), cod=True)
    lamp, bulb = order.units.get(sku__code="LAMP-1"), order.units.get(sku__code="BULB-1")
    first = shipment_create(order=order, unit_ids=[lamp.pk], actor=actor)
    second = shipment_create(order=order, unit_ids=[bulb.pk], actor=actor)
    # when both are delivered
    one = shipment_deliver(shipment_id=first.pk, actor=actor)
    two = shipment_deliver(shipment_id=second.pk, actor=actor)
    # then the first collects the lamp and shipping, the second the bulb
    assert (one.cod_collected, two.cod_collected) == (Decimal("640.00"), Decimal("400.00"))
    payment = Payment.objects.get(order=order)
    assert payment.captured_amount == payment.amount == Decimal("1040.00")
    assert payment.state == PaymentState.CAPTURED


def test_cod_with_a_gift_card_uses_the_gift_card_first(make_order, make_sku, deliver_order):
    # given 1000 + 500, paid 300 by gift card and 1200 cash on delivery
    make_sku("COAT-1", Decimal("1000.00"), stock=1)
    make_sku("HAT-1", Decimal("500.00"), stock=1)
    order = make_order(
        [("COAT-1", 1), ("HAT-1", 1)],
        payments=[
            {"method": "gift_card", "amount": Decimal("300.00")},
            {"method": "cod", "amount": Decimal("1200.00")},
        ],
    )
    # when the coat is refused and the hat accepted
    result = deliver_order(order, refused=[order.units.get(sku__code="COAT-1")])
    # then only what the gift card did not cover is collected
    assert result.cod_collected == Decimal("200.00")
    cod = order.payments.get(method="cod")
    assert cod.captured_amount == Decimal("200.00")


def test_cod_refused_entirely_is_voided_with_a_timeline_row(make_order, deliver_order):
    order = make_order([("TEE-1", 2)], cod=True)
    result = deliver_order(order, refused=list(order.units.all()))
    assert result.cod_collected == Decimal("0")
    payment = order.payments.get()
    assert payment.state == PaymentState.VOIDED
    assert TimelineEvent.objects.filter(order=order, entity="payment", to_state="voided").exists()
