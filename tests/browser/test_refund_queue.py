"""Finance's refund queue in Chromium, on a phone (390 px) and a desktop
(1280 px): a refund Razorpay refused is listed with the reason, and Retry
sends it again."""

import pytest
from playwright.sync_api import expect

from orders.events import EventActor
from tests.refunds.gateways.conftest import gateway_order, razorpay  # noqa: F401 (fixtures)
from tests.refunds.gateways.fake_servers import Step
from tests.refunds.gateways.helpers import refund_of, return_and_pass_qc
from tests.ui.builders import PASSWORD, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 1280])
def test_finance_retries_a_refused_gateway_refund_from_the_queue(
    page,
    shot,
    razorpay,
    gateway_order,
    width,  # noqa: F811
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
