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
