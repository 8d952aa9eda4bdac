"""Every platform sample through the signed webhook path.

SOURCES.md says which samples do not add up. Those are not booked with
invented numbers: the delivery ends as a dead letter (or is ignored) with a
reason that names the field, and their shape is checked through the adapter.
"""

from decimal import Decimal

import pytest

from intake.adapters import PayloadError, parse_body, shopify
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


def test_order_450789469_shape_keeps_shopify_allocation_and_ids():
    # given the REST docs order, parsed the way intake parses it
    payload = parse_body(sample(ORDER_450))

    # when the adapter reads it (the arithmetic check is what refuses it)
    with pytest.raises(PayloadError) as refused:
        shopify.order_from_payload(payload, channel="shop")

    # then it is refused because its tax lines (3.98) are not 6% of the line
    assert refused.value.code == "tax_mismatch"
    assert "466157049" in refused.value.message
    assert refused.value.extra == {
        "field": "line_items[0].tax",
        "platform_tax": "3.98",
        "computed_tax": "11.74",
    }


def test_order_450789469_webhook_is_a_dead_letter_naming_the_line(post_webhook, shop_channel):
    # given the unmodified REST docs order sent as orders/create
    response = post_webhook("shopify", "shop", sample(ORDER_450), "orders/create")

    # then it is acknowledged, then dead-lettered with the reason; no order exists
    delivery = _delivery(response)
    assert delivery.state == "dead"
    assert "tax_mismatch" in delivery.last_error
    assert "3.98" in delivery.last_error
    assert "11.74" in delivery.last_error
    assert not Order.objects.filter(external_id="450789469").exists()


@pytest.fixture
def order_450(ops_api, shop_channel, make_sku):
    """Order 450789469 built natively from the sample's lines, prices, line
    ids and Shopify's own discount allocations. The sample's tax lines cannot
    be reproduced (see above), so this order carries no tax: the test is about
    the platform's refunds, which are the sample's, unmodified."""
    for code in ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"):
        make_sku(code, Decimal("199.00"), stock=5)
    body = {
        "channel": "shop",
        "external_id": "450789469",
        "currency": "USD",
        "placed_at": "2008-01-10T11:00:00-05:00",
        "customer": {"email": "bob.norman@hostmail.com", "name": "Bob Norman"},
        "prices_include_tax": False,
        "lines": [
            {
                "sku": "IPOD2008GREEN",
                "quantity": 1,
                "unit_price": "199.00",
                "discount": "3.34",
                "external_id": "466157049",
            },
            {
                "sku": "IPOD2008RED",
                "quantity": 1,
                "unit_price": "199.00",
                "discount": "3.33",
                "external_id": "518995019",
            },
            {
                "sku": "IPOD2008BLACK",
                "quantity": 1,
                "unit_price": "199.00",
                "discount": "3.33",
                "external_id": "703073504",
            },
        ],
        "payments": [{"method": "card", "amount": "587.00", "gateway": "bogus"}],
    }
    response = ops_api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(external_id="450789469")


def test_order_450789469_refunds_are_reproduced_to_the_cent(post_webhook, order_450):
    # given the refund embedded in the REST order, and the MONEI refunds.json response
    embedded = sample_part(ORDER_450, "order", "refunds", 0)
    monei = sample(MONEI_REFUND)

    # when both arrive as refunds/create
    first = _delivery(post_webhook("shopify", "shop", embedded, "refunds/create"))
    second = _delivery(post_webhook("shopify", "shop", monei, "refunds/create"))

    # then each unit the refunds name carries exactly the platform's amounts
    assert (first.state, second.state) == ("processed", "processed")
    by_line = {
        ru.unit.line.external_id: (ru.subtotal, ru.tax, ru.refund_line.refund.external_id)
        for ru in PlatformRefundUnit.objects.select_related("unit__line", "refund_line__refund")
    }
    assert by_line == {
        "703073504": (Decimal("195.67"), Decimal("3.98"), "509562969"),
        "466157049": (Decimal("195.66"), Decimal("3.98"), "509562969"),
        "518995019": (Decimal("195.67"), Decimal("3.98"), "929361464"),
    }
    refunds = {r.external_id: r for r in PlatformRefund.objects.all()}
    assert refunds["509562969"].amount == Decimal("209.00")
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
    assert set(Unit.objects.filter(order=order_450).values_list("state", flat=True)) == {
        "allocated"
    }
    assert (
        TimelineEvent.objects.filter(order=order_450, type="refund.platform_recorded").count() == 2
    )


def test_refund_redelivered_under_a_new_id_is_recorded_once(post_webhook, order_450):
    # given a refund already reconciled
    monei = sample(MONEI_REFUND)
    post_webhook("shopify", "shop", monei, "refunds/create", delivery_id="a")

    # when Shopify sends it again as a different delivery
    again = _delivery(post_webhook("shopify", "shop", monei, "refunds/create", delivery_id="b"))

    # then nothing more is refunded
    assert again.state == "processed"
    assert "already recorded" in again.note
    assert order_450.payments.get().refunded_amount == Decimal("199.65")
    assert PlatformRefundUnit.objects.count() == 1


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


def test_woocommerce_727_tax_rounded_per_line_is_refused_naming_it(post_webhook, woo_channel):
    # given order #727: 2 x 3.00 at 7.5% where WooCommerce charged 0.45 for the line
    body = sample_part(WOO_ORDERS, 0)

    delivery = _delivery(post_webhook("woocommerce", "woo", body, "order.created"))

    # then the per-unit rule (0.23 + 0.23) cannot reproduce it: dead letter, named
    assert delivery.state == "dead"
    assert "line_items[0].tax" in delivery.last_error
    assert "0.45" in delivery.last_error
    assert "0.46" in delivery.last_error
    # and the second line alone would agree (0.90 at 7.5%)
    intake_lines = parse_body(body)["line_items"]
    assert intake_lines[1]["total_tax"] == "0.90"
