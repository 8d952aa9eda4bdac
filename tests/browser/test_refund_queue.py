"""Finance's refund queue in Chromium, on a phone (390 px) and a desktop
(1280 px): a refund Razorpay refused is listed with the reason, and Retry
sends it again."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from orders.events import EventActor
from tests.refunds.gateways import conftest as gateway_fixtures
from tests.refunds.gateways.fake_servers import Step
from tests.refunds.gateways.helpers import refund_of, return_and_pass_qc
from tests.ui.builders import PASSWORD, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The local Razorpay server and gateway-paid orders (tests/refunds/gateways).
razorpay = gateway_fixtures.razorpay
gateway_order = gateway_fixtures.gateway_order


@pytest.mark.parametrize("width", [390, 1280])
def test_finance_retries_a_refused_gateway_refund_from_the_queue(
    page,
    shot,
    razorpay,
    gateway_order,
    width,
):
    # given a refund Razorpay refused with a 400
    razorpay.script(Step(status=400))
    order = gateway_order("razorpay", "pay_29QQoUBi66xm2f")
    return_and_pass_qc(order, EventActor.system("tests"))  # its task runs after commit
    refund = refund_of(order)
    assert refund.state == "failed"
    staff_user("fiona.finance", "finance")
    page.set_viewport_size({"width": width, "height": 900})

    # when finance opens the refund queue
    page.goto("/console/")
    page.get_by_label("Username").fill("fiona.finance")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Refunds").click()

    # then the refund is listed with Razorpay's reason, and the page fits
    row = page.get_by_test_id(f"refund-{refund.pk}")
    expect(row).to_contain_text("Razorpay refused the refund: scripted 400")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"console-refunds-failed-{width}")

    # when finance retries it, then Razorpay accepted it this time
    page.get_by_role("button", name=f"Retry refund {refund.pk}").click()
    expect(page.get_by_text(f"Refund {refund.pk} is processing.")).to_be_visible()
    refund.refresh_from_db()
    assert refund.state == "processing"
    assert len(razorpay.posts()) == 2


def test_customer_sees_the_gateway_refund_id_and_arn_on_a_phone(
    browser, live_server, ui_data, shot, razorpay, gateway_order
):
    # given a refund Razorpay processed at once, with the bank's ARN
    razorpay.refund_status, razorpay.arn = "processed", "74836264833849283721"
    order = gateway_order("razorpay", "pay_29QQoUBi66xm2f")
    ret = return_and_pass_qc(order, EventActor.system("tests"))
    tender = refund_of(order).tenders.get()
    assert tender.state == "processed"
    # when the customer signs in to the portal on a phone and opens the return
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, is_mobile=True
    )
    page = context.new_page()
    page.goto("/returns/")
    page.get_by_label("Order number").fill(order.number)
    page.get_by_label("Email or phone number on the order").fill(order.email)
    page.get_by_role("button", name="Find my order").click()
    code = mail.outbox[-1].subject.rsplit(" ", 1)[-1]
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.goto(f"/returns/r/{ret.rma}/")
    # then the refund shows as issued with its references, and the page fits
    expect(page.get_by_test_id("arn")).to_have_text("74836264833849283721")
    expect(page.get_by_text(tender.gateway_reference, exact=True)).to_be_visible()
    shot(page, "portal-refund-arn-phone")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 390)"
        ".map(e => e.tagName + '.' + e.className + ':' + (e.textContent || '').slice(0, 40))"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    context.close()
