"""Finance works the payouts page in Chromium, at 1280 px and on a 390 px
phone: the pending COD payouts with their bank details, "Mark paid" with the
UTR, "Bank returned it" with a reason (issue 12)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from refunds.models import Payout
from tests.payouts.conftest import ACCOUNT, UPI
from tests.returns.helpers import create, refund_item, unit_ids, walk_to_qc
from tests.ui.builders import PASSWORD, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_payouts(ui_data, make_sku, make_order, deliver_order, api_client_for):
    make_sku("KURTA", Decimal("750.00"), stock=5)
    order = make_order([("KURTA", 2)], cod=True)
    deliver_order(order)
    storefront, warehouse = api_client_for("storefront"), api_client_for("warehouse")
    for uid, details in zip(unit_ids(order), (ACCOUNT, UPI), strict=True):
        r = create(
            storefront,
            refund_item(order.number, uid, refund_method="bank_transfer", payout=details),
        )
        assert r.status_code == 201, r.json()
        walk_to_qc(warehouse, r.json()["rma"], [uid])
    payouts = list(Payout.objects.order_by("pk"))
    assert [p.state for p in payouts] == ["pending", "pending"]
    return payouts


def _login(page, username):
    page.goto("/console/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find an order")).to_be_visible()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_finance_pays_one_payout_and_returns_the_other(page, shot, two_payouts):
    bank, upi = two_payouts
    staff_user("fiona.finance", "finance")
    _login(page, "fiona.finance")
    page.get_by_role("link", name="Payouts").click()
    expect(page.get_by_role("heading", name="2 pending payouts")).to_be_visible()
    card = page.locator("li.payout", has_text=bank.reference)
    expect(card).to_contain_text("001234567890")
    expect(card).to_contain_text("HDFC0001234")
    expect(card).to_contain_text("by IMPS")
    expect(page.locator("li.payout", has_text=upi.reference)).to_contain_text("asha.k@okhdfc")
    expect(page.get_by_role("link", name="Download bank file (CSV, pending)")).to_be_visible()
    assert _fits(page)
    shot(page, "payouts-1-worklist")

    # on a phone the same page fits the screen, its inputs labelled
    page.set_viewport_size({"width": 390, "height": 844})
    assert _fits(page)
    expect(card.get_by_label("Bank reference (UTR)")).to_be_visible()
    expect(card.get_by_label("Why the bank returned it")).to_be_visible()
    shot(page, "payouts-2-worklist-phone")

    # a malformed UTR is refused, saying why
    card.get_by_label("Bank reference (UTR)").fill("12345")
    card.get_by_role("button", name="Mark paid").click()
    expect(page.get_by_text("12-digit IMPS/UPI RRN")).to_be_visible()
    assert Payout.objects.get(pk=bank.pk).state == "pending"

    # finance records the bank's UTR
    card = page.locator("li.payout", has_text=bank.reference)
    card.get_by_label("Bank reference (UTR)").fill("412345678901")
    card.get_by_role("button", name="Mark paid").click()
    expect(page.get_by_text(f"Payout {bank.reference} paid, UTR 412345678901.")).to_be_visible()
    expect(page.get_by_role("heading", name="1 pending payout")).to_be_visible()

    # and records that the bank returned the UPI one
    card = page.locator("li.payout", has_text=upi.reference)
    card.get_by_label("Why the bank returned it").fill("VPA does not exist")
    card.get_by_role("button", name="Bank returned it").click()
    expect(page.get_by_text("the customer is asked to correct it")).to_be_visible()
    assert _fits(page)
    shot(page, "payouts-3-after-phone")

    assert Payout.objects.get(pk=bank.pk).refund.state == "issued"
    assert Payout.objects.get(pk=upi.pk).state == "failed"
    page.get_by_label("Show payouts").select_option("failed")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("li.payout", has_text=upi.reference)).to_contain_text("VPA does not exist")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "payouts-4-failed")
