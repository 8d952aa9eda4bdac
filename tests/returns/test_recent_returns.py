"""The repeat-returner count the risk score reads (``returns.risk.recent_returns``):
the customer's returns of the last 90 days, but cancelled, rejected and
doorstep refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from returns.models import Return
from returns.risk import recent_returns
from tests.factories import DeliveredOrderFactory, ReturnFactory

pytestmark = pytest.mark.django_db


def test_only_the_customers_open_or_settled_returns_of_the_last_90_days_count():
    # given one customer's order with returns in every case
    order = DeliveredOrderFactory(quantity=6)
    counted = ReturnFactory(order=order)
    ReturnFactory(order=order, cancelled=True)
    ReturnFactory(order=order, rejected=True)
    old = ReturnFactory(order=order)
    recent = ReturnFactory(order=order)
    Return.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    Return.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=89))
    # and another customer's return, and a doorstep refusal of this customer
    ReturnFactory()
    refusal = ReturnFactory(in_transit=True, doorstep_refusal=True)
    Order.objects.filter(pk=refusal.order_id).update(customer_id=order.customer_id)

    # when the count is read
    count = recent_returns(order.customer_id)

    # then only the approved one of today and the one of 89 days ago count
    assert counted.state == "approved"
    assert refusal.type == "doorstep_refusal"
    assert count == 2


def test_a_creations_unit_read_counts_the_same_returns():
    from django.db import transaction

    from returns.services.plan import _load_order, _order_units

    # given the same returns as above, and an order of another customer
    order = DeliveredOrderFactory(quantity=6)
    ReturnFactory(order=order)
    ReturnFactory(order=order, cancelled=True)
    old = ReturnFactory(order=order)
    Return.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    ReturnFactory(order=order)
    stranger = DeliveredOrderFactory()

    # when a return's creation reads each order locked, then its units
    with transaction.atomic():
        locked = _load_order(order.number, lock=True)
        units = _order_units(locked, count_returns=True)
        other = _load_order(stranger.number, lock=True)
        _order_units(other, count_returns=True)

    # then each order carries its customer's count, as recent_returns gives it
    assert len(units) == 6
    assert locked.recent_returns_count == recent_returns(order.customer_id) == 2
    assert other.recent_returns_count == recent_returns(stranger.customer_id) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_creation_waiting_on_the_orders_lock_counts_the_return_made_meanwhile():
    import threading

    from django.db import transaction

    from returns.services.plan import _load_order, _order_units
    from tests.threads import in_threads

    # given a customer with one return, and a creation holding the order's
    # lock while it writes a second
    order = DeliveredOrderFactory(quantity=6)
    ReturnFactory(order=order)
    locked = threading.Event()

    def first():
        with transaction.atomic():
            _load_order(order.number, lock=True)
            ReturnFactory(order=order)
            locked.set()
            threading.Event().wait(1.0)

    def second():
        assert locked.wait(10)
        with transaction.atomic():
            mine = _load_order(order.number, lock=True)  # waits for the first
            _order_units(mine, count_returns=True)
            return mine.recent_returns_count

    # when the second creation reads the order and its units
    wrote, counted = in_threads(first, second)

    # then its count includes the return the first committed while it waited
    assert wrote is None
    assert counted == 2
