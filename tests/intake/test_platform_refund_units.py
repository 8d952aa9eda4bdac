"""Issue 12, leak 3: units a platform refund already refunded are marked
refunded and can never be returned for a refund here.

Shopify order 450789469 (the REST docs sample, unmodified) carries refund
509562969 of two units. Before the fix both units, once delivered, could be
returned and refunded again: the ledger then showed 408.65 refunded for 209.00
that Shopify gave back.
"""

from decimal import Decimal

import pytest

from orders.models import LedgerEntry, Order, Unit
from refunds.models import Refund

from .conftest import sample, sample_part

ORDER_450 = "shopify/order-450789469-rest-docs-discount-allocations-partial-refund.json"
WOO_ORDERS = "woocommerce/orders-list-v3-docs-example.json"
WOO_REFUNDS = "woocommerce/order-723-refunds-list-v3-docs-example.json"
REFUNDED_LINES = {"703073504", "466157049"}  # refund 509562969's refund_line_items

pytestmark = pytest.mark.django_db


def _ship_and_deliver(api, order):
    units = list(Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True))
    shipped = api.post(f"/api/v1/orders/{order.number}/shipments/", {"units": units}, format="json")
    assert shipped.status_code == 201, shipped.json()
    delivered = api.post(f"/api/v1/shipments/{shipped.json()['id']}/delivered/", {}, format="json")
    assert delivered.status_code == 200, delivered.json()


@pytest.fixture
def order_450_delivered(post_webhook, shop_channel, make_sku, ops_api):
    # stock, so the units are allocated and can ship
    for sku in ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"):
        make_sku(sku, Decimal("199.00"), stock=5)
    response = post_webhook("shopify", "shop", sample(ORDER_450), "orders/create")
    assert response.status_code == 202, response.content
    order = Order.objects.get(channel=shop_channel, external_id="450789469")
    _ship_and_deliver(ops_api, order)
    return order


def _unit_of(order, line_external_id):
    return Unit.objects.get(order=order, line__external_id=line_external_id)


def test_leak_a_unit_shopify_refunded_is_not_refunded_again(
    order_450_delivered, storefront_api, warehouse_api, finance_api
):
    """The leak as a finance user found it: through the API only."""
    order = order_450_delivered
    unit = _unit_of(order, "703073504")  # in Shopify's refund 509562969
    # when the customer returns it for a refund
    response = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    )
    # then it is refused with the reason (before: 201, and once QC passed the
    # ledger showed 408.65 refunded for Shopify's 209.00)
    assert response.status_code == 400, response.json()
    assert "already refunded on shopify (refund 509562969)" in response.json()["message"]
    ledger = finance_api.get(f"/api/v1/orders/{order.number}/ledger/").json()
    assert ledger["refunded"] == "209.00"


def test_platform_refunded_units_are_marked_and_not_returnable(
    order_450_delivered, storefront_api, finance_api
):
    order = order_450_delivered
    # then the two units Shopify refunded are marked refunded, the third is not
    detail = storefront_api.get(f"/api/v1/orders/{order.number}/").json()
    marked = {ln["id"]: [u["refunded_on_platform"] for u in ln["units"]] for ln in detail["lines"]}
    by_ext = {u.line_id: u.line.external_id for u in Unit.objects.filter(order=order)}
    assert {by_ext[line]: flags for line, flags in marked.items()} == {
        "703073504": [True],
        "466157049": [True],
        "518995019": [False],
    }
    # and the returnable view names the reason
    returnable = storefront_api.get(f"/api/v1/orders/{order.number}/returnable/").json()
    reasons = {by_ext[e["line"]]: (e["returnable_quantity"], e["reasons"]) for e in returnable}
    assert reasons["518995019"] == (1, [])
    for line_id in REFUNDED_LINES:
        quantity, why = reasons[line_id]
        assert quantity == 0
        assert "already refunded on shopify (refund 509562969)" in why[0]

    # when the customer tries to return a refunded unit, by unit and by line
    for item in (
        {"unit": _unit_of(order, "703073504").pk},
        {"line": _unit_of(order, "466157049").line_id, "quantity": 1},
    ):
        response = storefront_api.post(
            "/api/v1/returns/",
            {
                "order": order.number,
                "items": [{**item, "reason": "changed_mind", "resolution": "refund"}],
            },
            format="json",
        )
        # then it is refused with the reason, and nothing is written
        assert response.status_code == 400, response.json()
        body = response.json()
        assert body["code"] == "refunded_on_platform"
        assert "already refunded on shopify (refund 509562969)" in body["message"]

    # and the quote says the same
    quote = storefront_api.post(
        "/api/v1/returns/quote/",
        {
            "order": order.number,
            "items": [
                {
                    "unit": _unit_of(order, "703073504").pk,
                    "reason": "changed_mind",
                    "resolution": "refund",
                }
            ],
        },
        format="json",
    )
    assert quote.status_code == 400
    assert quote.json()["code"] == "refunded_on_platform"
    assert not Refund.objects.filter(order=order).exists()
    # and the ledger records Shopify's refund once: 209.00, not 408.65
    ledger = finance_api.get(f"/api/v1/orders/{order.number}/ledger/").json()
    assert ledger["refunded"] == "209.00"
    assert ledger["balanced"] is True


def test_the_unit_shopify_did_not_refund_is_still_returned_normally(
    order_450_delivered, storefront_api
):
    unit = _unit_of(order_450_delivered, "518995019")
    response = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order_450_delivered.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_a_repeated_refund_webhook_changes_nothing_twice(
    post_webhook, order_450_delivered, finance_api
):
    order = order_450_delivered
    embedded = sample_part(ORDER_450, "order", "refunds", 0)
    marked_before = dict(Unit.objects.filter(order=order).values_list("pk", "platform_refunded_at"))

    # when Shopify sends refund 509562969 again as refunds/create, twice
    for delivery_id in ("again-1", "again-2"):
        response = post_webhook(
            "shopify", "shop", embedded, "refunds/create", delivery_id=delivery_id
        )
        assert response.status_code == 202

    # then the ledger still has it once, and no unit changed
    refunds = LedgerEntry.objects.filter(order=order, kind="refund")
    assert [e.amount for e in refunds] == [Decimal("209.00")]
    assert (
        dict(Unit.objects.filter(order=order).values_list("pk", "platform_refunded_at"))
        == marked_before
    )
    assert finance_api.get(f"/api/v1/orders/{order.number}/ledger/").json()["refunded"] == (
        "209.00"
    )


def test_woocommerce_refund_line_marks_its_unit(post_webhook, woo_channel, make_sku, ops_api):
    # given WooCommerce order #723, delivered, then its refunds 726 (amount) and 724 (line 311)
    make_sku("WC-87", Decimal("9.00"), stock=5)
    make_sku("WC-34", Decimal("20.00"), stock=5)
    assert (
        post_webhook("woocommerce", "woo", sample_part(WOO_ORDERS, 1), "order.created").status_code
        == 202
    )
    order = Order.objects.get(channel=woo_channel, external_id="723")
    _ship_and_deliver(ops_api, order)
    for i in (0, 1):
        post_webhook("woocommerce", "woo", sample_part(WOO_REFUNDS, i), "refund.created")

    # then line 311's unit is marked refunded and not returnable
    unit = Unit.objects.get(order=order, line__external_id="311")
    response = ops_api.get(f"/api/v1/orders/{order.number}/returnable/")
    assert unit.platform_refund_ref == "woocommerce:refund:724"
    line = next(e for e in response.json() if e["line"] == unit.line_id)
    assert line["returnable_quantity"] == 0
    assert "already refunded on woocommerce (refund 724)" in line["reasons"][0]
