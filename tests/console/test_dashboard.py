"""Dashboard analytics: cycle time per leg, first-contact resolution,
inventory accuracy, refunds by tender and day with its CSV."""

from datetime import timedelta

import pytest

from console.analytics import cycle_times, first_contact_resolution, inventory_accuracy
from flows.refunds import refund_issue
from flows.return_events import return_handle_event
from flows.return_intake import return_create
from orders.models import ContactLog
from refunds.models import Refund
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from sla.models import Leg

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunded(order, actor):
    units = list(order.units.order_by("pk"))[:2]
    ret = return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[
                ItemRequest(unit=u.pk, reason="changed_mind", resolution="refund") for u in units
            ],
        ),
        actor=actor,
    )
    for data in (
        ReturnEventData(type="pickup_completed"),
        ReturnEventData(type="received", location="wh-main"),
        ReturnEventData(
            type="qc_result", results=[QcResult(unit=u.pk, passed=True) for u in units]
        ),
    ):
        return_handle_event(rma=ret.rma, data=data, actor=actor)
    refund = Refund.objects.get(return_request=ret)
    refund_issue(refund_id=refund.pk, actor=actor)
    return ret


def test_cycle_time_median_and_p90_per_leg(refunded):
    legs = Leg.objects.filter(return_request=refunded, leg="pickup", state="completed")
    leg = legs.get()
    Leg.objects.filter(pk=leg.pk).update(completed_at=leg.started_at + timedelta(hours=10))
    rows = {r["leg"]: r for r in cycle_times()}
    assert rows["Reverse pickup"]["n"] == 1
    assert rows["Reverse pickup"]["median"] == 10.0
    assert rows["Reverse pickup"]["p90"] == 10.0
    assert rows["Quality check"]["n"] == 1


def test_first_contact_resolution(order, make_sku, make_order, deliver_order):
    from tests.ui.builders import OTHER, three_item_order

    other = three_item_order(make_sku, make_order, deliver_order, customer=OTHER)
    ContactLog.objects.create(order=order, channel="phone", summary="where is it", resolved=True)
    ContactLog.objects.create(order=other, channel="phone", summary="size?", resolved=True)
    ContactLog.objects.create(order=other, channel="email", summary="again", resolved=True)
    fcr = first_contact_resolution()
    assert fcr == {"orders": 2, "resolved_first": 1, "share": 50}


def test_inventory_accuracy_is_100_when_everything_agrees_and_drops_otherwise(refunded):
    from inventory.models import StockBalance

    assert inventory_accuracy()["share"] == 100.0
    b = StockBalance.objects.filter(quantity__gt=0).first()
    StockBalance.objects.filter(pk=b.pk).update(quantity=b.quantity + 1)
    acc = inventory_accuracy()
    assert acc["share"] < 100.0
    assert acc["ledger_mismatches"] == 1


def test_dashboard_and_csv_show_refunds_by_tender_and_day(login, refunded):
    c = login("finance")
    r = c.get("/console/dashboard/")
    body = r.content.decode()
    refund = Refund.objects.get(return_request=refunded)
    assert "Cycle time per SLA leg" in body
    assert "First-contact resolution" in body
    assert "Inventory accuracy" in body
    table = r.context["by_tender"]
    assert table["tenders"] == ["card → store credit"]
    assert table["rows"][0]["total"] == refund.amount
    csv = c.get("/console/dashboard/refunds.csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().strip().splitlines()
    assert lines[0] == "day,tender,amount"
    assert lines[1].endswith(f",{refund.amount:.2f}")
    # the warehouse sees the dashboard without money by tender, and cannot export it
    a = login("warehouse", username="wh-d")
    assert a.get("/console/dashboard/").context["by_tender"] is None
    assert a.get("/console/dashboard/refunds.csv").status_code == 403
