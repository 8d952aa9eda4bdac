"""A customer returns one of three items and exchanges another, in Chromium."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from returns.models import Return
from tests.ui.builders import three_item_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, order):
    page.goto("/returns/")
    page.get_by_label("Order number").fill(order.number)
    page.get_by_label("Email or phone number on the order").fill("98123 45678")
    page.get_by_role("button", name="Find my order").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    code = mail.outbox[-1].subject.rsplit(" ", 1)[-1]
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()


def test_customer_returns_one_item_exchanges_another_and_follows_the_return(
    page, shot, browser, live_server, make_sku, make_order, deliver_order
):
    # given a delivered order of three items
    order = three_item_order(make_sku, make_order, deliver_order)
    units = {u.sku.code: u for u in order.units.select_related("sku")}
    chn, tee = units["CHN-32"], units["TEE-M"]
    page.goto("/returns/")
    expect(page.get_by_role("button").first).to_be_visible()
    shot(page, "portal-1-lookup")

    # when the customer finds the order and enters the emailed code
    _sign_in(page, order)
    expect(page.get_by_text("Delivered").first).to_be_visible()
    expect(
        page.get_by_role("link", name=re.compile("Return or exchange some items"))
    ).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Return everything"))).to_be_visible()
    shot(page, "portal-2-order")

    # the same page on a phone
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        base_url=live_server.url,
        storage_state=page.context.storage_state(),
        is_mobile=True,
        device_scale_factor=2,
    )
    phone_page = phone.new_page()
    phone_page.goto(f"/returns/orders/{order.number}/")
    expect(phone_page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    shot(phone_page, "portal-2-order-phone")

    # and returns the chinos for a refund and exchanges the tee for a size L
    page.get_by_role("link", name=re.compile("Return or exchange some items")).click()
    page.locator(f"#id_unit_{chn.pk}").check()
    page.locator(f"#id_reason_{chn.pk}").select_option("size_too_large")
    page.locator(f"#id_unit_{tee.pk}").check()
    page.locator(f"#id_reason_{tee.pk}").select_option("size_too_small")
    page.locator(f"#id_resolution_{tee.pk}").select_option("exchange")
    picker = page.locator(f"#id_exchange_{tee.pk}")
    expect(picker).to_be_visible()
    expect(picker.locator("option", has_text="Crew neck tee, XL")).to_contain_text("out of stock")
    picker.select_option("TEE-L")

    # then the quote shows the refund and when it arrives
    total = page.get_by_test_id("quote-total")
    expect(total).to_have_text(f"{chn.net_paid} INR")
    expect(page.get_by_text("Refund by")).to_be_visible()
    expect(page.get_by_text("Your exchange arrives by")).to_be_visible()
    expect(page.get_by_text(re.compile("In stock"))).to_be_visible()
    shot(page, "portal-3-return-form-with-quote")

    phone_page.goto(f"/returns/orders/{order.number}/return/")
    phone_page.locator(f"#id_unit_{chn.pk}").check()
    phone_page.locator(f"#id_reason_{chn.pk}").select_option("size_too_large")
    expect(phone_page.get_by_test_id("quote-total")).to_have_text(f"{chn.net_paid} INR")
    shot(phone_page, "portal-3-return-form-phone")
    phone.close()

    # when the customer submits
    page.get_by_role("button", name="Submit return").click()

    # then an RMA and what happens next
    ret = Return.objects.get(order=order)
    expect(page.get_by_test_id("rma")).to_have_text(ret.rma)
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()
    expect(page.get_by_text("Picked up by the courier")).to_be_visible()
    expect(page.get_by_text("Exchange dispatched")).to_be_visible()
    shot(page, "portal-4-status-new")

    # and the status page follows the return leg by leg
    from flows.return_events import return_handle_event
    from orders.events import EventActor
    from returns.services import ReturnEventData

    return_handle_event(
        rma=ret.rma, data=ReturnEventData(type="pickup_completed"), actor=EventActor.system()
    )
    page.goto(f"/returns/r/{ret.rma}/")
    done = page.locator(".steps li.done")
    expect(done).to_have_count(2)
    expect(page.locator(".steps li.current")).to_contain_text("Received at our warehouse")
    expect(page.get_by_text("Return on its way to us").first).to_be_visible()
    shot(page, "portal-5-status-picked-up")


def test_unverified_browser_is_sent_to_the_lookup(page, make_sku, make_order, deliver_order):
    order = three_item_order(make_sku, make_order, deliver_order)
    page.goto(f"/returns/orders/{order.number}/")
    expect(page.get_by_role("heading", name="Return or exchange an order")).to_be_visible()
    assert "/returns/?next=" in page.url
