"""Reverse pickups booked with Shiprocket through the adapter's real HTTP
client, against the local server: what is sent, token expiry, a 5xx during
booking, an unserviceable pincode, and the manual path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from couriers.models import CourierOrder
from returns.models import Return
from sla.models import Leg
from tests.returns.helpers import create, refund_item, unit_ids
from tests.ui.builders import staff_user

from .conftest import CUSTOMER_ADDRESS, WAREHOUSE_ADDRESS

pytestmark = pytest.mark.django_db

BOOKING = [
    "POST /v1/external/auth/login",
    "GET /v1/external/courier/serviceability/",
    "GET /v1/external/orders",
    "POST /v1/external/orders/create/return",
    "POST /v1/external/courier/assign/awb",
    "POST /v1/external/courier/generate/pickup",
]


def _return(api, order, capture, unit=0) -> Return:
    with capture(execute=True):
        r = create(api, refund_item(order.number, unit_ids(order)[unit]))
    assert r.status_code == 201, r.json()
    return Return.objects.get(rma=r.json()["rma"])


def test_approval_books_the_pickup_and_records_awb_courier_and_date(
    shiprocket, order, storefront_api, django_capture_on_commit_callbacks, mailoutbox
):
    # when a return that needs a pickup is approved (low risk: at creation)
    ret = _return(storefront_api, order, django_capture_on_commit_callbacks)
    # then the documented calls were made, in order, with a bearer token
    assert shiprocket.paths() == BOOKING
    assert shiprocket.calls[0].body == {"email": shiprocket.email, "password": shiprocket.password}
    token = f"Bearer {next(iter(shiprocket.tokens))}"
    assert all(c.headers["authorization"] == token for c in shiprocket.calls[1:])
    service = shiprocket.calls[1].query
    assert service["pickup_postcode"] == CUSTOMER_ADDRESS["pincode"]
    assert service["delivery_postcode"] == WAREHOUSE_ADDRESS["pincode"]
    assert service["is_return"] == "1"
    assert shiprocket.calls[2].query == {"search": ret.rma}
    sent = shiprocket.calls[3].body
    unit = order.units.get(pk=unit_ids(order)[0])
    assert sent["order_id"] == ret.rma
    assert sent["pickup_pincode"] == "560001"
    assert sent["pickup_address"] == "12 MG Road"
    assert sent["pickup_phone"] == "9800000001"
    assert sent["shipping_pincode"] == "110020"
    assert sent["shipping_customer_name"] == "Main warehouse"
    assert sent["payment_method"] == "Prepaid"
    assert sent["order_items"] == [
        {"name": unit.sku.name, "sku": "TEE-M", "units": 1, "selling_price": str(unit.net_paid)}
    ]
    assert sent["sub_total"] == str(unit.net_paid)
    shipment_id = shiprocket.orders[ret.rma]["shipments"][0]["id"]
    assert shiprocket.calls[4].body == {"shipment_id": shipment_id}
    assert shiprocket.calls[5].body == {"shipment_id": [shipment_id]}
    # and the return records what the courier gave
    ret.refresh_from_db()
    assert ret.pickup_status == "booked"
    assert ret.awb == f"7700{shipment_id}"
    assert ret.courier_name == "Delhivery Surface"
    assert timezone.localtime(ret.pickup_scheduled_at).strftime("%Y-%m-%d %H:%M") == (
        "2026-12-03 10:00"
    )
    # shown in the API, the email, and the pickup clock runs from the booking
    body = storefront_api.get(f"/api/v1/returns/{ret.rma}/").json()
    assert body["pickup"]["awb"] == ret.awb
    assert body["pickup"]["status"] == "booked"
    assert body["pickup"]["courier"] == "shiprocket"
    assert any(ret.awb in m.body and "Delhivery Surface" in m.body for m in mailoutbox)
    leg = Leg.objects.get(return_request=ret, leg="pickup")
    assert leg.started_at >= ret.pickup_booked_at - timedelta(seconds=1)


def test_the_token_is_cached_and_renewed_once_when_it_expires(
    shiprocket, order, storefront_api, django_capture_on_commit_callbacks
):
    # given one booking done
    _return(storefront_api, order, django_capture_on_commit_callbacks, unit=0)
    logins = shiprocket.calls_to("/v1/external/auth/login")
    assert len(logins) == 1
    # when the token expires before the next booking
    shiprocket.expire_tokens()
    ret = _return(storefront_api, order, django_capture_on_commit_callbacks, unit=1)
    # then one call got 401, the adapter logged in once more and carried on
    assert len(shiprocket.calls_to("/v1/external/auth/login")) == 2
    assert ret.__class__.objects.get(pk=ret.pk).pickup_status == "booked"
    serviceability = shiprocket.calls_to("/v1/external/courier/serviceability/")
    assert (
        serviceability[-1].headers["authorization"] != serviceability[-2].headers["authorization"]
    )


def test_a_5xx_during_booking_leaves_pickup_not_booked_and_a_retry_resumes(
    shiprocket, order, storefront_api, agent_api, django_capture_on_commit_callbacks, client
):
    # given the AWB call fails on every attempt (bounded: 2 per call)
    shiprocket.fail("/v1/external/courier/assign/awb", 503, times=2)
    # when the return is approved
    ret = _return(storefront_api, order, django_capture_on_commit_callbacks)
    # then the return says so, nothing is lost, and no pickup clock runs
    ret.refresh_from_db()
    assert ret.pickup_status == "not_booked"
    assert "HTTP 503" in ret.pickup_error
    assert len(shiprocket.calls_to("/v1/external/courier/assign/awb")) == 2
    assert not Leg.objects.filter(return_request=ret, leg="pickup").exists()
    courier_order = CourierOrder.objects.get(reference=ret.rma)
    assert courier_order.state == "failed"
    assert courier_order.provider_shipment_id  # the order was created: kept for the retry
    assert any(e.type == "return.pickup_not_booked" for e in order.events.all())
    # and the agents' queue lists it
    client.force_login(staff_user("agent-1", "agent"))
    page = client.get("/console/queues/").content.decode()
    assert "Pickup not booked" in page
    assert ret.rma in page
    # when the job retries (the courier is back)
    from couriers.tasks import pickup_book_task

    assert pickup_book_task.apply(args=[ret.rma]).get() == "booked"
    # then it resumed from the AWB: the order was created once
    assert len(shiprocket.calls_to("/v1/external/orders/create/return")) == 1
    ret.refresh_from_db()
    assert ret.pickup_status == "booked"
    assert Leg.objects.filter(return_request=ret, leg="pickup").exists()
    # and a second run books nothing twice
    assert pickup_book_task.apply(args=[ret.rma]).get() == "booked"
    assert len(shiprocket.calls_to("/v1/external/courier/generate/pickup")) == 1


def test_a_lost_answer_is_found_by_our_rma_not_created_twice(
    shiprocket, order, storefront_api, django_capture_on_commit_callbacks
):
    # given the courier creates the order but its answer is lost
    shiprocket.lose_answer("/v1/external/orders/create/return")
    # when the booking runs (the client retries the create: 422 "taken")
    ret = _return(storefront_api, order, django_capture_on_commit_callbacks)
    # then our RMA found the order already made, and the booking completed
    ret.refresh_from_db()
    assert ret.pickup_status == "booked"
    assert len(shiprocket.orders) == 1
    assert [c.query for c in shiprocket.calls_to("/v1/external/orders")] == [
        {"search": ret.rma},
        {"search": ret.rma},
    ]


def test_an_unserviceable_pincode_offers_self_ship_with_a_printable_label(
    shiprocket, order, storefront_api, django_capture_on_commit_callbacks, mailoutbox
):
    # given no courier picks up at the customer's pincode
    shiprocket.unserviceable.add(CUSTOMER_ADDRESS["pincode"])
    # when the return is approved
    ret = _return(storefront_api, order, django_capture_on_commit_callbacks)
    # then no order was created; the customer is offered self-ship / store drop
    assert "POST /v1/external/orders/create/return" not in shiprocket.paths()
    ret.refresh_from_db()
    assert ret.pickup_status == "unserviceable"
    body = storefront_api.get(f"/api/v1/returns/{ret.rma}/").json()
    assert body["pickup"]["label_url"] == f"/returns/r/{ret.rma}/label.pdf"
    mail = next(m for m in mailoutbox if "How to send back" in m.subject)
    assert "post the parcel" in mail.body
    assert "drop it at one of our stores" in mail.body
    assert f"/returns/r/{ret.rma}/label.pdf" in mail.body
    # and the label is a PDF with the RMA, the address and the units
    from flows.courier_tracking import return_label_pdf

    pdf = return_label_pdf(ret)
    assert pdf.startswith(b"%PDF")
    assert ret.rma.encode() in pdf
    assert b"Okhla Phase 2" in pdf
    assert b"TEE-M" in pdf


def test_a_channel_set_to_manual_books_nothing(
    shiprocket, order, storefront_api, ops_api, django_capture_on_commit_callbacks
):
    # given the channel opts out
    r = ops_api.put(
        "/api/v1/channels/web/",
        {"name": "Web", "platform": "native", "courier": "manual"},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["courier"] == "manual"
    # when a return is approved
    ret = _return(storefront_api, order, django_capture_on_commit_callbacks)
    # then nothing was called and the manual path runs as before
    assert shiprocket.calls == []
    ret.refresh_from_db()
    assert ret.pickup_status == ""
    assert ret.awb == ""
    assert Leg.objects.filter(return_request=ret, leg="pickup").exists()


def test_without_configuration_every_channel_is_manual(
    order, storefront_api, ops_api, django_capture_on_commit_callbacks
):
    ret = _return(storefront_api, order, django_capture_on_commit_callbacks)
    assert ret.pickup_status == ""
    assert not CourierOrder.objects.exists()
    assert Leg.objects.filter(return_request=ret, leg="pickup").exists()
    # and asking for Shiprocket without its settings is refused, naming them
    r = ops_api.put(
        "/api/v1/channels/web/",
        {"name": "Web", "platform": "native", "courier": "shiprocket"},
        format="json",
    )
    assert r.status_code == 400
    assert "SHIPROCKET_EMAIL" in str(r.json())


def test_the_pickup_legs_reschedule_books_a_new_pickup_with_the_courier(
    shiprocket, order, storefront_api, django_capture_on_commit_callbacks
):
    # given a booked pickup whose SLA leg runs out
    ret = _return(storefront_api, order, django_capture_on_commit_callbacks)
    leg = Leg.objects.get(return_request=ret, leg="pickup")
    from flows.sla import sla_check_leg

    # when the sweeper breaches it
    with django_capture_on_commit_callbacks(execute=True):
        outcome = sla_check_leg(leg_id=leg.pk, now=leg.due_at + timedelta(minutes=1))
    # then the action is a reschedule, and the courier was asked for a new pickup date
    assert outcome.action == "rescheduled"
    pickups = shiprocket.calls_to("/v1/external/courier/generate/pickup")
    assert len(pickups) == 2
    assert pickups[1].body["shipment_id"] == pickups[0].body["shipment_id"]
    assert pickups[1].body["pickup_date"] == [
        (timezone.localdate() + timedelta(days=1)).isoformat()
    ]
    ret.refresh_from_db()
    assert ret.pickup_status == "booked"
    assert ret.pickup_attempts == 1
    assert timezone.localtime(ret.pickup_scheduled_at).date() == timezone.localdate() + timedelta(
        days=1
    )
    assert order.events.filter(
        type="return.pickup_booked", message__startswith="Pickup rescheduled"
    ).exists()
    assert Leg.objects.filter(return_request=ret, leg="pickup", attempt=2).exists()


def test_a_token_past_its_expiry_is_renewed_before_use(
    shiprocket, order, storefront_api, django_capture_on_commit_callbacks
):
    # given a cached token whose expiry has passed (the login's JWT exp, or ten days)
    _return(storefront_api, order, django_capture_on_commit_callbacks, unit=0)
    from couriers import shiprocket as adapter

    for key, (token, _) in list(adapter._tokens.items()):
        adapter._tokens[key] = (token, timezone.now() - timedelta(seconds=1))
    calls_before = len(shiprocket.calls)
    # when the next booking runs
    _return(storefront_api, order, django_capture_on_commit_callbacks, unit=1)
    # then it logs in first, and no call was refused for an old token
    assert shiprocket.paths()[calls_before:] == BOOKING
    assert len(shiprocket.tokens) == 2


def test_the_jwt_expiry_is_read_from_the_token():
    import base64
    import json

    from couriers.shiprocket import _jwt_expiry

    claims = base64.urlsafe_b64encode(json.dumps({"exp": 1796169600}).encode()).rstrip(b"=")
    assert _jwt_expiry(f"h.{claims.decode()}.s").isoformat() == "2026-12-02T00:00:00+00:00"
    assert _jwt_expiry("not-a-jwt") is None
