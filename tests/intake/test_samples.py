"""Every platform sample through the signed webhook path.

SOURCES.md says which samples do not add up. Those are not booked with
invented numbers: the delivery ends as a dead letter (or is ignored) with a
reason that names the field, and their shape is checked through the adapter.
The ones that do add up (order 450789469, WooCommerce #723 and #727) become
orders whose per-line discounts, per-line tax and totals are the platform's:
each line carries the platform's own tax, split over its units exactly.
"""

from decimal import Decimal

import pytest

from intake.adapters import parse_body, shopify
from intake.models import PlatformRefund, PlatformRefundUnit, WebhookDelivery
from orders.models import LedgerEntry, Order, TimelineEvent, Unit

from .conftest import sample, sample_part

ORDER_450 = "shopify/order-450789469-rest-docs-discount-allocations-partial-refund.json"
CREATE_2026 = "shopify/webhook-orders-create-2026-04-sample.json"
REFUND_2026 = "shopify/webhook-refunds-create-2026-04-sample.json"
RETURN_2026 = "shopify/webhook-returns-approve-2026-04-sample-exchange.json"
CALCULATE = "shopify/refund-calculate-response-cart-discount-shipping.json"
MONEI_REFUND = "shopify/refund-create-response-single-line-prorated.json"
WOO_ORDERS = "woocommerce/orders-list-v3-docs-example.json"
WOO_REFUNDS = "woocommerce/order-723-refunds-list-v3-docs-example.json"

pytestmark = pytest.mark.django_db


def _delivery(response) -> WebhookDelivery:
    assert response.status_code == 202, response.content
    return WebhookDelivery.objects.get(pk=response.json()["id"])


# --- Shopify REST order 450789469 ---------------------------------------------


LINES_450 = {
    # line item id: (sku, Shopify's discount allocation, Shopify's tax line)
    "466157049": ("IPOD2008GREEN", Decimal("3.34"), Decimal("3.98")),
    "518995019": ("IPOD2008RED", Decimal("3.33"), Decimal("3.98")),
    "703073504": ("IPOD2008BLACK", Decimal("3.33"), Decimal("3.98")),
}


def test_order_450789469_shape_keeps_shopify_allocation_tax_and_ids():
    # given the REST docs order, parsed the way intake parses it
    payload = parse_body(sample(ORDER_450))

    # when the adapter reads it
    intake = shopify.order_from_payload(payload, channel="shop")

    # then each line carries Shopify's own discount allocation and tax line
    # (3.98 is not 6% of the line: the platform's figure is kept, not recomputed)
    data = intake.data
    assert {
        ln.external_id: (ln.sku, ln.quantity, ln.unit_price, ln.discount, ln.tax_rate, ln.tax)
        for ln in data.lines
    } == {
        line_id: (sku, 1, Decimal("199.00"), alloc, Decimal("6.00"), tax)
        for line_id, (sku, alloc, tax) in LINES_450.items()
    }
    assert data.prices_include_tax is False
    assert (data.order_discount, data.shipping) == (Decimal("0.00"), Decimal("0.00"))
    assert intake.platform_total == Decimal("598.94")
    assert [(p.method, p.amount, p.gateway) for p in data.payments] == [
        ("card", Decimal("598.94"), "bogus")
    ]
    assert [r.external_id for r in intake.refunds] == ["509562969"]


@pytest.fixture
def order_450(post_webhook, shop_channel):
    """Order 450789469 as the unmodified REST docs sample creates it through
    the signed orders/create webhook (with its embedded refund 509562969)."""
    delivery = _delivery(post_webhook("shopify", "shop", sample(ORDER_450), "orders/create"))
    assert delivery.state == "processed", delivery.last_error
    return Order.objects.get(channel=shop_channel, external_id="450789469")


def test_order_450789469_webhook_creates_the_order_with_the_platforms_figures(order_450):
    # then 3 lines of 1 unit, each with Shopify's allocation and tax to the cent
    lines = list(order_450.lines.order_by("position").prefetch_related("units"))
    assert [ln.external_id for ln in lines] == list(LINES_450)
    for line in lines:
        sku, alloc, tax = LINES_450[line.external_id]
        (unit,) = line.units.all()
        assert (line.sku.code, line.quantity, line.unit_price) == (sku, 1, Decimal("199.00"))
        assert line.discount == unit.discount_amount == alloc
        assert unit.tax_amount == tax
        assert unit.net_paid == Decimal("199.00") - alloc + tax
    # and the totals are Shopify's: 597.00 - 10.00 + 11.94 tax, free shipping
    assert (order_450.items_total, order_450.grand_total) == (Decimal("598.94"),) * 2
    assert order_450.tax_total == Decimal("11.94")
    assert order_450.line_discount_total == Decimal("10.00")
    assert (order_450.order_discount, order_450.shipping_amount) == (Decimal("0"),) * 2
    assert order_450.currency == "USD"
    assert order_450.prices_include_tax is False
    # and one card tender for total_price, less the embedded refund it carried
    payment = order_450.payments.get()
    assert (payment.method, payment.amount, payment.captured_amount, payment.gateway) == (
        "card",
        Decimal("598.94"),
        Decimal("598.94"),
        "bogus",
    )
    assert payment.refunded_amount == Decimal("209.00")
    assert PlatformRefund.objects.get().external_id == "509562969"


def test_order_450789469_refunds_are_reproduced_to_the_cent(post_webhook, order_450):
    # given the order created by its webhook (which recorded the embedded
    # refund), the same refund as refunds/create, and the MONEI refunds.json response
    embedded = sample_part(ORDER_450, "order", "refunds", 0)
    monei = sample(MONEI_REFUND)

    # when both arrive as refunds/create
    first = _delivery(post_webhook("shopify", "shop", embedded, "refunds/create"))
    second = _delivery(post_webhook("shopify", "shop", monei, "refunds/create"))

    # then the embedded one is not booked twice, and the MONEI one is recorded
    assert (first.state, second.state) == ("processed", "processed")
    assert "already recorded" in first.note
    # and each refunded unit carries exactly the platform's amounts, which are
    # also exactly what the unit paid at intake (net paid less its tax, and its tax)
    refunded = {
        ru.unit.line.external_id: ru
        for ru in PlatformRefundUnit.objects.select_related("unit__line", "refund_line__refund")
    }
    assert {
        line_id: (ru.subtotal, ru.tax, ru.refund_line.refund.external_id)
        for line_id, ru in refunded.items()
    } == {
        "703073504": (Decimal("195.67"), Decimal("3.98"), "509562969"),
        "466157049": (Decimal("195.66"), Decimal("3.98"), "509562969"),
        "518995019": (Decimal("195.67"), Decimal("3.98"), "929361464"),
    }
    for ru in refunded.values():
        assert (ru.unit.net_paid - ru.unit.tax_amount, ru.unit.tax_amount) == (ru.subtotal, ru.tax)
    refunds = {r.external_id: r for r in PlatformRefund.objects.all()}
    assert refunds["509562969"].amount == Decimal("209.00")  # as Shopify sent it (SOURCES.md)
    assert refunds["509562969"].lines_subtotal == Decimal("391.33")
    assert refunds["509562969"].lines_tax == Decimal("7.96")
    assert refunds["929361464"].amount == Decimal("199.65")
    # and the payment side and ledger agree with the storefront
    payment = order_450.payments.get()
    assert payment.refunded_amount == Decimal("408.65")
    assert payment.state == "partially_refunded"
    ledger = LedgerEntry.objects.filter(order=order_450, kind="refund")
    assert sorted(e.amount for e in ledger) == [Decimal("199.65"), Decimal("209.00")]
    # and the units keep their lifecycle state (returns own that)
    states = set(Unit.objects.filter(order=order_450).values_list("state", flat=True))
    assert states <= {"ordered", "allocated"}
    assert (
        TimelineEvent.objects.filter(order=order_450, type="refund.platform_recorded").count() == 2
    )


def test_refund_redelivered_under_a_new_id_is_recorded_once(post_webhook, order_450):
    # given a refund already reconciled
    monei = sample(MONEI_REFUND)
    post_webhook("shopify", "shop", monei, "refunds/create", delivery_id="a")

    # when Shopify sends it again as a different delivery
    again = _delivery(post_webhook("shopify", "shop", monei, "refunds/create", delivery_id="b"))

    # then nothing more is refunded (209.00 embedded in the order + 199.65 once)
    assert again.state == "processed"
    assert "already recorded" in again.note
    assert order_450.payments.get().refunded_amount == Decimal("408.65")
    assert (
        PlatformRefundUnit.objects.filter(refund_line__refund__external_id="929361464").count() == 1
    )


def test_refund_calculate_response_is_not_a_refund(post_webhook, shop_channel):
    response = post_webhook("shopify", "shop", sample(CALCULATE), "refunds/create")

    delivery = _delivery(response)
    assert delivery.state == "dead"
    assert delivery.last_error.startswith("not_a_refund: id:")


# --- Shopify 2026-04 webhook samples (shape only) ------------------------------


def test_orders_create_2026_shape_ids_exact_and_voided_is_not_booked(post_webhook, shop_channel):
    # given the official orders/create sample body (financial_status voided)
    body = sample_part(CREATE_2026, "response")
    intake = shopify.order_from_payload(parse_body(body), channel="shop")

    # then the shape is read with every id digit kept (no float on the way)
    data = intake.data
    assert data.external_id == "820982911946154500"
    assert str(int(float(data.external_id))) != data.external_id  # a float would lose it
    assert [ln.external_id for ln in data.lines] == [
        "487817672276298560",
        "789012345678901200",
        "890123456789012400",
        "976318377106520300",
        "315789986012684400",
    ]
    assert [ln.unit_price for ln in data.lines] == [
        Decimal("89.99"),
        Decimal("19.99"),
        Decimal("24.99"),
        Decimal("159.99"),
        Decimal("119.99"),
    ]
    assert all(ln.discount == 0 for ln in data.lines)
    assert data.order_discount == Decimal("20.00")  # total_discounts with no allocation
    assert data.shipping == Decimal("10.00")
    assert [(p.method, p.amount) for p in data.payments] == [("card", Decimal("404.95"))]
    assert intake.cancelled

    # when it arrives as a webhook
    delivery = _delivery(post_webhook("shopify", "shop", body, "orders/create"))

    # then it is stored and ignored with the reason: nothing was captured
    assert delivery.state == "ignored"
    assert "voided" in delivery.note
    assert not Order.objects.filter(channel=shop_channel).exists()


def test_refunds_create_2026_shape_and_dead_letter_without_its_order(post_webhook, shop_channel):
    body = sample_part(REFUND_2026, "response")
    refund = shopify.refund_from_payload(parse_body(body))

    assert refund.external_id == "890088186047892400"
    assert refund.order_external_id == "820982911946154500"
    assert refund.amount == Decimal("85.00")  # 75.00 + 10.00, as the platform says
    assert [(r.line_external_id, r.quantity, r.subtotal, r.tax) for r in refund.lines] == [
        ("487817672276298560", 1, Decimal("89.99"), Decimal("0.00")),
        ("789012345678901200", 1, Decimal("19.99"), Decimal("0.00")),
        ("890123456789012400", 1, Decimal("24.99"), Decimal("0.00")),
        ("976318377106520300", 1, Decimal("159.99"), Decimal("0.00")),
        ("315789986012684400", 1, Decimal("119.99"), Decimal("0.00")),
    ]
    assert sum(r.subtotal for r in refund.lines) == Decimal("414.95")  # exact, not ...0005

    # its order was never booked (voided), so after the retries it is a dead letter
    delivery = _delivery(post_webhook("shopify", "shop", body, "refunds/create"))
    assert delivery.state == "dead"
    assert "820982911946154500 has not been received" in delivery.last_error
    assert delivery.attempts == 6  # first try + 5 retries


def test_returns_approve_topic_is_stored_and_ignored(post_webhook, shop_channel):
    body = sample_part(RETURN_2026, "response")

    delivery = _delivery(post_webhook("shopify", "shop", body, "returns/approve"))

    assert delivery.state == "ignored"
    assert "returns/approve" in delivery.note


# --- WooCommerce ------------------------------------------------------------------


def test_woocommerce_723_order_and_both_refunds(post_webhook, woo_channel, ops_api):
    # given order #723 from the docs list, then its two refunds
    order_body = sample_part(WOO_ORDERS, 1)

    # when the order arrives
    delivery = _delivery(post_webhook("woocommerce", "woo", order_body, "order.created"))

    # then it is one order with 2 lines, 2 units, shipping 10.00, total 39.00
    assert delivery.state == "processed", delivery.last_error
    found = ops_api.get("/api/v1/orders/?channel=woo&external_id=723").json()
    assert found["count"] == 1
    order = Order.objects.get(number=found["results"][0]["number"])
    detail = ops_api.get(f"/api/v1/orders/{order.number}/").json()
    assert [
        (ln["sku"], ln["quantity"], ln["unit_price"], ln["discount"]) for ln in detail["lines"]
    ] == [
        ("WC-87", 1, "9.00", "0.00"),
        ("WC-34", 1, "20.00", "0.00"),
    ]
    assert sum(len(ln["units"]) for ln in detail["lines"]) == 2
    assert detail["totals"]["shipping"] == "10.00"
    assert detail["totals"]["grand_total"] == "39.00"
    assert [(p["method"], p["amount"]) for p in detail["payments"]] == [("card", "39.00")]
    assert order.payments.get().gateway == "bacs"

    # when refunds 726 (amount only) and 724 (one line) arrive
    for i in (0, 1):
        refund = _delivery(
            post_webhook("woocommerce", "woo", sample_part(WOO_REFUNDS, i), "refund.created")
        )
        assert refund.state == "processed", refund.last_error

    # then line 311's unit is refunded 9.00 and the tender 19.00 in all
    unit_refund = PlatformRefundUnit.objects.select_related("unit__line").get()
    assert unit_refund.unit.line.external_id == "311"
    assert (unit_refund.subtotal, unit_refund.tax) == (Decimal("9.00"), Decimal("0.00"))
    amounts = dict(PlatformRefund.objects.values_list("external_id", "amount"))
    assert amounts == {"724": Decimal("9.00"), "726": Decimal("10.00")}
    assert order.payments.get().refunded_amount == Decimal("19.00")


def test_woocommerce_727_keeps_the_tax_woocommerce_charged_per_line(
    post_webhook, woo_channel, ops_api
):
    # given order #727: 2 x 3.00 at 7.5% where WooCommerce charged 0.45 for the
    # line (per-unit rounding would give 0.23 + 0.23), and 1 x 12.00 with 0.90
    body = sample_part(WOO_ORDERS, 0)

    delivery = _delivery(post_webhook("woocommerce", "woo", body, "order.created"))

    # then it is one order whose lines carry WooCommerce's tax to the cent
    assert delivery.state == "processed", delivery.last_error
    order = Order.objects.get(channel=woo_channel, external_id="727")
    detail = ops_api.get(f"/api/v1/orders/{order.number}/").json()
    assert [
        (ln["sku"], ln["quantity"], ln["unit_price"], ln["discount"], ln["tax_rate"])
        for ln in detail["lines"]
    ] == [
        ("WC-93", 2, "3.00", "0.00", "7.50"),
        ("Bar3", 1, "12.00", "0.00", "7.50"),
    ]
    units = [
        [(u["net_paid"], u["tax"], u["discount"]) for u in ln["units"]] for ln in detail["lines"]
    ]
    assert units == [
        [("3.23", "0.23", "0.00"), ("3.22", "0.22", "0.00")],
        [("12.90", "0.90", "0.00")],
    ]
    line_tax = [sum(Decimal(u["tax"]) for u in ln["units"]) for ln in detail["lines"]]
    assert line_tax == [Decimal("0.45"), Decimal("0.90")]  # the items' total_tax
    # and the totals are WooCommerce's: 18.00 + 1.35 tax + 10.00 shipping = 29.35
    assert detail["totals"] == {
        "items": "19.35",
        "line_discounts": "0.00",
        "order_discount": "0.00",
        "tax": "1.35",
        "shipping": "10.00",
        "grand_total": "29.35",
    }
    assert [(p["method"], p["amount"], p["captured"]) for p in detail["payments"]] == [
        ("card", "29.35", "29.35")
    ]
    assert order.payments.get().gateway == "bacs"
