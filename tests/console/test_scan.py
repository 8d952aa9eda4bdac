"""Scan to receive: RMA or AWB + Enter → received at the user's location → QC."""

import pytest

from flows.return_intake import return_create
from inventory.models import Location
from returns.services import ItemRequest, ReturnRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def ret(order, actor):
    unit = order.units.select_related("sku").get(sku__code="CHN-32")
    return return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )


def test_scan_an_rma_receives_it_and_opens_qc(login, ret):
    c = login("warehouse")
    page = c.get("/console/scan/").content.decode()
    assert "autofocus" in page
    r = c.post("/console/scan/", {"code": f"  {ret.rma.lower()} "})
    assert r.status_code == 302
    assert r["Location"] == f"/console/qc/{ret.rma}/"
    unit = ret.items.get().unit
    unit.refresh_from_db()
    assert unit.state == "returned"
    assert unit.location.code == "wh-main"
    ev = ret.order.events.get(type="return.received")
    assert ev.actor_label == "warehouse-user"
    # scanning it again just opens QC
    r = c.post("/console/scan/", {"code": ret.rma})
    assert r["Location"] == f"/console/qc/{ret.rma}/"


def test_scan_receives_at_the_users_chosen_location(login, ret):
    Location.objects.create(code="store-blr", name="Bengaluru store")
    c = login("warehouse")
    c.post("/console/scan/", {"location": "store-blr"})
    assert "Bengaluru store" in c.get("/console/scan/").content.decode()
    c.post("/console/scan/", {"code": ret.rma})
    unit = ret.items.get().unit
    unit.refresh_from_db()
    assert unit.location.code == "store-blr"


def test_scan_by_awb_of_the_shipment_it_rides_back_on(login, make_sku, make_order, actor):
    from flows.delivery import shipment_deliver
    from orders.services import shipment_create

    make_sku("SCN-1", "500.00", stock=5)
    make_sku("SCN-2", "700.00", stock=5)
    order = make_order([("SCN-1", 1), ("SCN-2", 1)])
    units = list(order.units.order_by("pk"))
    shipment = shipment_create(
        order=order, unit_ids=[u.pk for u in units], actor=actor, tracking_number="AWB998877"
    )
    shipment_deliver(shipment_id=shipment.pk, actor=actor, refused_unit_ids=[units[1].pk])
    c = login("warehouse")
    r = c.post("/console/scan/", {"code": "AWB998877"})
    assert r.status_code == 302
    units[1].refresh_from_db()
    assert units[1].state == "returned"


def test_unknown_code_says_so_and_keeps_the_input_focused(login, ret):
    c = login("warehouse")
    r = c.post("/console/scan/", {"code": "RMA-NOPE"})
    assert r.status_code == 400
    body = r.content.decode()
    assert (
        "No return matches &#x27;RMA-NOPE&#x27;" in body or "No return matches 'RMA-NOPE'" in body
    )
    assert "autofocus" in body


def test_agents_cannot_receive(login, ret):
    assert login("agent").get("/console/scan/").status_code == 403


def test_qc_screen_keeps_entries_and_shows_the_error_at_the_field(login, ret):
    c = login("warehouse")
    c.post("/console/scan/", {"code": ret.rma})
    unit = ret.items.get().unit_id
    r = c.post(
        f"/console/qc/{ret.rma}/",
        {"unit": unit, "passed": "false", "disposition": "restock", "notes": "zip broken"},
    )
    assert r.status_code == 400
    body = r.content.decode()
    assert "A unit that failed QC goes back to the customer." in body
    assert "results[" not in body
    assert "zip broken" in body
    assert 'value="restock" selected' in body
    # no result chosen: said at the field, nothing recorded
    r = c.post(f"/console/qc/{ret.rma}/", {"unit": unit, "notes": "later"})
    assert r.status_code == 400
    assert "This field is required." in r.content.decode()
    assert not ret.items.filter(qc_passed__isnull=False).exists()
