"""Per-channel outbound settings through the API and the admin: secrets are
write-only, only http(s) URLs, a URL needs a secret."""

from __future__ import annotations

import pytest

from orders.models import Channel, OutboundMessage

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels/shop-out/"


def _body(**outbound):
    return {"name": "Shop", "platform": "native", **outbound}


def test_put_sets_the_outbound_webhook_and_never_echoes_the_secret(ops_api):
    # when ops configure a channel's outbound webhook
    r = ops_api.put(
        URL,
        _body(
            outbound_url="https://shop.example.com/hooks",
            outbound_secret="s3cret",
            outbound_events=["refund.issued", "return.created"],
        ),
        format="json",
    )
    # then it is stored, the secret is not echoed back, events keep a stable order
    assert r.status_code == 201, r.json()
    assert "s3cret" not in r.content.decode()
    assert "outbound_secret" not in r.json()
    channel = Channel.objects.get(code="shop-out")
    assert channel.outbound_url == "https://shop.example.com/hooks"
    assert channel.outbound_secret == "s3cret"
    assert channel.outbound_events == ["return.created", "refund.issued"]
    # when it is PUT again without the secret, the stored one is kept
    r = ops_api.put(URL, _body(outbound_events=[]), format="json")
    assert r.status_code == 200, r.json()
    channel.refresh_from_db()
    assert (channel.outbound_secret, channel.outbound_events) == ("s3cret", [])
    assert channel.outbound_url == "https://shop.example.com/hooks"


@pytest.mark.parametrize(
    ("outbound", "field"),
    [
        ({"outbound_url": "ftp://shop.example.com/x", "outbound_secret": "s"}, "outbound_url"),
        ({"outbound_url": "https://shop.example.com/x"}, "outbound_secret"),
        ({"outbound_events": ["order.exploded"]}, "outbound_events"),
    ],
)
def test_put_refuses_bad_outbound_settings(ops_api, outbound, field):
    r = ops_api.put(URL, _body(**outbound), format="json")
    assert r.status_code == 400
    assert field in str(r.json())
    assert not Channel.objects.filter(code="shop-out").exists()


def test_admin_form_keeps_the_outbound_secret_when_left_blank(channel):
    from orders.admin import ChannelForm

    # given a channel with an outbound secret
    channel.outbound_url, channel.outbound_secret = "https://shop.example.com/h", "kept"
    channel.save()
    data = {
        "code": channel.code,
        "name": channel.name,
        "platform": channel.platform,
        "unknown_sku": channel.unknown_sku,
        "outbound_url": "http://127.0.0.1:9/h",
        "outbound_secret": "",
        "outbound_events": ["return.completed"],
    }
    # then the form never renders it
    assert "kept" not in str(ChannelForm(instance=channel))
    # when saved with the field empty
    form = ChannelForm(data, instance=channel)
    assert form.is_valid(), form.errors
    form.save()
    # then the stored one is kept
    channel.refresh_from_db()
    assert channel.outbound_secret == "kept"
    assert channel.outbound_events == ["return.completed"]
    # and a non-http URL is refused
    form = ChannelForm({**data, "outbound_url": "ftp://x.example.com/"}, instance=channel)
    assert not form.is_valid()
    assert "outbound_url" in form.errors


def test_admin_retry_queues_a_failed_webhook_again(
    hooked_channel, make_order, storefront, admin_client, django_capture_on_commit_callbacks
):
    from orders.messaging import webhook_enqueue

    # given a failed webhook
    order = make_order([("TEE-M", 1)])
    hook = webhook_enqueue(order=order, type="order.delivered", data={})
    OutboundMessage.objects.filter(pk=hook.pk).update(state="failed", attempts=8)
    # when ops send it again from the admin (queued as a job, sent after commit)
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(
            "/admin/orders/outboundmessage/",
            {"action": "retry", "_selected_action": [hook.pk]},
        )
    # then it is delivered
    assert r.status_code == 302
    hook.refresh_from_db()
    assert (hook.state, hook.attempts) == ("sent", 1)
    assert len(storefront.succeeded) == 1
