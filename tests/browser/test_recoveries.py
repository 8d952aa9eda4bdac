"""Finance's and CX's recovery queue in Chromium, on a 1280 px screen and a
390 px phone: an agent reads it, a supervisor writes one off with a reason."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from refunds.models import Recovery
from returns.models import ReturnPolicy
from tests.ui.builders import PASSWORD, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, username):
    page.goto("/console/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find an order")).to_be_visible()


def _open_recovery(make_sku, make_order, deliver_order, storefront_api, warehouse_api):
    """A sock refunded at pickup (instant refund), then failed at QC."""
    version = ReturnPolicy.objects.order_by("-version").values_list("version", flat=True).first()
    ReturnPolicy.objects.create(
        version=version + 1, instant_refund_max=Decimal("1500.00"), risk_threshold=50
    )
    make_sku("SOCK-1", Decimal("400.00"), product="sock", stock=10)
    order = make_order(
        [("SOCK-1", 1)], customer={"email": "meera@example.com", "name": "Meera Iyer"}
    )
    deliver_order(order)
    unit = order.units.get()
    r = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    )
    rma = r.json()["rma"]
    for body in (
        {"type": "pickup_completed"},
        {"type": "received", "location": "wh-main"},
        {"type": "qc_result", "results": [{"unit": unit.pk, "passed": False}]},
    ):
        assert (
            warehouse_api.post(f"/api/v1/returns/{rma}/events/", body, format="json").status_code
            == 200
        )
    return order, Recovery.objects.get()


def _fits(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"page is {scroll}px wide on a {width}px screen"


def test_agent_reads_the_queue_and_a_supervisor_writes_off(
    page, shot, make_sku, make_order, deliver_order, storefront_api, warehouse_api
):
    order, recovery = _open_recovery(
        make_sku, make_order, deliver_order, storefront_api, warehouse_api
    )
    staff_user("asha.agent", "agent")
    staff_user("sam.supervisor", "supervisor")

    # when an agent opens the queue: the open recovery, read-only
    _login(page, "asha.agent")
    page.get_by_role("link", name="Recoveries").click()
    card = page.get_by_role("region", name=f"400.00 INR · {order.number}")
    expect(card).to_contain_text("Refunded at pickup, then failed QC")
    expect(card).to_contain_text("Meera Iyer")
    expect(card).to_contain_text("Payment link")
    expect(page.get_by_role("button", name="Write off")).to_have_count(0)
    expect(page.get_by_role("button", name="Record payment")).to_have_count(0)
    shot(page, "console-10-recoveries-agent")

    # when a supervisor opens it, on a phone
    page.context.clear_cookies()
    _login(page, "sam.supervisor")
    page.goto("/console/recoveries/")
    expect(page.get_by_label("Payment reference")).to_be_visible()
    expect(page.get_by_label("Reason for writing off")).to_be_visible()
    expect(page.get_by_label("Show")).to_have_value("open")
    shot(page, "console-11-recoveries-1280")
    _fits(page, 1280)
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "console-12-recoveries-phone")
    _fits(page, 390)

    # and writes it off with a reason
    page.get_by_label("Reason for writing off").fill("Courier damaged it; our fault")
    page.get_by_role("button", name="Write off").click()
    expect(page.get_by_text(f"Recovery {recovery.pk} written off.")).to_be_visible()
    expect(page.get_by_text("Nothing in this list.")).to_be_visible()

    # then it is written off, with who and why, and listed under that state
    recovery.refresh_from_db()
    assert (recovery.state, recovery.note, recovery.settled_by) == (
        "written_off",
        "Courier damaged it; our fault",
        "sam.supervisor",
    )
    page.get_by_label("Show").select_option("written_off")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Courier damaged it; our fault")).to_be_visible()
