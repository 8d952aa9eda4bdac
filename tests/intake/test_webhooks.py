"""Webhook behaviour: signatures, idempotency, ordering, dead letters, health."""

from decimal import Decimal

import pytest

from intake.models import WebhookDelivery
from inventory.models import SKU
from orders.models import Order, TimelineEvent, Unit

from .conftest import SECRET, dumps, sample_part, shopify_order

WOO_ORDERS = "woocommerce/orders-list-v3-docs-example.json"

pytestmark = pytest.mark.django_db


def _order(order_id="1001"):
    return shopify_order(
        order_id,
        [
            ("11", "TEE-M", 3, "20.00", "0.04", "3.60", "0.06"),
            ("12", "CAP-1", 1, "15.00", "0.00", "0.90", "0.06"),
        ],
        shipping="5.00",
    )


# --- signatures ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [({"secret": "wrong-secret"}, "wrong secret"), ({"signature": False}, "no signature")],
)
def test_bad_or_missing_signature_is_401_and_nothing_is_stored(
    post_webhook, shop_channel, kwargs, why
):
    response = post_webhook("shopify", "shop", dumps(_order()), "orders/create", **kwargs)

    assert response.status_code == 401, why
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookDelivery.objects.exists()
    assert not Order.objects.exists()


def test_body_changed_after_signing_is_401(post_webhook, shop_channel):
    from .conftest import sign

    body = dumps(_order())
    response = post_webhook(
        "shopify", "shop", body + b" ", "orders/create", signature=sign(SECRET, body)
    )

    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_unknown_channel_or_wrong_platform_is_404(post_webhook, shop_channel):
    assert post_webhook("shopify", "nope", b"{}", "orders/create").status_code == 404
    assert post_webhook("woocommerce", "shop", b"{}", "order.created").status_code == 404


# --- Shopify order creation ---------------------------------------------------------


def test_shopify_order_keeps_line_allocations_and_splits_units(post_webhook, shop_channel):
    # given a paid order: 3 tees with 0.04 allocated by Shopify, a cap, 5.00 shipping
    response = post_webhook("shopify", "shop", dumps(_order()), "orders/create")

    # then it is accepted fast and processed into one order
    assert response.status_code == 202
    assert response.json()["duplicate"] is False
    order = Order.objects.get(channel=shop_channel, external_id="1001")
    tee, cap = order.lines.order_by("position")
    assert (cap.quantity, cap.discount) == (1, Decimal("0.00"))
    assert (tee.quantity, tee.discount, tee.external_id) == (3, Decimal("0.04"), "11")
    # the line discount is split over units by largest remainder (DOMAIN.md)
    assert sorted(u.discount_amount for u in tee.units.all()) == [
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.02"),
    ]
    assert order.tax_total == Decimal("4.50")
    assert order.grand_total == Decimal("84.46")  # 59.96 + 3.60 + 15.00 + 0.90 + 5.00
    payment = order.payments.get()
    assert (payment.method, payment.amount, payment.gateway) == (
        "card",
        Decimal("84.46"),
        "shopify_payments",
    )
    # unknown SKUs were created as unlisted catalogue entries (channel setting)
    assert set(SKU.objects.filter(unlisted=True).values_list("code", flat=True)) == {
        "TEE-M",
        "CAP-1",
    }


def test_cash_on_delivery_pending_is_booked_as_cod(post_webhook, shop_channel):
    payload = _order("2002")
    payload["financial_status"] = "pending"
    payload["payment_gateway_names"] = ["Cash on Delivery (COD)"]

    post_webhook("shopify", "shop", dumps(payload), "orders/create")

    payment = Order.objects.get(external_id="2002").payments.get()
    assert (payment.method, payment.state, payment.captured_amount) == (
        "cod",
        "pending",
        Decimal("0"),
    )


# --- idempotency and ordering ------------------------------------------------------------


def test_duplicate_delivery_is_acknowledged_and_not_stored_twice(post_webhook, shop_channel):
    body = dumps(_order())

    first = post_webhook("shopify", "shop", body, "orders/create", delivery_id="dup-1")
    second = post_webhook("shopify", "shop", body, "orders/create", delivery_id="dup-1")

    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    assert WebhookDelivery.objects.count() == 1
    assert Order.objects.count() == 1


def test_same_order_in_two_deliveries_is_one_order(post_webhook, shop_channel):
    body = dumps(_order())

    post_webhook("shopify", "shop", body, "orders/create", delivery_id="x-1")
    again = post_webhook("shopify", "shop", body, "orders/create", delivery_id="x-2")

    assert Order.objects.count() == 1
    assert "already existed" in WebhookDelivery.objects.get(pk=again.json()["id"]).note


def test_update_before_create_creates_once_and_the_late_create_is_a_no_op(
    post_webhook, woo_channel
):
    # given WooCommerce order #723 whose "updated" arrives before its "created"
    body = sample_part(WOO_ORDERS, 1)

    updated = post_webhook("woocommerce", "woo", body, "order.updated")
    created = post_webhook("woocommerce", "woo", body, "order.created")

    # then there is one order, created from the update
    assert Order.objects.filter(channel=woo_channel, external_id="723").count() == 1
    first = WebhookDelivery.objects.get(pk=updated.json()["id"])
    late = WebhookDelivery.objects.get(pk=created.json()["id"])
    assert first.note.startswith("created order")
    assert late.state == "processed"
    assert "already existed" in late.note
    assert Unit.objects.filter(order__external_id="723").count() == 2


def test_update_cancels_unshipped_units_and_changes_contact(post_webhook, shop_channel):
    post_webhook("shopify", "shop", dumps(_order()), "orders/create")
    order = Order.objects.get(external_id="1001")
    update = _order()
    update.update(
        cancelled_at="2026-01-11T10:00:00-05:00",
        email="new@example.com",
        updated_at="2026-01-11T10:00:00-05:00",
    )

    post_webhook("shopify", "shop", dumps(update), "orders/updated")

    assert set(Unit.objects.filter(order=order).values_list("state", flat=True)) == {"cancelled"}
    order.refresh_from_db()
    assert order.email == "new@example.com"
    types = set(TimelineEvent.objects.filter(order=order).values_list("type", flat=True))
    assert {"order.platform_cancelled", "order.platform_updated"} <= types


def test_stale_update_does_not_undo_a_newer_contact_change(post_webhook, shop_channel):
    newer = _order()
    newer.update(email="newer@example.com", updated_at="2026-01-12T10:00:00-05:00")
    older = _order()
    older.update(email="older@example.com", updated_at="2026-01-11T10:00:00-05:00")

    post_webhook("shopify", "shop", dumps(newer), "orders/updated")
    post_webhook("shopify", "shop", dumps(older), "orders/updated")

    assert Order.objects.get(external_id="1001").email == "newer@example.com"


# --- dead letters ----------------------------------------------------------------------


def test_malformed_payload_is_a_dead_letter_listed_for_ops(post_webhook, shop_channel, ops_api):
    response = post_webhook("shopify", "shop", b'{"id": 5, "line_items": [', "orders/create")

    assert response.status_code == 202
    listed = ops_api.get("/api/v1/dead-letters/").json()
    assert listed["count"] == 1
    letter = listed["results"][0]
    assert letter["last_error"].startswith("malformed_json: body: not valid JSON")
    assert letter["body"] == '{"id": 5, "line_items": ['
    assert letter["topic"] == "orders/create"


def test_dead_letter_replayed_after_the_fix_creates_the_order(
    post_webhook, ops_api, woo_channel, django_capture_on_commit_callbacks
):
    # given a channel that rejects unknown SKUs, and an order with unknown SKUs
    ops_api.put(
        "/api/v1/channels/woo/",
        {"name": "Woo", "platform": "woocommerce", "unknown_sku": "reject"},
        format="json",
    )
    response = post_webhook("woocommerce", "woo", sample_part(WOO_ORDERS, 1), "order.created")
    delivery = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert delivery.state == "dead"
    assert "unknown_sku" in delivery.last_error
    assert "WC-87" in delivery.last_error

    # when ops allow unknown SKUs and replay the dead letter
    ops_api.put(
        "/api/v1/channels/woo/",
        {"name": "Woo", "platform": "woocommerce", "unknown_sku": "create"},
        format="json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        replay = ops_api.post(f"/api/v1/dead-letters/{delivery.pk}/replay/")

    # then it is processed and the order exists
    assert replay.status_code == 202
    delivery.refresh_from_db()
    assert delivery.state == "processed"
    assert delivery.attempts == 2
    assert Order.objects.filter(channel=woo_channel, external_id="723").exists()
    assert ops_api.get("/api/v1/dead-letters/").json()["count"] == 0


def test_replay_of_a_delivery_that_is_not_dead_is_409(post_webhook, shop_channel, ops_api):
    response = post_webhook("shopify", "shop", dumps(_order()), "orders/create")

    replay = ops_api.post(f"/api/v1/dead-letters/{response.json()['id']}/replay/")

    assert replay.status_code == 409


def test_dead_letters_are_for_ops_only(storefront_api, anon_api):
    assert storefront_api.get("/api/v1/dead-letters/").status_code == 403
    assert anon_api.get("/api/v1/dead-letters/").status_code == 401


# --- channel settings --------------------------------------------------------------------


def test_channel_put_creates_then_updates_and_never_echoes_the_secret(ops_api):
    body = {
        "name": "Shop",
        "platform": "shopify",
        "webhook_secret": "s3cret",
        "unknown_sku": "create",
    }

    created = ops_api.put("/api/v1/channels/shop-in/", body, format="json")
    updated = ops_api.put(
        "/api/v1/channels/shop-in/",
        {"name": "Shop India", "platform": "shopify", "unknown_sku": "reject"},
        format="json",
    )

    assert created.status_code == 201
    assert "webhook_secret" not in created.json()
    assert created.json()["webhook_secret_set"] is True
    assert updated.status_code == 200
    assert updated.json() == {
        "code": "shop-in",
        "name": "Shop India",
        "platform": "shopify",
        "unknown_sku": "reject",
        "webhook_secret_set": True,
        "outbound_url": "",
        "outbound_events": [],
        "outbound_secret_set": False,
        "courier": "manual",  # no Shiprocket configured in the tests
    }


def test_channel_put_needs_ops_and_a_secret_for_storefronts(storefront_api, ops_api):
    body = {"name": "Shop", "platform": "shopify", "unknown_sku": "create"}

    assert storefront_api.put("/api/v1/channels/x/", body, format="json").status_code == 403
    missing = ops_api.put("/api/v1/channels/x/", body, format="json")
    assert missing.status_code == 400
    assert "webhook_secret" in missing.json()["message"]


# --- health -------------------------------------------------------------------------------


def test_healthz_reports_database_broker_and_dead_letters(client, post_webhook, shop_channel):
    post_webhook("shopify", "shop", b"not json", "orders/create")

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "dead_letters": 1}
