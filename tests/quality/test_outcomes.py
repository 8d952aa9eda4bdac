"""Each outcome end to end: refund, partial credit, replacement, repair, and
a rejection left to a person."""

from decimal import Decimal

import pytest

from inventory.models import StockMovement
from orders.models import Shipment, Unit
from quality.models import Inspection, RepairOrder
from refunds.models import Refund
from returns.models import Return, ReturnPolicy
from tests.returns.helpers import event, stock

from .conftest import image_file
from .helpers import defect_return, detail, first_unit, pickup_and_receive, unit_body

pytestmark = pytest.mark.django_db


def _inspect(api, rma, unit, **fields):
    body = {"unit": unit, "passed": "true", "grade": "C", **fields}
    return api.post(f"/api/v1/returns/{rma}/inspections/", body, format="multipart")


def test_refund_end_to_end(
    storefront_api, warehouse_api, gadget, shipped, pattern, django_capture_on_commit_callbacks
):
    # given a pattern that refunds this SKU's hardware failures
    pattern("refund", defect_type="hardware_failure")
    order = shipped()
    unit = first_unit(order)
    with django_capture_on_commit_callbacks(execute=True):
        rma = defect_return(storefront_api, order, resolution="replacement").json()["rma"]
        # when the unit comes back and QC quarantines it
        pickup_and_receive(warehouse_api, rma)
        r = _inspect(warehouse_api, rma, unit, checklist='{"powers_on": false}')
        assert r.status_code == 201, r.json()
    # then the full net paid is refunded, the unit is quarantined, the return completes
    ret = Return.objects.get(rma=rma)
    refund = Refund.objects.get(return_request=ret)
    assert refund.amount == Decimal("1000.00")
    assert refund.state == "issued"
    assert ret.state == "completed"
    assert stock(gadget)["quarantine"] == 1
    assert stock(gadget)["sellable"] == 19  # the pattern released no reservation it never made
    assert Inspection.objects.get(return_item__unit_id=unit).checklist == {"powers_on": False}


def test_partial_credit_end_to_end(
    storefront_api, gadget, shipped, pattern, django_capture_on_commit_callbacks
):
    # given a pattern for cosmetic damage: partial credit, the customer keeps the item
    pattern("partial_credit", defect_type="cosmetic_damage")
    order = shipped()
    unit = first_unit(order)
    with django_capture_on_commit_callbacks(execute=True):
        r = defect_return(storefront_api, order, defect_type="cosmetic_damage")
    # then 30% of the net paid is credited through the refund machinery, no pickup
    assert r.status_code == 201, r.json()
    ret = Return.objects.get(rma=r.json()["rma"])
    refund = Refund.objects.get(return_request=ret)
    assert refund.kind == "partial_credit"
    assert refund.amount == Decimal("300.00")
    assert refund.state == "issued"
    assert Unit.objects.get(pk=unit).state == "kept"
    assert ret.state == "completed"
    assert "pickup" not in {leg["leg"] for leg in detail(storefront_api, ret.rma)["sla"]}


def test_partial_credit_uses_the_policy_percentage(
    storefront_api, gadget, shipped, django_capture_on_commit_callbacks
):
    # given a policy at 45% and a customer asking for partial credit directly
    p = ReturnPolicy.objects.order_by("-version").first()
    ReturnPolicy.objects.create(version=p.version + 1, partial_credit_percent=45)
    order = shipped()
    with django_capture_on_commit_callbacks(execute=True):
        r = defect_return(storefront_api, order, resolution="partial_credit")
    assert r.status_code == 201, r.json()
    assert r.json()["refund"]["estimated"] == "450.00"
    assert Refund.objects.get(return_request__rma=r.json()["rma"]).amount == Decimal("450.00")


def test_replacement_end_to_end(
    storefront_api, warehouse_api, gadget, shipped, pattern, django_capture_on_commit_callbacks
):
    # given a pattern that replaces a batch
    pattern("replacement", batch="B2405")
    order = shipped(serials=("B2405-0007",))
    unit = first_unit(order)
    with django_capture_on_commit_callbacks(execute=True):
        rma = defect_return(storefront_api, order, resolution="refund").json()["rma"]
        # then the same SKU is reserved at once (exchange-first)
        assert unit_body(storefront_api, rma, unit)["resolution"] == "replacement"
        assert stock(gadget)["reserved"] == 1
        # when the replacement ships and the defective unit comes back
        assert event(warehouse_api, rma, {"type": "exchange_dispatched"}).status_code == 200
        pickup_and_receive(warehouse_api, rma)
        assert _inspect(warehouse_api, rma, unit).status_code == 201
    # then a replacement shipment exists, the unit is quarantined, no money moved
    ret = Return.objects.get(rma=rma)
    assert Shipment.objects.filter(order=order, kind="replacement").count() == 1
    assert Unit.objects.get(pk=unit).state == "replaced"
    assert ret.state == "completed"
    assert not Refund.objects.filter(return_request=ret).exists()
    assert stock(gadget)["quarantine"] == 1


def test_replacement_without_stock_goes_to_review(storefront_api, make_sku, shipped, pattern):
    make_sku("GAD-2", Decimal("1000.00"), stock=1, category="electronics", warranty_months=12)
    pattern("replacement", sku="GAD-2")
    order = shipped("GAD-2")  # takes the last unit
    r = defect_return(storefront_api, order)
    a = unit_body(storefront_api, r.json()["rma"], first_unit(order))["assessment"]
    assert a["recommendation"] == "review"
    assert any("No stock for a replacement" in x for x in a["reasons"])


def test_repair_end_to_end(
    storefront_api, warehouse_api, gadget, shipped, pattern, django_capture_on_commit_callbacks
):
    # given a pattern that repairs a serial range
    pattern("repair", serial_from="B2405-0000", serial_to="B2405-0999")
    order = shipped(serials=("B2405-0500",))
    unit = first_unit(order)
    with django_capture_on_commit_callbacks(execute=True):
        rma = defect_return(storefront_api, order).json()["rma"]
        pickup_and_receive(warehouse_api, rma)
        # when QC accepts it for repair, with a photo
        r = _inspect(warehouse_api, rma, unit, photos=[image_file()])
        assert r.status_code == 201, r.json()
        # then a repair order is open and the unit is on the bench
        body = unit_body(storefront_api, rma, unit)
        assert body["state"] == "in_repair"
        assert body["qc"]["disposition"] == "repair"
        repair = RepairOrder.objects.get(return_item__unit_id=unit)
        assert body["repair"] == {"id": repair.pk, "state": "open", "shipment": None}
        url = f"/api/v1/repairs/{repair.pk}/events/"
        assert warehouse_api.post(url, {"type": "started"}, format="json").status_code == 200
        r = warehouse_api.post(url, {"type": "completed", "notes": "board swapped"}, format="json")
        assert r.status_code == 200, r.json()
    # then the repaired unit ships back with its serial, and the return completes
    repair.refresh_from_db()
    assert repair.state == "returned_to_customer"
    back = Unit.objects.get(line__replacement_for_id=unit)
    assert back.shipment_id == repair.shipment_id
    assert back.serial == "B2405-0500"
    assert Unit.objects.get(pk=unit).state == "repaired"
    assert Return.objects.get(rma=rma).state == "completed"
    assert not Refund.objects.filter(return_request__rma=rma).exists()
    # the unit never counted as our stock: it entered reserved and left with the shipment
    assert stock(gadget).get("sellable") == 19
    assert "quarantine" not in stock(gadget)
    assert StockMovement.objects.filter(reason="repair_returned").count() == 1
    # and a second completion is refused
    r = warehouse_api.post(url, {"type": "completed"}, format="json")
    assert r.status_code == 409


def test_a_repair_unit_cannot_be_restocked(storefront_api, warehouse_api, gadget, shipped):
    order = shipped()
    unit = first_unit(order)
    rma = defect_return(storefront_api, order, resolution="repair").json()["rma"]
    pickup_and_receive(warehouse_api, rma)
    r = _inspect(warehouse_api, rma, unit, disposition="restock")
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == "results[0].disposition"


def test_rejection_is_left_to_a_person(supervisor_api, gadget, shipped, pattern):
    # given a pattern whose outcome is reject
    pattern("reject", defect_type="cosmetic_damage", note="Wear and tear is not covered")
    order = shipped()
    unit = first_unit(order)
    r = defect_return(supervisor_api, order, defect_type="cosmetic_damage")
    body = unit_body(supervisor_api, r.json()["rma"], unit)
    # then it is recommended, not applied: QC or a supervisor decides
    assert body["assessment"]["recommendation"] == "reject"
    assert body["assessment"]["decided_automatically"] is False
    assert body["state"] == "return_requested"


def test_repair_and_partial_credit_need_a_defect_reason(storefront_api, gadget, shipped):
    order = shipped()
    r = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [
                {"unit": first_unit(order), "reason": "changed_mind", "resolution": "repair"}
            ],
        },
        format="json",
    )
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == "items[0].resolution"
