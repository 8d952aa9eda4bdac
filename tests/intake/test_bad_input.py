"""Channel intake under bad input: an over-long webhook id, an order with too
many units, JSON nested too deep, an oversized body."""

import pytest

from intake.models import WebhookDelivery
from orders.models import Order

from .conftest import dumps, shopify_order

pytestmark = pytest.mark.django_db


def test_a_webhook_id_longer_than_its_column_is_recognised_on_redelivery(
    post_webhook, shop_channel
):
    # given a Shopify delivery whose id is longer than the 150-character column
    long_id = "x" * 151 + "-delivery"
    body = dumps(shopify_order("2001", [("21", "TEE-M", 1, "20.00", "0.00", "0.00", "0")]))
    first = post_webhook("shopify", "shop", body, "orders/create", delivery_id=long_id)

    # when the platform delivers it again
    second = post_webhook("shopify", "shop", body, "orders/create", delivery_id=long_id)

    # then both are acknowledged, the second as a duplicate, and stored once
    assert first.status_code == 202, first.content
    assert second.status_code == 202, second.content
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    assert WebhookDelivery.objects.count() == 1
    assert Order.objects.count() == 1


def test_two_long_ids_sharing_a_prefix_are_two_deliveries(post_webhook, shop_channel):
    prefix = "y" * 160
    one = dumps(shopify_order("2002", [("22", "TEE-M", 1, "20.00", "0.00", "0.00", "0")]))
    two = dumps(shopify_order("2003", [("23", "TEE-M", 1, "20.00", "0.00", "0.00", "0")]))
    a = post_webhook("shopify", "shop", one, "orders/create", delivery_id=prefix + "-a")
    b = post_webhook("shopify", "shop", two, "orders/create", delivery_id=prefix + "-b")

    assert a.json()["duplicate"] is False
    assert b.json()["duplicate"] is False
    assert WebhookDelivery.objects.count() == 2


def test_a_channel_order_above_the_unit_limit_is_a_dead_letter(
    post_webhook, shop_channel, settings
):
    # given a limit of 10 units per order and a Shopify order for 11
    settings.OMS_MAX_UNITS_PER_ORDER = 10
    body = dumps(shopify_order("2004", [("24", "TEE-M", 11, "20.00", "0.00", "0.00", "0")]))

    # when it is delivered
    response = post_webhook("shopify", "shop", body, "orders/create")

    # then it is stored, refused naming the limit, and no order is booked
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "dead"
    assert "at most 10" in delivery.last_error
    assert not Order.objects.exists()


def test_a_channel_order_of_a_trillion_units_is_refused_quickly(post_webhook, shop_channel):
    body = dumps(
        shopify_order("2005", [("25", "TEE-M", 1099511627776, "0.00", "0.00", "0.00", "0")])
    )

    response = post_webhook("shopify", "shop", body, "orders/create")

    assert response.status_code == 202
    assert WebhookDelivery.objects.get().state == "dead"
    assert not Order.objects.exists()


def test_a_webhook_body_nested_100000_deep_is_a_dead_letter(post_webhook, shop_channel):
    body = b"[" * 100_000 + b"]" * 100_000

    response = post_webhook("shopify", "shop", body, "orders/create")

    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "dead"
    assert "nested too deep" in delivery.last_error


def test_a_webhook_body_over_the_limit_is_413_json(post_webhook, shop_channel, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = dumps(shopify_order("2006", [("26", "TEE-M", 1, "20.00", "0.00", "0.00", "0")]))
    body = body[:-1] + b', "pad": "' + b"p" * 2000 + b'"}'

    response = post_webhook("shopify", "shop", body, "orders/create")

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert set(response.json()) == {"code", "message", "extra"}
    assert not WebhookDelivery.objects.exists()
