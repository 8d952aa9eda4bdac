"""Issue 12, leak 6: a unit that fails QC is shipped back to the customer.
On the manual path (no courier configured) the shipment exists, its
delivery is posted like any other, and the delivery closes the unit."""

from decimal import Decimal

import pytest

from orders.models import OutboundMessage, Shipment, TimelineEvent, Unit
from tests.returns.helpers import create, refund_item, unit_ids, walk_to_qc

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(make_sku, make_order, deliver_order):
    make_sku("TEE-M", Decimal("999.00"), stock=10)
    o = make_order([("TEE-M", 2)])
    deliver_order(o)
    return o


def test_a_failed_unit_leaves_in_a_shipment_whose_delivery_closes_it(
    order, storefront_api, warehouse_api
):
    # given a return whose unit fails QC
    failed, kept = unit_ids(order)
    rma = create(storefront_api, refund_item(order.number, failed)).json()["rma"]
    body = walk_to_qc(warehouse_api, rma, [failed], passed=False)
    # then a shipment back to the customer exists with that unit in it
    unit = Unit.objects.get(pk=failed)
    assert unit.state == "return_rejected"
    shipment = Shipment.objects.get(kind="return_to_customer")
    assert shipment.state == "shipped"
    assert unit.shipment_id == shipment.pk
    assert shipment.location.code == "wh-main"
    assert any(e["type"] == "return.sent_back" for e in body["timeline"])
    assert OutboundMessage.objects.filter(
        template="qc_outcome", body__contains="will be sent back"
    ).exists()
    # and the other unit is untouched
    assert Unit.objects.get(pk=kept).state == "delivered"
    # when its delivery is posted
    r = warehouse_api.post(
        f"/api/v1/shipments/{shipment.pk}/delivered/", {"event_id": "back-1"}, format="json"
    )
    # then the unit is closed, delivered back, and a repeat changes nothing
    assert r.status_code == 200, r.json()
    assert r.json()["delivered_units"] == [failed]
    unit.refresh_from_db()
    assert unit.state == "returned_to_customer"
    assert unit.delivered_at is not None  # from the original delivery, not changed
    again = warehouse_api.post(
        f"/api/v1/shipments/{shipment.pk}/delivered/", {"event_id": "back-1"}, format="json"
    )
    assert again.status_code == 200
    assert (
        TimelineEvent.objects.filter(
            entity="unit", entity_id=str(failed), to_state="returned_to_customer"
        ).count()
        == 1
    )
    # a unit back with the customer after failing QC cannot be returned again
    assert create(storefront_api, refund_item(order.number, failed)).status_code in (400, 409)


def test_a_unit_sent_back_cannot_be_refused_or_charged(order, storefront_api, warehouse_api):
    failed = unit_ids(order)[0]
    rma = create(storefront_api, refund_item(order.number, failed)).json()["rma"]
    walk_to_qc(warehouse_api, rma, [failed], passed=False)
    shipment = Shipment.objects.get(kind="return_to_customer")
    r = warehouse_api.post(
        f"/api/v1/shipments/{shipment.pk}/delivered/", {"refused_units": [failed]}, format="json"
    )
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == "refused_units"
    assert Unit.objects.get(pk=failed).state == "return_rejected"
