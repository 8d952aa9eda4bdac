"""An agent finds an order, reads its timeline and creates a return through
the wizard; a supervisor approves a held one. In Chromium."""

import re

import pytest
from playwright.sync_api import expect

from orders.events import EventActor
from returns.models import Return
from tests.ui.builders import PASSWORD, held_return, staff_user, three_item_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, username):
    page.goto("/console/")
    expect(page.get_by_role("heading", name="Agent console")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find an order")).to_be_visible()


def test_agent_finds_order_sees_timeline_and_creates_a_return_in_the_wizard(
    page, shot, make_sku, make_order, deliver_order
):
    # given
    order = three_item_order(make_sku, make_order, deliver_order)
    staff_user("asha.agent", "agent")
    units = {u.sku.code: u for u in order.units.select_related("sku")}
    page.goto("/console/login/")
    expect(page.get_by_role("button").first).to_be_visible()
    shot(page, "console-0-login")

    # when the agent signs in and searches by the customer's phone
    _login(page, "asha.agent")
    page.get_by_label("Order number, RMA, phone or email").fill("9812345678")
    page.get_by_role("button", name="Search").click()
    shot(page, "console-1-search")
    page.get_by_role("link", name=order.number).click()

    # then the order page shows units and one timeline
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    timeline = page.locator("section[aria-labelledby=tl-h]")
    expect(timeline).to_contain_text("order.created")
    expect(timeline).to_contain_text("shipment.delivered")
    expect(page.locator("#units-h + .table-wrap")).to_contain_text("Delivered")

    # and logging a contact adds it to the order
    page.get_by_label("What the customer asked").fill("Wants a smaller tee")
    page.get_by_role("button", name="Log contact").click()
    expect(page.get_by_text("Contact logged.")).to_be_visible()
    expect(timeline).to_contain_text("contact.logged")
    shot(page, "console-2-order")

    # when the agent runs the wizard: a fit problem on the tee, exchanged
    page.get_by_role("link", name="Create a return").click()
    page.get_by_label("Wrong size or fit").check()
    page.get_by_label(re.compile(r"Crew neck tee, M")).check()
    shot(page, "console-3-wizard-classify")
    page.get_by_role("button", name="Check eligibility").click()
    expect(page.get_by_text("Every chosen item is within the policy.")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    tee = units["TEE-M"]
    page.locator(f"#id_reason_{tee.pk}").select_option("size_too_small")
    page.locator(f"#id_resolution_{tee.pk}").select_option("exchange")
    page.locator(f"#id_exchange_{tee.pk}").select_option("TEE-L")
    shot(page, "console-4-wizard-resolution")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_text("Below the escalation threshold")).to_be_visible()
    shot(page, "console-5-wizard-review")
    page.get_by_role("button", name="Create return").click()

    # then the return exists, created by the agent through the services
    ret = Return.objects.get(order=order)
    expect(page.get_by_role("heading", name=f"Return {ret.rma}")).to_be_visible()
    expect(page.get_by_test_id("return-state")).to_have_text("Approved")
    assert ret.channel == "console"
    assert ret.type == "exchange"
    shot(page, "console-6-return")


def test_supervisor_approves_a_held_return_an_agent_could_not(
    page, shot, browser, live_server, make_sku, make_order, deliver_order
):
    # given a return held for review
    order = three_item_order(make_sku, make_order, deliver_order)
    ret = held_return(order, [order.units.order_by("pk").last().pk], EventActor.system("tests"))
    assert ret.state == "pending_review"
    staff_user("agent.b", "agent")
    staff_user("sam.supervisor", "supervisor")

    # the agent sees it in the queue but cannot decide it
    _login(page, "agent.b")
    page.get_by_role("link", name="Queues").click()
    expect(page.get_by_role("link", name=ret.rma).first).to_be_visible()
    page.get_by_role("link", name=ret.rma).first.click()
    expect(page.get_by_text("A supervisor decides this return.")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    page.context.clear_cookies()

    # when the supervisor approves it
    _login(page, "sam.supervisor")
    page.get_by_role("link", name="Queues").click()
    shot(page, "console-7-queues")
    page.get_by_role("link", name=ret.rma).first.click()
    shot(page, "console-8-held-return")
    page.get_by_label("Note for the record").fill("Known customer, fine")
    page.get_by_role("button", name="Approve").click()

    # then
    expect(page.get_by_text("Return approved.")).to_be_visible()
    expect(page.get_by_test_id("return-state")).to_have_text("Approved")
    ret.refresh_from_db()
    assert ret.state == "approved"
    assert ret.reviewed_by.username == "sam.supervisor"

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Refunds by state, now")).to_be_visible()
    shot(page, "console-9-dashboard")
