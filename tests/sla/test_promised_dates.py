"""The dates promised to the customer come from the same SLA rules and
business calendar as the breach times (one clock)."""

from datetime import time, timedelta
from decimal import Decimal

import pytest

from orders.models import OutboundMessage
from returns.models import Return
from sla.models import BusinessCalendar, Leg, SlaRule
from sla.selectors import promised_dates, return_progress

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(clock, make_sku, make_order, deliver_order):
    make_sku("PD-TEE", Decimal("999.00"), product="pdtee", stock=20)
    o = make_order([("PD-TEE", 2, Decimal("999.00"))])
    deliver_order(o, delivered_at=clock.now - timedelta(days=1))
    return o


@pytest.fixture
def weekdays(db):
    return BusinessCalendar.objects.create(
        name="Mon-Fri", day_start=time(10), day_end=time(19), workdays=[0, 1, 2, 3, 4]
    )


def _create(api, order):
    unit = order.units.order_by("pk").values_list("pk", flat=True).first()
    body = {
        "order": order.number,
        "items": [{"unit": unit, "reason": "size_too_small", "resolution": "refund"}],
    }
    r = api.post("/api/v1/returns/", body, format="json")
    assert r.status_code == 201, r.json()
    return Return.objects.get(rma=r.json()["rma"])


def test_creation_message_promises_the_pickup_legs_due_date(
    clock, policy, order, weekdays, storefront_api
):
    # given a 9 business-hour pickup rule (the policy's wall-clock 48h would say Sunday)
    p = policy()
    SlaRule.objects.create(policy=p, leg="pickup", hours=Decimal("9"), calendar=weekdays)
    clock.set(clock.now.replace(day=27, hour=15))  # Friday 15:00 IST
    # when a return is created
    ret = _create(storefront_api, order)
    # then the message promises the day the pickup leg is due: Monday
    leg = Leg.objects.get(return_request=ret, leg="pickup")
    assert leg.due_at == clock.now.replace(day=30, hour=15)
    body = OutboundMessage.objects.get(template="return_created").body
    assert "collect the item(s) by Mon 30 Nov 2026" in body


def test_promised_dates_chain_each_leg_on_its_rule_and_calendar(clock, policy, weekdays):
    # given business-hour rules for pickup and QC, wall-clock hours for the refund
    p = policy()
    SlaRule.objects.create(policy=p, leg="pickup", hours=Decimal("9"), calendar=weekdays)
    SlaRule.objects.create(policy=p, leg="qc", hours=Decimal("9"), calendar=weekdays)
    start = clock.now.replace(day=27, hour=15)  # Friday 15:00 IST
    # when the dates are projected before a return exists
    dates = promised_dates(policy=p, return_type="partial_return", channel="web", start=start)
    # then pickup is Monday 15:00, 24h transit, QC 9 business hours later,
    # and the refund 12 wall-clock hours after QC (the policy's sla_hours)
    assert dates.pickup_by == start.replace(day=30, hour=15)
    assert dates.received_by == start.replace(month=12, day=1, hour=15)
    assert dates.qc_by == start.replace(month=12, day=2, hour=15)
    assert dates.refund_by == dates.qc_by + timedelta(hours=12)
    assert dates["refund_by"] == dates.refund_by


def test_progress_refund_due_follows_the_real_qc_leg(
    clock, policy, order, storefront_api, warehouse_api
):
    # given a return picked up and received a day later than projected
    policy()
    ret = _create(storefront_api, order)
    clock.set(clock.now + timedelta(days=4))
    for body in (
        {"type": "pickup_completed", "event_id": "pd-1"},
        {"type": "received", "event_id": "pd-2", "location": "wh-main"},
    ):
        r = warehouse_api.post(f"/api/v1/returns/{ret.rma}/events/", body, format="json")
        assert r.status_code == 200, r.json()
    # when the progress is read
    qc = Leg.objects.get(return_request=ret, leg="qc")
    steps = {s["key"]: s for s in return_progress(ret, [])}
    # then the refund is promised 12h after the real QC leg's due time
    assert steps["qc"]["due"] == qc.due_at
    assert steps["refund"]["due"] == qc.due_at + timedelta(hours=12)
    assert steps["requested"]["status"] == "done"
