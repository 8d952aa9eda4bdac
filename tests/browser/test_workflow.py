"""Issue 14 in Chromium, through the pages alone: a mixed return from the
wizard to refund and exchange dispatched (scan to receive and QC on the way),
a reject with its customer message, a portal cancel and the phone layout.
axe-core runs on every page visited; screenshots go to var/screenshots/."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from orders.events import EventActor
from orders.models import OutboundMessage, Shipment
from refunds.models import Refund
from returns.models import Return
from tests.browser.conftest import no_horizontal_overflow
from tests.ui.builders import PASSWORD, held_return, staff_user, three_item_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, username):
    page.goto("/console/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find an order")).to_be_visible()


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()


def test_mixed_return_from_wizard_to_refund_and_exchange_dispatched(
    page, shot, axe, make_sku, make_order, deliver_order
):
    order = three_item_order(make_sku, make_order, deliver_order)
    units = {u.sku.code: u for u in order.units.select_related("sku")}
    tee, chinos = units["TEE-M"], units["CHN-32"]
    staff_user("asha.agent", "agent")
    staff_user("wes.warehouse", "warehouse")

    # the agent creates a mixed return in the wizard
    _login(page, "asha.agent")
    page.goto(f"/console/orders/{order.number}/")
    expect(page.get_by_role("heading", name="Tenders")).to_be_visible()
    axe(page, "order")
    shot(page, "ui14-01-order")
    page.get_by_role("link", name="Create a return").click()
    page.get_by_label("Wrong size or fit").check()
    page.get_by_label(re.compile(r"Crew neck tee, M")).check()
    page.get_by_label(re.compile(r"Slim fit chinos, 32")).check()
    page.get_by_role("button", name="Check eligibility").click()
    page.get_by_role("button", name="Continue").click()
    page.locator(f"#id_reason_{tee.pk}").select_option("size_too_small")
    page.locator(f"#id_resolution_{tee.pk}").select_option("exchange")
    page.locator(f"#id_exchange_{tee.pk}").select_option("TEE-L")
    page.locator(f"#id_reason_{chinos.pk}").select_option("size_too_large")
    page.get_by_role("button", name="Review").click()
    lines = page.get_by_role("table").first
    expect(lines).to_contain_text("Crew neck tee, M")
    expect(lines).to_contain_text(str(chinos.net_paid))
    axe(page, "wizard review")
    shot(page, "ui14-02-wizard-review")
    page.get_by_role("button", name="Create return").click()
    ret = Return.objects.get(order=order)
    expect(page.get_by_role("heading", name=f"Return {ret.rma}")).to_be_visible()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_test_id("owner")).to_have_text("asha.agent")
    page.get_by_role("button", name="Pickup completed").click()
    expect(page.get_by_text("Event recorded.")).to_be_visible()
    axe(page, "return page")
    page.get_by_role("link", name="Queues").click()
    expect(page.get_by_role("link", name=ret.rma).first).to_be_visible()
    page.get_by_role("link", name=re.compile("My queue")).click()
    expect(page.get_by_test_id("countdown").first).to_contain_text(re.compile("left|overdue"))
    axe(page, "queues")
    shot(page, "ui14-03-queues")
    _sign_out(page)

    # the warehouse scans the label: received, QC opens
    _login(page, "wes.warehouse")
    page.get_by_role("link", name="Receive").click()
    scan = page.get_by_label(re.compile("Scan or type the RMA or AWB"))
    expect(scan).to_be_focused()
    axe(page, "scan")
    shot(page, "ui14-04-scan")
    page.keyboard.type(ret.rma)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Quality inspection · {ret.rma}")).to_be_visible()
    expect(page.get_by_text(f"{ret.rma} received at Main warehouse.")).to_be_visible()
    axe(page, "qc screen")
    shot(page, "ui14-05-qc")
    for _ in range(2):
        form = (
            page.locator("form")
            .filter(has=page.get_by_role("button", name="Record inspection"))
            .first
        )
        form.get_by_label("Passed").check()
        form.get_by_role("button", name="Record inspection").click()
    page.goto(f"/console/returns/{ret.rma}/")

    # the exchange goes out with its AWB; the chinos' refund follows
    expect(page.get_by_role("heading", name="Dispatch the exchange")).to_be_visible()
    page.get_by_label("AWB (courier tracking number)").fill("DLV123456789")
    axe(page, "return page, dispatch")
    shot(page, "ui14-06-dispatch")
    page.get_by_role("button", name="Record dispatch").click()
    expect(page.get_by_text("Exchange dispatched, AWB DLV123456789.")).to_be_visible()
    assert Shipment.objects.get(order=order, kind="replacement").tracking_number == "DLV123456789"
    refund = Refund.objects.get(return_request=ret)
    assert refund.state == "issued"
    assert refund.amount == chinos.net_paid
    ret.refresh_from_db()
    assert ret.state == "completed"
    timeline = page.locator("#tl-h + p + .tl-group, #tl-h ~ .tl-group").first
    expect(timeline).to_contain_text("Exchange dispatched")
    shot(page, "ui14-07-return-done")


def test_supervisor_rejects_with_a_reason_and_the_customer_gets_the_customer_message(
    page, shot, axe, make_sku, make_order, deliver_order
):
    order = three_item_order(make_sku, make_order, deliver_order)
    ret = held_return(order, [order.units.order_by("pk").last().pk], EventActor.system("tests"))
    staff_user("sam.supervisor", "supervisor")
    _login(page, "sam.supervisor")
    page.goto(f"/console/returns/{ret.rma}/")
    page.get_by_role("link", name="Reject…").click()
    expect(page.get_by_role("heading", name="Reject this return")).to_be_visible()
    page.get_by_label("Reason (decides the customer's message)").select_option(
        "used_or_damaged_by_use"
    )
    expect(page.get_by_text(re.compile("unused and in their original condition"))).to_be_visible()
    page.get_by_label("Note for the record (internal)").fill("third worn return this month")
    axe(page, "reject confirmation")
    shot(page, "ui14-08-reject")
    page.get_by_role("button", name="Yes, reject the return").click()
    expect(page.get_by_text("Tick the box to confirm.")).to_be_visible()
    page.get_by_label(re.compile("I have checked this")).check()
    page.get_by_role("button", name="Yes, reject the return").click()
    expect(page.get_by_test_id("return-state")).to_have_text("Rejected")
    body = OutboundMessage.objects.get(order=order, template="return_rejected").body
    assert "worn return" not in body
    assert "unused and in their original condition" in body


def _portal_sign_in(page, order):
    page.goto("/returns/")
    page.get_by_label("Order number").fill(order.number)
    page.get_by_label("Email or phone number on the order").fill(order.email)
    page.get_by_role("button", name="Find my order").click()
    code = mail.outbox[-1].subject.rsplit(" ", 1)[-1]
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()


def test_portal_on_a_phone_fits_390px_and_the_customer_cancels_before_pickup(
    browser, live_server, shot, axe, make_sku, make_order, deliver_order
):
    from flows.return_intake import return_create
    from returns.services import ItemRequest, ReturnRequest

    order = three_item_order(make_sku, make_order, deliver_order)
    units = {u.sku.code: u for u in order.units.select_related("sku")}
    ret = return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[
                ItemRequest(unit=units["TOT-NATURAL"].pk, reason="defective", resolution="refund")
            ],
        ),
        actor=EventActor.system("tests"),
    )
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, is_mobile=True
    )
    phone.set_default_timeout(15000)
    page = phone.new_page()
    _portal_sign_in(page, order)
    expect(page.get_by_test_id("why-not").first).to_contain_text(f"Already in return {ret.rma}")
    assert no_horizontal_overflow(page) <= 390
    axe(page, "portal order, phone")
    shot(page, "ui14-09-portal-order-phone")

    # the return form with the damage photo field showing
    page.get_by_role("link", name=re.compile("Return or exchange some items")).click()
    chn = units["CHN-32"].pk
    page.locator(f"#id_unit_{chn}").check()
    page.locator(f"#id_reason_{chn}").select_option("damaged_in_transit")
    expect(page.locator(f"#photos-{chn}")).to_be_visible()
    assert no_horizontal_overflow(page) <= 390
    axe(page, "portal return form, phone")
    shot(page, "ui14-10-portal-form-phone")
    # submit without a photo: the errors are summarised at the top
    page.get_by_role("button", name="Submit return").click()
    expect(page.locator("#error-summary")).to_contain_text("Add at least one photo")
    assert no_horizontal_overflow(page) <= 390
    axe(page, "portal return form with errors, phone")
    shot(page, "ui14-11-portal-form-errors-phone")

    # the customer cancels the tote's return before pickup
    page.goto(f"/returns/r/{ret.rma}/")
    expect(page.get_by_test_id("return-title")).to_have_text("Damaged or faulty item – refund")
    assert no_horizontal_overflow(page) <= 390
    axe(page, "portal return status, phone")
    shot(page, "ui14-12-portal-status-phone")
    page.get_by_role("link", name="Cancel this return").click()
    axe(page, "portal cancel, phone")
    shot(page, "ui14-13-portal-cancel-phone")
    page.get_by_role("button", name="Yes, cancel the return").click()
    expect(page.get_by_text("Your return is cancelled.")).to_be_visible()
    expect(page.get_by_test_id("return-state")).to_have_text("Cancelled")
    ret.refresh_from_db()
    assert ret.state == "cancelled"
    phone.close()
