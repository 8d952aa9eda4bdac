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


def test_the_locked_order_read_of_a_creation_counts_the_same_returns():
    from django.db import transaction

    from returns.services.plan import _load_order

    # given the same returns as above, and an order of another customer
    order = DeliveredOrderFactory(quantity=6)
    ReturnFactory(order=order)
    ReturnFactory(order=order, cancelled=True)
    old = ReturnFactory(order=order)
    Return.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    ReturnFactory(order=order)
    stranger = DeliveredOrderFactory()

    # when a return's creation reads the orders locked (one statement each)
    with transaction.atomic():
        locked = _load_order(order.number, lock=True)
        other = _load_order(stranger.number, lock=True)

    # then each carries its customer's count, as recent_returns gives it
    assert locked.recent_returns_count == recent_returns(order.customer_id) == 2
    assert other.recent_returns_count == recent_returns(stranger.customer_id) == 0
