"""The bank returned a COD refund's payout: on a phone, the customer corrects
the details in the portal and the same payout goes back to finance (issue 12)."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from refunds.models import Payout
from tests.payouts.conftest import ACCOUNT
from tests.returns.helpers import create, refund_item, walk_to_qc
from tests.ui.builders import three_item_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_corrects_payout_details_on_a_phone(
    browser, live_server, shot, ui_data, make_sku, make_order, deliver_order, api_client_for
):
    order = three_item_order(make_sku, make_order, deliver_order, cod=True)
    unit = order.units.order_by("pk").first()
    r = create(
        api_client_for("storefront"),
        refund_item(order.number, unit.pk, refund_method="bank_transfer", payout=ACCOUNT),
    )
    rma = r.json()["rma"]
    walk_to_qc(api_client_for("warehouse"), rma, [unit.pk])
    payout = Payout.objects.get(refund__return_request__rma=rma)
    failed = api_client_for("finance").post(
        f"/api/v1/payouts/{payout.pk}/failed/", {"reason": "Account closed"}, format="json"
    )
    assert failed.status_code == 200

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, is_mobile=True
    )
    page = context.new_page()
    page.goto("/returns/")
    page.get_by_label("Order number").fill(order.number)
    page.get_by_label("Email or phone number on the order").fill("98123 45678")
    page.get_by_role("button", name="Find my order").click()
    code = mail.outbox[-1].subject.rsplit(" ", 1)[-1]
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.goto(f"/returns/r/{rma}/")
    page.get_by_role("link", name="Payout status · Correct payout details").click()
    expect(page.get_by_role("heading", name="Correct your details")).to_be_visible()
    expect(page.get_by_text("Account closed")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(ACCOUNT["account_number"])
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "portal-6-payout-phone")

    page.get_by_label("UPI id").fill("asha@okaxis")
    page.get_by_role("button", name="Save and pay again").click()
    expect(page.get_by_text("We'll pay your refund to the new details")).to_be_visible()
    expect(page.locator("body")).to_contain_text("as••••@okaxis")
    shot(page, "portal-7-payout-saved-phone")
    payout.refresh_from_db()
    assert (payout.state, payout.details) == ("pending", {"upi_id": "asha@okaxis"})
    context.close()
