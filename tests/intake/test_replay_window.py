"""Signed platform webhooks outside the replay window are refused; Shopify's
own retries (same body, same webhook id, up to hours later) are not."""

from datetime import timedelta

import pytest
from django.utils import timezone

from intake.models import WebhookDelivery

from .conftest import SECRET, WOO_SECRET, dumps, shopify_order, sign

pytestmark = pytest.mark.django_db

WINDOW = 48 * 3600


@pytest.fixture(autouse=True)
def _window(settings):
    settings.OMS_WEBHOOK_REPLAY_WINDOW = WINDOW


def _iso(at):
    return at.isoformat()


def _shopify(anon_api, body: bytes, *, webhook_id="w-1", triggered_at=None):
    headers = {
        "HTTP_X_SHOPIFY_TOPIC": "orders/create",
        "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id,
        "HTTP_X_SHOPIFY_HMAC_SHA256": sign(SECRET, body),
    }
    if triggered_at is not None:
        headers["HTTP_X_SHOPIFY_TRIGGERED_AT"] = triggered_at
    return anon_api.post(
        "/api/v1/webhooks/shopify/shop/", data=body, content_type="application/json", **headers
    )


def _order(updated_at):
    return dumps(
        shopify_order(
            "1001",
            [("11", "TEE-M", 1, "20.00", "0.00", "0.00", "0.00")],
            updated_at=_iso(updated_at),
        )
    )


def test_a_body_signed_three_days_ago_is_refused(anon_api, shop_channel):
    # given a genuine signed delivery captured three days ago
    body = _order(timezone.now() - timedelta(days=3))
    # when it is replayed with a fresh webhook id and a fresh Triggered-At
    r = _shopify(anon_api, body, webhook_id="forged-1", triggered_at=_iso(timezone.now()))
    # then it is refused, naming the signed field, and nothing is stored
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "outside_replay_window"
    assert r.json()["extra"]["field"] == "updated_at"
    assert r.json()["extra"]["window_seconds"] == WINDOW
    assert not WebhookDelivery.objects.exists()


def test_an_old_triggered_at_is_refused(anon_api, shop_channel):
    body = _order(timezone.now())
    r = _shopify(anon_api, body, triggered_at=_iso(timezone.now() - timedelta(days=3)))
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == "X-Shopify-Triggered-At"


def test_a_timestamp_far_in_the_future_is_refused(anon_api, shop_channel):
    r = _shopify(anon_api, _order(timezone.now() + timedelta(hours=2)))
    assert r.status_code == 400


def test_shopifys_own_retry_hours_later_is_accepted_once(anon_api, shop_channel):
    # given an order webhook triggered four hours ago, and Shopify retrying it
    # (same body, same webhook id, same Triggered-At)
    at = timezone.now() - timedelta(hours=4)
    body = _order(at)
    first = _shopify(anon_api, body, webhook_id="w-9", triggered_at=_iso(at))
    retry = _shopify(anon_api, body, webhook_id="w-9", triggered_at=_iso(at))
    # then both are acknowledged and it is stored once
    assert first.status_code == 202, first.content
    assert retry.status_code == 202
    assert retry.json()["duplicate"] is True
    assert WebhookDelivery.objects.count() == 1


def test_woocommerce_uses_the_signed_date_modified_gmt(anon_api, woo_channel):
    def post(modified, delivery):
        body = dumps({"id": 77, "date_modified_gmt": modified.strftime("%Y-%m-%dT%H:%M:%S")})
        return anon_api.post(
            "/api/v1/webhooks/woocommerce/woo/",
            data=body,
            content_type="application/json",
            HTTP_X_WC_WEBHOOK_TOPIC="order.updated",
            HTTP_X_WC_WEBHOOK_DELIVERY_ID=delivery,
            HTTP_X_WC_WEBHOOK_SIGNATURE=sign(WOO_SECRET, body),
        )

    old = post(timezone.now() - timedelta(days=5), "d-1")
    assert old.status_code == 400
    assert old.json()["extra"]["field"] == "date_modified_gmt"
    assert post(timezone.now() - timedelta(minutes=1), "d-2").status_code == 202


def test_a_bad_signature_is_still_401_before_any_window_check(anon_api, shop_channel):
    body = _order(timezone.now() - timedelta(days=3))
    r = anon_api.post(
        "/api/v1/webhooks/shopify/shop/",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC="orders/create",
        HTTP_X_SHOPIFY_HMAC_SHA256="bad",
    )
    assert r.status_code == 401


def test_zero_turns_the_window_off(anon_api, shop_channel, settings):
    settings.OMS_WEBHOOK_REPLAY_WINDOW = 0
    r = _shopify(anon_api, _order(timezone.now() - timedelta(days=300)))
    assert r.status_code == 202
