"""The orders.services package: transitions given as FSM methods, the shared
unshipped-units cancel, the order lock and the outbox retry service."""

from unittest import mock

import pytest

from inventory.models import StockBalance
from oms.errors import Conflict
from orders.models import OutboundMessage, TimelineEvent, Unit
from orders.services import (
    order_lock,
    outbound_messages_retry,
    units_cancel_unshipped,
    units_lock,
    units_transition,
)
from orders.states import UnitState

pytestmark = pytest.mark.django_db


def test_units_transition_takes_the_fsm_method_like_its_name(make_order, actor):
    # given two allocated units of one order
    order = make_order([("SKU-A", 2)])
    first, second = order.units.order_by("pk")
    # when one is cancelled by method and one by name
    units_transition([first], Unit.cancel, actor=actor)
    units_transition([second], "cancel", actor=actor)
    # then both are cancelled with the same timeline message
    states = list(order.units.order_by("pk").values_list("state", flat=True))
    assert states == [UnitState.CANCELLED, UnitState.CANCELLED]
    messages = list(
        TimelineEvent.objects.filter(order=order, entity="unit", to_state="cancelled")
        .order_by("pk")
        .values_list("message", flat=True)
    )
    assert messages == ["cancel", "cancel"]


def test_a_refused_fsm_method_names_its_action_in_the_409(make_order, actor):
    # given a cancelled unit
    order = make_order([("SKU-A", 1)])
    unit = order.units.get()
    units_transition([unit], Unit.cancel, actor=actor)
    # when it is delivered by method
    with pytest.raises(Conflict) as exc:
        units_transition([unit], Unit.refuse, actor=actor)
    # then the refusal names the method as the action
    assert exc.value.extra == {"unit": unit.pk, "state": "cancelled", "action": "refuse"}


def test_units_cancel_unshipped_releases_reservations_and_cancels(make_order, actor):
    # given an order of two allocated units
    order = make_order([("SKU-A", 2)])
    sku_id = order.units.first().sku_id
    reserved = StockBalance.objects.get(sku_id=sku_id, bucket="reserved").quantity
    # when they are cancelled together
    units = units_lock(order.units.all())
    units_cancel_unshipped(
        units, reference=order.number, stock_reason="order_cancel", actor=actor, message="gone"
    )
    # then the reservation is released and both units are cancelled
    assert StockBalance.objects.get(sku_id=sku_id, bucket="reserved").quantity == reserved - 2
    assert set(order.units.values_list("state", flat=True)) == {UnitState.CANCELLED}


def test_order_lock_returns_the_id(make_order):
    order = make_order([("SKU-A", 1)])
    assert order_lock(order.pk) == order.pk


def test_outbound_messages_retry_queues_only_failed_messages(make_order):
    from orders.messaging import message_enqueue

    # given one failed and one sent message
    order = make_order([("SKU-A", 1)])
    failed = message_enqueue(order=order, template="t", subject="s", body="b")
    sent = message_enqueue(order=order, template="t", subject="s", body="b")
    OutboundMessage.objects.filter(pk=failed.pk).update(state="failed", attempts=5)
    OutboundMessage.objects.filter(pk=sent.pk).update(state="sent", attempts=1)
    # when both are retried
    with mock.patch("orders.services.outbox.job_enqueue") as enqueue:
        count = outbound_messages_retry(ids=[failed.pk, sent.pk])
    # then only the failed one is pending again and queued
    assert count == 1
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.state, failed.attempts) == ("pending", 0)
    assert sent.state == "sent"
    assert [c.args[1] for c in enqueue.call_args_list] == [failed.pk]
