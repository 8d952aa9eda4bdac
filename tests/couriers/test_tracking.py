"""Shiprocket's tracking webhook: the token, the status table, unknown
statuses, duplicate and out-of-order deliveries, and the dead letters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from couriers.tracking import STATUS_TABLE, Milestone
from intake.models import WebhookDelivery
from orders.models import TimelineEvent, Unit
from returns.models import Return
from tests.returns.helpers import create, refund_item, unit_ids

from .conftest import hook, tracking

pytestmark = pytest.mark.django_db


def _stamp(minutes_ago: int = 60) -> str:
    return timezone.localtime(timezone.now() - timedelta(minutes=minutes_ago)).strftime(
        "%d %m %Y %H:%M:%S"
    )


@pytest.fixture
def booked(shiprocket, order, storefront_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rma = create(storefront_api, refund_item(order.number, unit_ids(order)[0])).json()["rma"]
    ret = Return.objects.get(rma=rma)
    assert ret.pickup_status == "booked"
    return ret


def _post(client, capture, payload, **kw):
    with capture(execute=True):
        r = hook(client, payload, **kw)
    assert r.status_code == 200, r.content
    return r.json()


def _types(ret) -> list[str]:
    return list(
        TimelineEvent.objects.filter(entity="return", entity_id=ret.rma)
        .order_by("pk")
        .values_list("type", flat=True)
    )


def _unit(ret) -> Unit:
    return Unit.objects.get(pk=ret.items.get().unit_id)


def test_a_wrong_or_missing_token_is_401_and_nothing_is_stored(shiprocket, client):
    payload = tracking("1", "PICKED UP", _stamp())
    assert hook(client, payload, token="nope").status_code == 401
    r = client.post(
        "/api/v1/webhooks/couriers/shiprocket/", data=payload, content_type="application/json"
    )
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_token"
    assert not WebhookDelivery.objects.exists()


def test_without_a_configured_token_every_delivery_is_refused(client):
    assert hook(client, tracking("1", "PICKED UP", _stamp()), token="").status_code == 401


@pytest.mark.parametrize("status", sorted(STATUS_TABLE))
def test_every_status_in_the_table_does_what_the_table_says(
    status, booked, client, django_capture_on_commit_callbacks
):
    # given a booked pickup
    before = _types(booked)
    scans = [{"date": "x", "activity": "Customer not available", "sr-status-label": status}]
    # when the courier reports the status
    body = _post(
        client,
        django_capture_on_commit_callbacks,
        tracking(booked.awb, status, _stamp(), scans=scans),
    )
    # then the delivery was stored and processed
    delivery = WebhookDelivery.objects.get(pk=body["id"])
    assert delivery.state == "processed", delivery.last_error
    assert delivery.channel_id is None
    assert delivery.resource_id == booked.awb
    booked.refresh_from_db()
    new = _types(booked)[len(before) :]
    milestone = STATUS_TABLE[status]
    if milestone == Milestone.PICKED_UP:
        assert _unit(booked).state == "return_in_transit"
        assert booked.state == "in_transit"
        assert "return.pickup_completed" in new
    elif milestone == Milestone.PICKUP_FAILED:
        assert booked.pickup_attempts == 1
        failed = TimelineEvent.objects.get(entity_id=booked.rma, type="return.pickup_failed")
        assert "Customer not available" in failed.message
        assert _unit(booked).state == "return_requested"
    elif milestone == Milestone.DELIVERED:
        unit = _unit(booked)
        assert unit.state == "returned"
        assert unit.location.code == "wh-main"
        assert booked.state == "received"
    else:
        assert new == ["return.courier_tracking"]
        assert booked.state == "approved"
        assert _unit(booked).state == "return_requested"


def test_an_unknown_status_is_kept_on_the_timeline_and_changes_nothing(
    booked, client, django_capture_on_commit_callbacks
):
    _post(
        client, django_capture_on_commit_callbacks, tracking(booked.awb, "LOST IN SPACE", _stamp())
    )
    booked.refresh_from_db()
    assert booked.state == "approved"
    row = TimelineEvent.objects.filter(entity_id=booked.rma, type="return.courier_tracking").get()
    assert "LOST IN SPACE" in row.message
    assert "not in the table" in row.message


def test_a_duplicate_delivery_changes_nothing_twice(
    booked, client, django_capture_on_commit_callbacks
):
    payload = tracking(booked.awb, "PICKED UP", _stamp(30))
    first = _post(client, django_capture_on_commit_callbacks, payload)
    again = _post(client, django_capture_on_commit_callbacks, payload)
    # the same update with other scans attached: same status, same time
    other = _post(
        client,
        django_capture_on_commit_callbacks,
        {**payload, "scans": [{"activity": "Picked up", "date": "x"}]},
    )
    assert again["duplicate"] is True
    assert again["id"] == first["id"]
    assert other["duplicate"] is False
    assert _types(booked).count("return.pickup_completed") == 1
    assert WebhookDelivery.objects.get(pk=other["id"]).state == "processed"
    assert _unit(booked).state == "return_in_transit"


def test_out_of_order_deliveries_apply_each_step_once(
    booked, client, django_capture_on_commit_callbacks
):
    # given "delivered" arrives before "picked up"
    _post(client, django_capture_on_commit_callbacks, tracking(booked.awb, "DELIVERED", _stamp(10)))
    _post(client, django_capture_on_commit_callbacks, tracking(booked.awb, "PICKED UP", _stamp(90)))
    # and a late "pickup exception" from before the pickup
    _post(
        client,
        django_capture_on_commit_callbacks,
        tracking(booked.awb, "PICKUP EXCEPTION", _stamp(120)),
    )
    # then the units were received once, nothing went back
    booked.refresh_from_db()
    types = _types(booked)
    assert types.count("return.received") == 1
    assert "return.pickup_completed" not in types
    assert "return.pickup_failed" not in types
    assert booked.state == "received"
    assert booked.pickup_attempts == 0
    assert _unit(booked).state == "returned"
    superseded = TimelineEvent.objects.filter(
        entity_id=booked.rma, type="return.courier_tracking", message__contains="already past"
    )
    assert superseded.count() == 2


def test_an_unknown_awb_is_retried_then_a_dead_letter_that_can_be_replayed(
    booked, client, ops_api, django_capture_on_commit_callbacks
):
    body = _post(
        client, django_capture_on_commit_callbacks, tracking("999000", "PICKED UP", _stamp())
    )
    delivery = WebhookDelivery.objects.get(pk=body["id"])
    assert delivery.state == "dead"
    assert delivery.attempts == 6
    assert "999000" in delivery.last_error
    listed = ops_api.get("/api/v1/dead-letters/").json()["results"]
    assert [(d["id"], d["channel"], d["platform"]) for d in listed] == [
        (delivery.pk, "", "shiprocket")
    ]
    # when the AWB becomes known (here: the booking's AWB was another) and it is replayed
    from couriers.models import CourierOrder

    CourierOrder.objects.filter(reference=booked.rma).update(awb="999000")
    with django_capture_on_commit_callbacks(execute=True):
        r = ops_api.post(f"/api/v1/dead-letters/{delivery.pk}/replay/")
    assert r.status_code == 202
    delivery.refresh_from_db()
    assert delivery.state == "processed"
    assert _unit(booked).state == "return_in_transit"


def test_a_body_without_a_status_or_not_an_object_is_400_naming_it(shiprocket, client):
    r = hook(client, {"awb": "1"})
    assert r.status_code == 400
    assert "current_status" in r.json()["message"]
    r = client.post(
        "/api/v1/webhooks/couriers/shiprocket/",
        data="[1, 2]",
        content_type="application/json",
        HTTP_X_API_KEY="hook-token-123",
    )
    assert r.status_code == 400
    assert r.json()["extra"] == {"field": "body"}
    assert not WebhookDelivery.objects.exists()
