"""The portal's pickup card in Chromium, at 1280 px and on a 390 px phone:
a booked pickup (courier, AWB, date) and an unserviceable pincode (self-ship
or store drop, with the label PDF)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from orders.events import EventActor
from returns.models import Return
from tests.browser.test_portal import _sign_in
from tests.ui.builders import three_item_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _return(order) -> Return:
    from flows.return_intake import return_create
    from returns.services import ItemRequest, ReturnRequest

    unit = order.units.order_by("pk").first()
    return return_create(
        ReturnRequest(
            order=order.number,
            channel="portal",
            items=[ItemRequest(unit=unit.pk, reason="size_too_large", resolution="refund")],
        ),
        actor=EventActor.system("tests"),
    )


def test_the_customer_sees_the_booked_pickup_and_the_label_when_there_is_none(
    page, shot, browser, live_server, make_sku, make_order, deliver_order
):
    from returns.services import return_pickup_booked, return_pickup_unserviceable

    order = three_item_order(make_sku, make_order, deliver_order)
    ret = _return(order)
    with transaction.atomic():
        ret = Return.objects.get(pk=ret.pk)
        ret.courier = "shiprocket"
        return_pickup_booked(
            ret,
            awb="770012345",
            courier_name="Delhivery Surface",
            scheduled_at=timezone.now() + timedelta(days=1),
            actor=EventActor.system("tests"),
        )
    _sign_in(page, order)
    page.goto(f"/returns/r/{ret.rma}/")
    card = page.get_by_test_id("pickup")
    expect(card.get_by_role("heading", name="Pickup")).to_be_visible()
    expect(page.get_by_test_id("awb")).to_have_text("770012345")
    expect(card).to_contain_text("Delhivery Surface")
    shot(page, "portal-pickup-booked")

    with transaction.atomic():
        return_pickup_unserviceable(
            Return.objects.get(pk=ret.pk),
            reason="no courier picks up returns at pincode 560001",
            actor=EventActor.system("tests"),
        )
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        base_url=live_server.url,
        storage_state=page.context.storage_state(),
        is_mobile=True,
        device_scale_factor=2,
    )
    phone_page = phone.new_page()
    phone_page.goto(f"/returns/r/{ret.rma}/")
    label = phone_page.get_by_role("link", name="Print the return label (PDF)")
    expect(label).to_be_visible()
    expect(phone_page.get_by_test_id("pickup")).to_contain_text("post the parcel to us")
    box = label.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 390
    shot(phone_page, "portal-pickup-unserviceable-phone")
    pdf = phone_page.request.get(f"/returns/r/{ret.rma}/label.pdf")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    phone.close()
