"""The admin and the channel API never show payout details in full, nor a
channel's webhook secrets."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from flows.return_intake import return_create
from orders.models import Channel
from returns.models import Return
from returns.services import ItemRequest, ReturnRequest

pytestmark = pytest.mark.django_db

ACCOUNT = "123456789012"
UPI = "nayana.k@okbank"
INBOUND = "in-secret-9f8e7d6c5b4a"
OUTBOUND = "out-secret-1a2b3c4d5e6f"


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("sec-admin", "sec@example.com", "pw-12345!")
    client.force_login(user)
    return client


def _has_outbound_secret() -> bool:
    return any(f.name == "outbound_secret" for f in Channel._meta.fields)


def test_return_admin_masks_bank_account_and_upi(superuser_client, victim_order, actor):
    unit = victim_order.units.order_by("pk").first()
    ret = return_create(
        ReturnRequest(
            order=victim_order.number,
            items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )
    details = {"account_name": "Nayana K", "account_number": ACCOUNT, "ifsc": "HDFC0001234"}
    Return.objects.filter(pk=ret.pk).update(payout_details={**details, "upi_id": UPI})
    # when
    r = superuser_client.get(reverse("admin:returns_return_change", args=[ret.pk]))
    # then
    body = r.content.decode()
    assert r.status_code == 200
    assert ACCOUNT not in body
    assert UPI not in body
    assert "••••••9012" in body
    assert "na••••@okbank" in body


def test_payout_mask():
    from returns.admin import payout_mask

    assert payout_mask({}) == "-"
    assert payout_mask({"upi_id": UPI}) == "UPI na••••@okbank"
    assert ACCOUNT not in payout_mask({"account_number": ACCOUNT, "ifsc": "HDFC0001234"})


def test_channel_admin_never_renders_the_secrets(superuser_client, channel):
    secrets = {"webhook_secret": INBOUND}
    if _has_outbound_secret():
        secrets["outbound_secret"] = OUTBOUND
    Channel.objects.filter(pk=channel.pk).update(**secrets)
    pages = [
        reverse("admin:orders_channel_change", args=[channel.pk]),
        reverse("admin:orders_channel_changelist"),
        reverse("admin:orders_channel_history", args=[channel.pk]),
    ]
    for page in pages:
        r = superuser_client.get(page)
        assert r.status_code == 200, page
        body = r.content.decode()
        for secret in secrets.values():
            assert secret not in body, page


def test_channel_api_never_echoes_the_secrets(ops_api):
    payload = {"name": "Shop", "platform": "shopify", "webhook_secret": INBOUND}
    if _has_outbound_secret():
        payload["outbound_secret"] = OUTBOUND
    for expected in (201, 200):
        r = ops_api.put("/api/v1/channels/sec-shop/", payload, format="json")
        assert r.status_code == expected, r.content
        body = r.content.decode()
        assert INBOUND not in body
        assert OUTBOUND not in body
        assert "webhook_secret" not in r.json()
        assert "outbound_secret" not in r.json()
    channel = Channel.objects.get(code="sec-shop")
    assert channel.webhook_secret == INBOUND
