"""In production mode webhooks go only to public addresses: checked when the
URL is saved and again at every delivery (DNS may have changed since)."""

from __future__ import annotations

import socket

import pytest

from orders import webhooks
from orders.messaging import webhook_enqueue
from orders.models import Channel
from orders.webhooks import Outcome, target_refusal, webhook_deliver

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels/shop-out/"
PUBLIC = "93.184.215.14"


@pytest.fixture
def guarded(settings):
    settings.OMS_ALLOW_PRIVATE_WEBHOOK_TARGETS = False


def _resolving(mapping: dict[str, list[str]]):
    """A getaddrinfo that answers ``mapping`` (host -> successive answers)."""
    real = socket.getaddrinfo
    calls: dict[str, int] = {}

    def fake(host, port, *args, **kwargs):
        if host not in mapping:
            return real(host, port, *args, **kwargs)
        answers = mapping[host]
        n = calls.get(host, 0)
        calls[host] = n + 1
        address = answers[min(n, len(answers) - 1)]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 80))]

    return fake


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://10.0.0.5/hooks",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_a_private_target_is_refused_at_save_time(guarded, ops_api, url):
    r = ops_api.put(
        URL,
        {"name": "Shop", "platform": "native", "outbound_url": url, "outbound_secret": "s"},
        format="json",
    )
    assert r.status_code == 400, r.json()
    assert r.json()["code"] == "outbound_url_forbidden"
    assert r.json()["extra"]["field"] == "outbound_url"
    assert not Channel.objects.filter(code="shop-out", outbound_url=url).exists()


def test_a_name_resolving_inward_is_refused(guarded, ops_api, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"shop.example.com": ["10.1.2.3"]}))
    r = ops_api.put(
        URL,
        {
            "name": "Shop",
            "platform": "native",
            "outbound_url": "https://shop.example.com/hooks",
            "outbound_secret": "s",
        },
        format="json",
    )
    assert r.status_code == 400
    assert "10.1.2.3" in r.json()["message"]


def test_a_public_target_is_accepted(guarded, ops_api, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"shop.example.com": [PUBLIC]}))
    r = ops_api.put(
        URL,
        {
            "name": "Shop",
            "platform": "native",
            "outbound_url": "https://shop.example.com/hooks",
            "outbound_secret": "s",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()


def test_outside_production_a_local_storefront_is_allowed(settings):
    settings.OMS_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    assert target_refusal("http://127.0.0.1:9000/hooks") == ""
    assert target_refusal("ftp://127.0.0.1/") != ""


def test_the_admin_form_refuses_a_private_target(guarded):
    from orders.admin import ChannelForm

    form = ChannelForm(
        data={
            "code": "adm",
            "name": "Adm",
            "platform": "native",
            "unknown_sku": "reject",
            "outbound_url": "http://169.254.169.254/",
            "outbound_secret": "s",
        }
    )
    assert not form.is_valid()
    assert "outbound_url" in form.errors


@pytest.fixture
def rebinding_hook(channel, make_order, storefront, monkeypatch, settings):
    """A channel saved while rebind.example resolved to a public address; the
    storefront is really on 127.0.0.1."""
    port = storefront.url.split(":")[2].split("/")[0]
    channel.outbound_url = f"http://rebind.example:{port}/hooks/oms"
    channel.outbound_secret = "s"
    channel.save()
    order = make_order([("TEE-M", 1)])
    return webhook_enqueue(order=order, type="order.delivered", data={"units": []})


def test_delivery_rechecks_the_host(guarded, rebinding_hook, storefront, monkeypatch):
    # given the name now resolves to a loopback address
    monkeypatch.setattr(socket, "getaddrinfo", _resolving({"rebind.example": ["127.0.0.1"]}))
    # when the webhook is delivered
    result = webhook_deliver(message_id=rebinding_hook.pk)
    # then nothing is sent and the message fails for good, saying why
    rebinding_hook.refresh_from_db()
    assert result.outcome == Outcome.FAILED
    assert "not a public address" in rebinding_hook.last_error
    assert storefront.requests == []


def test_delivery_checks_the_address_it_connects_to(
    guarded, rebinding_hook, storefront, monkeypatch
):
    # given a name that answers a public address to the check, then a loopback
    # one to the connection (DNS rebinding)
    monkeypatch.setattr(
        socket, "getaddrinfo", _resolving({"rebind.example": [PUBLIC, "127.0.0.1"]})
    )
    # when the webhook is delivered
    webhook_deliver(message_id=rebinding_hook.pk)
    # then the connection is dropped before a request is sent
    rebinding_hook.refresh_from_db()
    assert storefront.requests == []
    assert "not a public address" in rebinding_hook.last_error


def test_without_the_guard_delivery_reaches_a_local_storefront(
    hooked_channel, storefront, make_order, settings
):
    settings.OMS_ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    order = make_order([("TEE-M", 1)])
    hook = webhook_enqueue(order=order, type="order.delivered", data={"units": []})
    assert webhook_deliver(message_id=hook.pk).outcome == Outcome.SENT
    assert len(storefront.requests) == 1


def test_address_forbidden_table():
    assert webhooks.address_forbidden("169.254.169.254")
    assert webhooks.address_forbidden("::ffff:10.0.0.1")
    assert webhooks.address_forbidden("224.0.0.1")
    assert not webhooks.address_forbidden(PUBLIC)
    assert not webhooks.address_forbidden("2606:4700:4700::1111")
