"""Finishing a return from the console alone: dispatch an exchange with its
AWB, cancel, convert to refund or keep-it, and reject with a reason whose
customer message is not the internal note."""

import pytest

from flows.return_intake import return_create
from orders.models import OutboundMessage, Shipment
from refunds.models import Refund
from returns.models import Return
from returns.services import ItemRequest, ReturnRequest

pytestmark = pytest.mark.django_db


def _mixed(order, actor):
    """Tee exchanged M → L, chinos refunded."""
    units = {u.sku.code: u for u in order.units.select_related("sku")}
    return return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[
                ItemRequest(
                    unit=units["TEE-M"].pk,
                    reason="size_too_small",
                    resolution="exchange",
                    exchange_sku="TEE-L",
                ),
                ItemRequest(unit=units["CHN-32"].pk, reason="changed_mind", resolution="refund"),
            ],
        ),
        actor=actor,
    ), units


def _to_qc_passed(login, ret, units):
    login("agent").post(f"/console/returns/{ret.rma}/events/", {"type": "pickup_completed"})
    c = login("warehouse")
    c.post(f"/console/returns/{ret.rma}/events/", {"type": "received", "location": "wh-main"})
    post = {"type": "qc_result"}
    for code in ("TEE-M", "CHN-32"):
        post[f"u{units[code].pk}-passed"] = "1"
    c.post(f"/console/returns/{ret.rma}/events/", post)


def test_mixed_return_is_finished_in_the_console_exchange_dispatched_with_its_awb(
    login, order, actor
):
    ret, units = _mixed(order, actor)
    _to_qc_passed(login, ret, units)
    c = login("agent", username="agent-2")
    page = c.get(f"/console/returns/{ret.rma}/").content.decode()
    assert "Dispatch the exchange" in page
    # no AWB: refused, nothing written
    r = c.post(f"/console/returns/{ret.rma}/dispatch/", {"units": [units["TEE-M"].pk]}, follow=True)
    assert b"Enter the AWB" in r.content
    assert not Shipment.objects.filter(order=order, kind="replacement").exists()

    c.post(
        f"/console/returns/{ret.rma}/dispatch/",
        {"units": [units["TEE-M"].pk], "tracking_number": "AWB-7781234"},
    )
    shipment = Shipment.objects.get(order=order, kind="replacement")
    assert shipment.tracking_number == "AWB-7781234"
    units["TEE-M"].refresh_from_db()
    assert units["TEE-M"].state == "replaced"
    # the chinos' refund was waiting for the exchange: it is now due
    assert Refund.objects.filter(return_request=ret).exists()
    assert order.events.filter(type="return.exchange_dispatched", actor_kind="staff").exists()


def test_agent_cancels_a_return_after_confirming_with_a_reason(login, order, actor):
    ret, _units = _mixed(order, actor)
    c = login("agent")
    assert "Cancel return" in c.get(f"/console/returns/{ret.rma}/").content.decode()
    url = f"/console/returns/{ret.rma}/confirm/cancel/"
    assert b"This cannot be undone" in c.get(url).content
    r = c.post(url, {"reason": "customer_request"})  # not confirmed
    assert r.status_code == 200
    assert b"Tick the box to confirm." in r.content
    ret.refresh_from_db()
    assert ret.state == "approved"
    r = c.post(url, {"reason": "customer_request", "note": "called in", "confirm": "on"})
    assert r.status_code == 302
    ret.refresh_from_db()
    assert ret.state == "cancelled"
    ev = order.events.get(type="return.cancelled")
    assert ev.message == "The customer asked to cancel: called in"


def test_convert_needs_a_supervisor_and_turns_the_exchange_into_a_refund(login, order, actor):
    ret, _units = _mixed(order, actor)
    url = f"/console/returns/{ret.rma}/confirm/convert-to-refund/"
    assert login("agent").get(url).status_code == 403
    c = login("supervisor", username="sup")
    assert "Refund instead of exchange" in c.get(f"/console/returns/{ret.rma}/").content.decode()
    c.post(url, {"reason": "out_of_stock", "confirm": "on"})
    assert set(ret.items.values_list("resolution", flat=True)) == {"refund"}


def test_convert_to_keep_from_the_console_within_the_policy_limit(login, order, actor):
    ret, _units = _mixed(order, actor)
    c = login("supervisor")
    url = f"/console/returns/{ret.rma}/confirm/convert-to-keep/"
    # over the policy's keep-it limit (0 by default): refused on the page, entries kept
    r = c.post(url, {"reason": "low_value", "note": "cheap tee", "confirm": "on"})
    assert r.status_code == 200
    assert b"Keep-it is limited to" in r.content
    assert b"cheap tee" in r.content
    ret.policy.__class__.objects.filter(pk=ret.policy_id).update(keep_it_max_value=5000)
    c.post(url, {"reason": "low_value", "confirm": "on"})
    assert set(ret.items.values_list("resolution", flat=True)) == {"keep"}


def test_reject_asks_a_reason_and_the_customer_never_reads_the_note(login, held):
    c = login("supervisor")
    page = c.get(f"/console/returns/{held.rma}/").content.decode()
    assert f"/console/returns/{held.rma}/reject/" in page
    form = c.get(f"/console/returns/{held.rma}/reject/").content.decode()
    assert "decides the customer&#x27;s message" in form or "decides the customer's message" in form
    r = c.post(f"/console/returns/{held.rma}/reject/", {"note": "serial abuser", "confirm": "on"})
    assert r.status_code == 200
    held.refresh_from_db()
    assert held.state == "pending_review"
    c.post(
        f"/console/returns/{held.rma}/reject/",
        {"reason": "used_or_damaged_by_use", "note": "serial abuser, ring 3", "confirm": "on"},
    )
    held.refresh_from_db()
    assert held.state == "rejected"
    msg = OutboundMessage.objects.get(order=held.order, template="return_rejected")
    assert "serial abuser" not in msg.body
    assert "unused and in their original condition" in msg.body
    ev = held.order.events.get(type="return.rejected")
    assert ev.payload["reason"] == "used_or_damaged_by_use"
    assert "serial abuser" in ev.message  # the note is kept for the record


def test_reject_api_takes_a_reason_code(supervisor_api, held):
    r = supervisor_api.post(
        f"/api/v1/returns/{held.rma}/reject/", {"reason": "nope"}, format="json"
    )
    assert r.status_code == 400
    r = supervisor_api.post(
        f"/api/v1/returns/{held.rma}/reject/",
        {"reason": "duplicate", "note": "dup of RMA-1"},
        format="json",
    )
    assert r.status_code == 200
    msg = OutboundMessage.objects.get(order=held.order, template="return_rejected")
    assert "dup of RMA-1" not in msg.body
    assert Return.objects.get(pk=held.pk).state == "rejected"
