"""Adapter parsing rules, without the database."""

from decimal import Decimal

import pytest

from intake.adapters import PayloadError, ident, money, parse_body, shopify, woocommerce


def test_json_numbers_become_decimal_and_ids_keep_every_digit():
    # given money as a JSON number and an id past float precision
    parsed = parse_body(b'{"subtotal": 195.67, "id": 820982911946154508, "tax": 0}')

    # then nothing went through a float
    assert parsed["subtotal"] == Decimal("195.67")
    assert isinstance(parsed["subtotal"], Decimal)
    assert ident(parsed["id"]) == "820982911946154508"
    assert money(parsed["tax"], "tax") == Decimal("0")


@pytest.mark.parametrize("value", [0.1, True, "abc", None, "NaN"])
def test_money_refuses_floats_and_junk(value):
    with pytest.raises(PayloadError):
        money(value, "amount")


def test_nan_constant_is_malformed():
    with pytest.raises(PayloadError) as refused:
        parse_body(b'{"total": NaN}')
    assert refused.value.code == "malformed_json"


def test_fractional_quantity_is_refused_naming_the_line():
    order = {
        "id": 1,
        "currency": "USD",
        "status": "processing",
        "date_created_gmt": "2026-01-01T00:00:00",
        "total": "15.00",
        "line_items": [
            {"id": 9, "sku": "A", "quantity": Decimal("1.5"), "subtotal": "15.00", "total": "15.00"}
        ],
    }

    with pytest.raises(PayloadError) as refused:
        woocommerce.order_from_payload(order, channel="woo")

    assert refused.value.field == "line_items[0].quantity"


def test_woocommerce_fee_lines_fold_into_shipping_and_coupons_stay_on_lines():
    order = {
        "id": 2,
        "currency": "USD",
        "status": "processing",
        "prices_include_tax": False,
        "date_created_gmt": "2026-01-01T00:00:00",
        "total": "47.50",
        "payment_method": "cod",
        "line_items": [
            {"id": 1, "sku": "A", "quantity": 2, "subtotal": "50.00", "total": "30.00"},
        ],
        "shipping_lines": [{"total": "10.00", "total_tax": "0.00"}],
        "fee_lines": [{"name": "Gift wrap", "total": "7.50", "total_tax": "0.00"}],
        "coupon_lines": [{"code": "30off", "discount": "20.00"}],
    }

    intake = woocommerce.order_from_payload(order, channel="woo")

    line = intake.data.lines[0]
    assert (line.unit_price, line.discount, line.quantity) == (
        Decimal("25.00"),
        Decimal("20.00"),
        2,
    )
    assert intake.data.shipping == Decimal("17.50")
    assert intake.data.order_discount == 0
    assert [(p.method, p.amount) for p in intake.data.payments] == [("cod", Decimal("47.50"))]


def _shopify(lines, *, total, taxes_included=False):
    """A Shopify order as intake parses the webhook body."""
    from .conftest import dumps, shopify_order

    payload = shopify_order("3003", lines, taxes_included=taxes_included)
    payload["total_price"] = total
    return parse_body(dumps(payload))


def test_shopify_line_tax_is_the_platforms_split_over_units():
    # given 3 x 10.00 where Shopify charged 1.00 tax on the line (not 3 x 0.33)
    payload = _shopify([("31", "MUG", 3, "10.00", "0.00", "1.00", "0.0333")], total="31.00")

    # when the adapter reads it
    intake = shopify.order_from_payload(payload, channel="shop")

    # then the line carries the platform's tax, for the order model to split
    assert [(ln.external_id, ln.tax) for ln in intake.data.lines] == [("31", Decimal("1.00"))]


def test_shopify_total_that_does_not_add_up_is_refused_naming_both_figures():
    payload = _shopify([("31", "MUG", 3, "10.00", "0.00", "1.00", "0.0333")], total="31.01")

    with pytest.raises(PayloadError) as refused:
        shopify.order_from_payload(payload, channel="shop")

    assert refused.value.code == "total_mismatch"
    assert refused.value.extra == {
        "field": "total",
        "platform_total": "31.01",
        "computed_total": "31.00",
    }


def test_tax_included_line_tax_above_the_line_value_is_refused_naming_the_line():
    # given prices including tax, and a tax line larger than what the line cost
    payload = _shopify(
        [("31", "MUG", 1, "10.00", "1.00", "9.01", "0.06")], total="9.00", taxes_included=True
    )

    with pytest.raises(PayloadError) as refused:
        shopify.order_from_payload(payload, channel="shop")

    assert refused.value.field == "line_items[0].tax"
