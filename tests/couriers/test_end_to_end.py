"""End to end against the local Shiprocket: a return created in the portal
reaches its refund driven only by the courier's webhooks (and the
warehouse's inspection); forward shipments (failed QC back to the
customer, an exchange) are booked and closed by the courier's delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from couriers.models import CourierOrder
from orders.models import Shipment, Unit
from refunds.models import Refund
from returns.models import Return
from tests.returns.helpers import create, event, refund_item, unit_ids

from .conftest import CUSTOMER_ADDRESS, hook, tracking

pytestmark = pytest.mark.django_db


def _stamp(minutes_ago: int) -> str:
    return timezone.localtime(timezone.now() - timedelta(minutes=minutes_ago)).strftime(
        "%d %m %Y %H:%M:%S"
    )


def _track(client, capture, awb, status, minutes_ago):
    with capture(execute=True):
        r = hook(client, tracking(awb, status, _stamp(minutes_ago)))
    assert r.status_code == 200, r.content


def _portal(client, order, mailoutbox):
    client.post("/returns/", {"order_number": order.number, "contact": order.email})
    code = mailoutbox[-1].subject.rsplit(" ", 1)[-1]
    assert client.post("/returns/verify/", {"code": code}).status_code == 302
    return client


def test_a_portal_return_reaches_its_refund_driven_by_courier_webhooks(
    shiprocket, order, client, warehouse_api, django_capture_on_commit_callbacks, mailoutbox
):
    # given the customer returns the tee in the portal
    portal = _portal(client, order, mailoutbox)
    tee = unit_ids(order)[0]
    with django_capture_on_commit_callbacks(execute=True):
        r = portal.post(
            f"/returns/orders/{order.number}/return/",
            {
                f"unit_{tee}": "on",
                f"reason_{tee}": "size_too_large",
                f"resolution_{tee}": "refund",
                "refund_method": "original",
            },
        )
    assert r.status_code == 302, r.content.decode()[:500]
    ret = Return.objects.get(order=order)
    # then the pickup is booked and the customer sees the AWB
    assert ret.pickup_status == "booked"
    page = portal.get(r["Location"]).content.decode()
    assert ret.awb in page
    assert "Delhivery Surface" in page
    # when the courier reports the pickup and the delivery to our warehouse
    _track(client, django_capture_on_commit_callbacks, ret.awb, "OUT FOR PICKUP", 300)
    _track(client, django_capture_on_commit_callbacks, ret.awb, "PICKED UP", 240)
    _track(client, django_capture_on_commit_callbacks, ret.awb, "IN TRANSIT", 120)
    _track(client, django_capture_on_commit_callbacks, ret.awb, "DELIVERED", 30)
    ret.refresh_from_db()
    assert ret.state == "received"
    assert Unit.objects.get(pk=tee).state == "returned"
    # and the warehouse passes QC
    with django_capture_on_commit_callbacks(execute=True):
        r = event(
            warehouse_api,
            ret.rma,
            {"type": "qc_result", "results": [{"unit": tee, "passed": True}]},
        )
    assert r.status_code == 200, r.json()
    # then the refund is issued and the return completed
    refund = Refund.objects.get(return_request=ret)
    assert refund.state == "issued"
    assert refund.amount == Unit.objects.get(pk=tee).net_paid
    ret.refresh_from_db()
    assert ret.state == "completed"
    assert Unit.objects.get(pk=tee).state == "refunded"
    # the only events on the return came from the courier, the system and the QC
    kinds = set(
        order.events.filter(
            entity="return", type__in=["return.pickup_completed", "return.received"]
        ).values_list("actor_kind", flat=True)
    )
    assert kinds == {"courier"}


def _booked_return(api, order, capture, body) -> Return:
    with capture(execute=True):
        r = create(api, body)
    assert r.status_code == 201, r.json()
    ret = Return.objects.get(rma=r.json()["rma"])
    assert ret.pickup_status == "booked"
    return ret


def test_a_unit_failing_qc_goes_back_by_courier_and_its_delivery_closes_it(
    shiprocket, order, storefront_api, warehouse_api, client, django_capture_on_commit_callbacks
):
    # given a booked return, picked up and received through tracking
    tee = unit_ids(order)[0]
    ret = _booked_return(
        storefront_api, order, django_capture_on_commit_callbacks, refund_item(order.number, tee)
    )
    _track(client, django_capture_on_commit_callbacks, ret.awb, "PICKED UP", 120)
    _track(client, django_capture_on_commit_callbacks, ret.awb, "DELIVERED", 60)
    # when the unit fails QC
    with django_capture_on_commit_callbacks(execute=True):
        r = event(
            warehouse_api,
            ret.rma,
            {"type": "qc_result", "results": [{"unit": tee, "passed": False}]},
        )
    assert r.status_code == 200, r.json()
    # then a forward courier order ships it back, from the warehouse to the customer
    shipment = Shipment.objects.get(kind="return_to_customer")
    forward = CourierOrder.objects.get(shipment=shipment)
    assert forward.reference == f"{ret.rma}-S{shipment.pk}"
    assert forward.state == "booked"
    assert forward.awb
    sent = shiprocket.calls_to("/v1/external/orders/create/adhoc")[0].body
    assert sent["order_id"] == forward.reference
    assert sent["pickup_location"] == "Okhla WH"
    assert sent["billing_pincode"] == CUSTOMER_ADDRESS["pincode"]
    assert sent["shipping_is_billing"] is True
    assert [i["sku"] for i in sent["order_items"]] == ["TEE-M"]
    shipment.refresh_from_db()
    assert shipment.tracking_number == forward.awb
    assert Unit.objects.get(pk=tee).state == "return_rejected"
    # when the courier delivers it
    _track(client, django_capture_on_commit_callbacks, forward.awb, "IN TRANSIT", 20)
    _track(client, django_capture_on_commit_callbacks, forward.awb, "DELIVERED", 5)
    # then the unit is closed
    shipment.refresh_from_db()
    assert shipment.state == "delivered"
    assert Unit.objects.get(pk=tee).state == "returned_to_customer"
    forward.refresh_from_db()
    assert forward.state == "delivered"


def test_an_exchange_replacement_is_a_forward_courier_order_completed_by_delivery(
    shiprocket, order, storefront_api, warehouse_api, client, django_capture_on_commit_callbacks
):
    # given an exchange (exchange-first: it may ship before the return arrives)
    tee = unit_ids(order)[0]
    body = {
        "order": order.number,
        "items": [
            {
                "unit": tee,
                "reason": "size_too_small",
                "resolution": "exchange",
                "exchange_sku": "TEE-L",
            }
        ],
    }
    ret = _booked_return(storefront_api, order, django_capture_on_commit_callbacks, body)
    # when the warehouse dispatches the replacement
    with django_capture_on_commit_callbacks(execute=True):
        r = event(warehouse_api, ret.rma, {"type": "exchange_dispatched"})
    assert r.status_code == 200, r.json()
    # then it is booked with the courier
    shipment = Shipment.objects.get(kind="replacement")
    forward = CourierOrder.objects.get(shipment=shipment)
    assert forward.state == "booked"
    shipment.refresh_from_db()
    assert shipment.tracking_number == forward.awb
    assert [
        i["sku"]
        for i in shiprocket.calls_to("/v1/external/orders/create/adhoc")[0].body["order_items"]
    ] == ["TEE-L"]
    # when the courier delivers the replacement
    _track(client, django_capture_on_commit_callbacks, forward.awb, "DELIVERED", 5)
    # then the replacement unit is delivered
    replacement = Unit.objects.get(shipment=shipment)
    assert replacement.state == "delivered"
    shipment.refresh_from_db()
    assert shipment.state == "delivered"
