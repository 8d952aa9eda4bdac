"""A repaired unit goes back to the customer as a forward courier order with
an AWB (issue 13), and the courier's delivery completes it."""

import json

import pytest

from couriers.models import CourierOrder
from inventory.models import Location
from orders.models import Order, Shipment, Unit
from quality.models import RepairOrder
from tests.couriers.conftest import (
    CUSTOMER_ADDRESS,
    WAREHOUSE_ADDRESS,
    WEBHOOK_TOKEN,
    tracking,
)

# the local Shiprocket fixture, re-exported for this module
from tests.couriers.conftest import shiprocket as shiprocket

from .conftest import image_file
from .helpers import defect_return, first_unit, pickup_and_receive

pytestmark = pytest.mark.django_db


def test_a_repaired_unit_ships_back_by_courier_and_its_delivery_completes_it(
    shiprocket,
    storefront_api,
    warehouse_api,
    client,
    gadget,
    shipped,
    pattern,
    django_capture_on_commit_callbacks,
):
    # given an order with addresses, and a defect the pattern sends to repair
    pattern("repair", serial_from="B2405-0000", serial_to="B2405-0999")
    order = shipped(serials=("B2405-0500",))
    Order.objects.filter(pk=order.pk).update(raw={"shipping_address": CUSTOMER_ADDRESS})
    Location.objects.filter(code="wh-main").update(address=WAREHOUSE_ADDRESS)
    unit = first_unit(order)
    with django_capture_on_commit_callbacks(execute=True):
        rma = defect_return(storefront_api, order).json()["rma"]
        pickup_and_receive(warehouse_api, rma)
        body = {"unit": unit, "passed": "true", "grade": "C", "photos": [image_file()]}
        r = warehouse_api.post(f"/api/v1/returns/{rma}/inspections/", body, format="multipart")
        assert r.status_code == 201, r.json()
        repair = RepairOrder.objects.get(return_item__unit_id=unit)
        url = f"/api/v1/repairs/{repair.pk}/events/"
        # when the repair is completed
        r = warehouse_api.post(url, {"type": "completed", "notes": "board swapped"}, format="json")
        assert r.status_code == 200, r.json()
    # then its shipment back is a forward courier order with an AWB
    repair.refresh_from_db()
    shipment = Shipment.objects.get(pk=repair.shipment_id)
    forward = CourierOrder.objects.get(shipment=shipment)
    assert forward.direction == "forward"
    assert forward.state == "booked"
    shipment.refresh_from_db()
    assert shipment.tracking_number == forward.awb
    sent = shiprocket.calls_to("/v1/external/orders/create/adhoc")[0].body
    assert sent["order_id"] == f"{rma}-S{shipment.pk}"
    assert [i["sku"] for i in sent["order_items"]] == ["GAD-1"]
    # when the courier delivers it
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/api/v1/webhooks/couriers/shiprocket/",
            data=json.dumps(tracking(forward.awb, "DELIVERED", "")),
            content_type="application/json",
            HTTP_X_API_KEY=WEBHOOK_TOKEN,
        )
    assert r.status_code == 200
    # then the repaired unit is delivered
    back = Unit.objects.get(line__replacement_for_id=unit)
    assert back.state == "delivered"
    shipment.refresh_from_db()
    assert shipment.state == "delivered"
