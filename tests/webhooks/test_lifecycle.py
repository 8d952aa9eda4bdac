"""Which webhooks a return's life posts, in order, signed; and none for a
change that rolled back or a channel without an outbound URL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from flows.return_events import return_handle_event
from flows.return_intake import return_create
from orders.models import OutboundMessage
from returns.models import ReturnPolicy
from returns.services import ItemRequest, ReturnEventData, ReturnRequest
from tests.returns.helpers import create, event, walk_to_qc

pytestmark = pytest.mark.django_db


def _refund_body(order, unit_id, resolution="refund", **item):
    return {
        "order": order.number,
        "items": [{"unit": unit_id, "reason": "changed_mind", "resolution": resolution, **item}],
    }


@pytest.fixture
def two_tees(
    hooked_channel, make_sku, make_order, deliver_order, django_capture_on_commit_callbacks
):
    make_sku("TEE-M", Decimal("999.00"), product="tee", stock=10, attributes={"size": "M"})
    make_sku("TEE-L", Decimal("999.00"), product="tee", stock=10, attributes={"size": "L"})
    order = make_order([("TEE-M", 2)])
    with django_capture_on_commit_callbacks(execute=True):
        deliver_order(order)
    return order


def test_a_partial_return_posts_each_step_in_order_signed(
    two_tees, storefront, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a delivered order of two tees on a channel with an outbound URL
    order = two_tees
    kept, returned = order.units.order_by("pk")
    # when one tee is returned, picked up, received, passes QC and is refunded
    with django_capture_on_commit_callbacks(execute=True):
        r = create(storefront_api, _refund_body(order, returned.pk))
        assert r.status_code == 201, r.json()
        rma = r.json()["rma"]
        walk_to_qc(warehouse_api, rma, [returned.pk])
    assert storefront_api.get(f"/api/v1/returns/{rma}/").json()["state"] == "completed"
    # then the storefront got one signed webhook per step, in order
    assert storefront.types() == [
        "order.delivered",
        "return.created",
        "return.received",
        "return.qc_completed",
        "refund.issued",
        "return.completed",
    ]
    assert len(storefront.requests) == 6
    for received in storefront.requests:
        assert received.path == "/hooks/oms"
        assert received.signature_valid()
        assert not received.signature_valid("another secret")
        envelope = received.json
        assert set(envelope) == {"id", "type", "occurred_at", "order", "channel", "data"}
        assert received.headers["Content-Type"] == "application/json"
        assert received.headers["X-OMS-Event"] == envelope["type"]
        assert received.headers["X-OMS-Delivery"] == envelope["id"]
        assert envelope["order"] == order.number
        assert envelope["channel"] == "web"
    ids = [r.json["id"] for r in storefront.requests]
    assert len(set(ids)) == len(ids)
    # and the payloads describe the return and the refund
    by_type = {r.json["type"]: r.json["data"] for r in storefront.requests}
    assert by_type["order.delivered"]["refused_units"] == []
    assert {u["id"] for u in by_type["order.delivered"]["units"]} == {kept.pk, returned.pk}
    created = by_type["return.created"]
    assert created["rma"] == rma
    assert created["type"] == "partial_return"
    assert created["units"] == [
        {"id": returned.pk, "state": "return_requested", "resolution": "refund"}
    ]
    assert by_type["return.completed"]["state"] == "completed"
    assert by_type["return.completed"]["units"][0]["state"] == "refunded"
    refund = by_type["refund.issued"]
    assert refund["rma"] == rma
    assert refund["currency"] == "INR"
    assert Decimal(refund["amount"]) > 0
    assert refund["credit_note"]
    assert [u["id"] for u in refund["units"]] == [returned.pk]
    # and every outbox row for them is sent once
    hooks = OutboundMessage.objects.filter(order=order, channel="webhook")
    assert set(hooks.values_list("state", "attempts")) == {("sent", 1)}
    # and the customer's emails went out as before
    emails = OutboundMessage.objects.filter(order=order, channel="email")
    assert emails.exists()
    assert set(emails.values_list("state", flat=True)) == {"sent"}


def test_exchange_dispatch_and_cancellation_are_posted(
    two_tees, storefront, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a delivered order of two tees
    order = two_tees
    first, second = order.units.order_by("pk")
    # when one is exchanged for an L and dispatched, and another return is cancelled
    with django_capture_on_commit_callbacks(execute=True):
        r = create(
            storefront_api,
            _refund_body(order, first.pk, "exchange", exchange_sku="TEE-L"),
        )
        assert r.status_code == 201, r.json()
        assert (
            event(warehouse_api, r.json()["rma"], {"type": "exchange_dispatched"}).status_code
            == 200
        )
        r = create(storefront_api, _refund_body(order, second.pk))
        assert r.status_code == 201, r.json()
        cancelled = r.json()["rma"]
        assert event(warehouse_api, cancelled, {"type": "cancelled"}).status_code == 200
    # then
    assert storefront.types() == [
        "order.delivered",
        "return.created",
        "exchange.dispatched",
        "return.created",
        "return.cancelled",
    ]
    last = storefront.requests[-1].json["data"]
    assert last["rma"] == cancelled
    assert last["state"] == "cancelled"
    assert all(r.signature_valid() for r in storefront.requests)


def test_review_decisions_are_posted(
    hooked_channel,
    storefront,
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    supervisor_api,
    django_capture_on_commit_callbacks,
):
    # given returns held for review (a policy with a low risk threshold)
    ReturnPolicy.objects.create(version=2, risk_threshold=10)
    make_sku("WATCH", Decimal("25000.00"), stock=4)
    order = make_order([("WATCH", 2)])
    deliver_order(order)
    first, second = order.units.order_by("pk")
    with django_capture_on_commit_callbacks(execute=True):
        held = [create(storefront_api, _refund_body(order, u.pk)).json() for u in (first, second)]
        assert [h["state"] for h in held] == ["pending_review", "pending_review"]
        # when a supervisor approves one and rejects the other
        r = supervisor_api.post(f"/api/v1/returns/{held[0]['rma']}/approve/", {}, format="json")
        assert r.status_code == 200, r.json()
        r = supervisor_api.post(f"/api/v1/returns/{held[1]['rma']}/reject/", {}, format="json")
        assert r.status_code == 200, r.json()
    # then
    assert storefront.types() == [
        "return.created",
        "return.created",
        "return.approved",
        "return.rejected",
    ]
    assert storefront.requests[0].json["data"]["state"] == "pending_review"
    assert storefront.requests[2].json["data"]["state"] == "approved"


def test_a_doorstep_refusal_posts_the_delivery_with_its_refused_units(
    hooked_channel, storefront, make_order, deliver_order, django_capture_on_commit_callbacks
):
    # given an order of two units
    order = make_order([("SHOE-9", 2)])
    accepted, refused = order.units.order_by("pk")
    # when the customer refuses one at the door
    with django_capture_on_commit_callbacks(execute=True):
        deliver_order(order, refused=[refused])
    # then the delivery names the refused unit, then the refusal's return follows
    assert storefront.types()[:2] == ["order.delivered", "return.created"]
    delivered = storefront.requests[0].json["data"]
    assert delivered["refused_units"] == [refused.pk]
    assert {u["id"]: u["state"] for u in delivered["units"]} == {
        accepted.pk: "delivered",
        refused.pk: "refused",
    }
    assert storefront.requests[1].json["data"]["type"] == "doorstep_refusal"


def test_a_rolled_back_change_posts_nothing(
    two_tees, storefront, actor, django_capture_on_commit_callbacks
):
    # given an open return on a channel with an outbound URL
    order = two_tees
    unit = order.units.order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        ret = return_create(
            ReturnRequest(
                order=order.number,
                items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
            ),
            actor=actor,
        )
    storefront.requests.clear()
    rows_before = OutboundMessage.objects.count()

    # when a step writes its webhook and then its transaction fails
    def receive_then_fail():
        with transaction.atomic():
            return_handle_event(
                rma=ret.rma,
                data=ReturnEventData(type="received", location="wh-main"),
                actor=actor,
            )
            assert OutboundMessage.objects.filter(
                order=order, channel="webhook", subject="return.received"
            ).exists()
            raise RuntimeError("after the enqueue")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError, match="after the enqueue"),
    ):
        receive_then_fail()
    # then nothing was kept, queued or posted
    assert callbacks == []
    assert OutboundMessage.objects.count() == rows_before
    assert storefront.requests == []


def test_a_channel_without_an_outbound_url_writes_no_webhook(
    channel,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    # given the web channel with no outbound URL
    assert channel.outbound_url == ""
    order = make_order([("TEE-M", 2)])
    unit = order.units.order_by("pk").first()
    # when the order is delivered and a return goes all the way
    with django_capture_on_commit_callbacks(execute=True):
        deliver_order(order)
        r = create(storefront_api, _refund_body(order, unit.pk))
        assert r.status_code == 201, r.json()
        walk_to_qc(warehouse_api, r.json()["rma"], [unit.pk])
    assert storefront_api.get(f"/api/v1/returns/{r.json()['rma']}/").json()["state"] == "completed"
    # then emails were written, webhooks were not
    assert not OutboundMessage.objects.filter(channel="webhook").exists()
    assert OutboundMessage.objects.filter(order=order, channel="email").exists()


def test_a_channel_gets_only_the_event_types_it_subscribed_to(
    hooked_channel,
    storefront,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    # given a channel that only wants refunds
    hooked_channel.outbound_events = ["refund.issued"]
    hooked_channel.save()
    order = make_order([("TEE-M", 1)])
    (unit,) = order.units.all()
    # when a return is refunded
    with django_capture_on_commit_callbacks(execute=True):
        deliver_order(order)
        r = create(storefront_api, _refund_body(order, unit.pk))
        walk_to_qc(warehouse_api, r.json()["rma"], [unit.pk])
    # then only the refund was posted (and only its row written)
    assert storefront.types() == ["refund.issued"]
    assert list(
        OutboundMessage.objects.filter(channel="webhook").values_list("subject", flat=True)
    ) == ["refund.issued"]
