"""axe-core on every page of the console and the portal (0 violations), the
dashboard on a phone, and an ops user editing a policy in the admin, all in
Chromium through the pages."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from flows.return_events import return_handle_event
from flows.return_intake import return_create
from orders.events import EventActor
from returns.models import ReturnPolicy
from returns.services import ItemRequest, ReturnEventData, ReturnRequest
from tests.browser.conftest import no_horizontal_overflow, overflowing
from tests.ui.builders import PASSWORD, held_return, staff_user, three_item_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = EventActor.system("tests")


def _login(page, username):
    page.goto("/console/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find an order")).to_be_visible()


def _returns(order):
    units = {u.sku.code: u for u in order.units.select_related("sku")}
    exchange = return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[
                ItemRequest(
                    unit=units["TEE-M"].pk,
                    reason="size_too_small",
                    resolution="exchange",
                    exchange_sku="TEE-L",
                )
            ],
        ),
        actor=SYSTEM,
    )
    received = return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[
                ItemRequest(unit=units["CHN-32"].pk, reason="changed_mind", resolution="refund")
            ],
        ),
        actor=SYSTEM,
    )
    return_handle_event(
        rma=received.rma, data=ReturnEventData(type="pickup_completed"), actor=SYSTEM
    )
    return_handle_event(
        rma=received.rma, data=ReturnEventData(type="received", location="wh-main"), actor=SYSTEM
    )
    return exchange, received


def test_every_console_page_has_no_axe_violations(
    page, browser, live_server, shot, axe, make_sku, make_order, deliver_order
):
    order = three_item_order(make_sku, make_order, deliver_order)
    exchange, received = _returns(order)
    other = three_item_order(make_sku, make_order, deliver_order)
    held = held_return(other, [other.units.order_by("pk").last().pk], SYSTEM)
    staff_user("sam.supervisor", "supervisor")

    page.goto("/console/login/")
    axe(page, "console login")
    _login(page, "sam.supervisor")
    axe(page, "search")
    page.get_by_label("Order number, RMA, phone or email").fill("asha")
    page.get_by_role("button", name="Search").click()
    axe(page, "search results")
    pages = [
        (f"/console/orders/{order.number}/", "order"),
        (f"/console/returns/{exchange.rma}/", "return with exchange"),
        (f"/console/returns/{received.rma}/", "return waiting for QC"),
        (f"/console/returns/{held.rma}/", "held return"),
        (f"/console/returns/{held.rma}/reject/", "reject confirmation"),
        (f"/console/returns/{exchange.rma}/confirm/cancel/", "cancel confirmation"),
        (f"/console/returns/{exchange.rma}/confirm/convert-to-refund/", "convert to refund"),
        (f"/console/returns/{exchange.rma}/confirm/convert-to-keep/", "convert to keep"),
        (f"/console/qc/{received.rma}/", "QC screen"),
        ("/console/queues/", "queues"),
        ("/console/queues/?view=breached", "queues, breached"),
        ("/console/scan/", "scan to receive"),
        ("/console/dashboard/", "dashboard"),
        ("/console/returns/NOPE/confirm/zzz/", "404"),
    ]
    for url, label in pages:
        page.goto(url)
        axe(page, label)
    shot(page, "ui14-14-console-404")
    page.goto("/console/dashboard/")
    shot(page, "ui14-15-dashboard")

    # the wizard, step by step
    page.goto(f"/console/orders/{other.number}/return/")
    axe(page, "wizard classify")
    page.get_by_label("Changed their mind").check()
    page.get_by_label(re.compile(r"Crew neck tee, M")).check()
    page.get_by_role("button", name="Check eligibility").click()
    axe(page, "wizard eligibility")
    page.get_by_role("button", name="Continue").click()
    axe(page, "wizard resolution")
    page.get_by_role("button", name="Review").click()
    axe(page, "wizard review")

    # a QC refused: the error sits next to the unit
    page.goto(f"/console/returns/{received.rma}/")
    block = page.locator("fieldset", has_text="QC · unit")
    block.get_by_label("Inspection").select_option("0")
    block.get_by_label("Disposition").select_option("restock")
    block.get_by_label("QC notes").fill("seam torn")
    page.get_by_role("button", name="Record QC result").click()
    expect(block.get_by_text("A unit that failed QC goes back to the customer.")).to_be_visible()
    expect(block.get_by_label("QC notes")).to_have_value("seam torn")
    axe(page, "QC error")
    shot(page, "ui14-16-qc-error")

    # the dashboard and the queue on a phone
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        base_url=live_server.url,
        storage_state=page.context.storage_state(),
        is_mobile=True,
    )
    p = phone.new_page()
    for url, name in (
        ("/console/dashboard/", "dashboard"),
        (f"/console/returns/{exchange.rma}/", "return"),
    ):
        p.goto(url)
        assert no_horizontal_overflow(p) <= 390, (name, overflowing(p))
        axe(p, f"{name}, phone")
        shot(p, f"ui14-17-{name}-phone")
    phone.close()

    # a console page a role may not open
    staff_user("fin", "finance")
    page.context.clear_cookies()
    _login(page, "fin")
    page.goto("/console/scan/")
    axe(page, "403")


def test_every_portal_page_has_no_axe_violations(page, axe, make_sku, make_order, deliver_order):
    order = three_item_order(make_sku, make_order, deliver_order)
    exchange, received = _returns(order)
    page.goto("/returns/orders/")
    axe(page, "portal lookup (redirected)")
    page.goto("/returns/")
    page.get_by_label("Order number").fill(order.number)
    page.get_by_label("Email or phone number on the order").fill(order.email)
    page.get_by_role("button", name="Find my order").click()
    axe(page, "verify")
    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    axe(page, "verify, wrong code")
    code = mail.outbox[-1].subject.rsplit(" ", 1)[-1]
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Continue").click()
    for url, label in (
        ("/returns/orders/", "orders"),
        (f"/returns/orders/{order.number}/", "order"),
        (f"/returns/orders/{order.number}/return/", "return form"),
        (f"/returns/orders/{order.number}/return/?all=1", "return everything"),
        (f"/returns/r/{exchange.rma}/", "exchange status"),
        (f"/returns/r/{received.rma}/", "received status"),
        (f"/returns/r/{exchange.rma}/cancel/", "cancel"),
        (f"/returns/r/{received.rma}/cancel/", "cannot cancel"),
    ):
        page.goto(url)
        axe(page, label)
    page.goto(f"/returns/orders/{order.number}/return/")
    page.get_by_role("button", name="Submit return").click()
    expect(page.locator("#error-summary")).to_be_visible()
    axe(page, "return form errors")
    page.context.clear_cookies()
    page.goto("/returns/orders/")  # signed out: back to the lookup
    axe(page, "signed out")


def test_ops_edits_a_policy_with_a_preview_in_the_admin(page, shot, make_sku):
    staff_user("olga.ops", "ops")
    base = ReturnPolicy.objects.order_by("-version").first()
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("olga.ops")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/returns/returnpolicy/add/")
    page.locator("#id_window_days").fill(str(base.window_days + 5))
    page.locator("#id_sla_refund").fill("12")
    page.get_by_role("button", name="Preview changes").click()
    preview = page.locator("#policy-preview")
    expect(preview).to_contain_text("Window days")
    expect(preview).to_contain_text(str(base.window_days + 5))
    expect(preview).to_contain_text("refund: 12")
    shot(page, "ui14-18-admin-policy-preview")
    assert ReturnPolicy.objects.count() == 1
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text(re.compile("was added successfully"))).to_be_visible()
    new = ReturnPolicy.objects.order_by("-version").first()
    assert new.version == base.version + 1
    assert new.window_days == base.window_days + 5
    assert new.sla_hours["refund"] == 12
