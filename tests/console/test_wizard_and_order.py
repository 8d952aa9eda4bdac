"""Wizard review lists the lines with amounts; an override that cannot help is
refused on the eligibility step; the order page shows tenders and refunds."""

import pytest

from flows.return_intake import return_create
from returns.services import ItemRequest, ReturnRequest

pytestmark = pytest.mark.django_db


def test_review_step_lists_each_line_with_its_amount(login, order):
    c = login("agent")
    tee, chinos = list(order.units.select_related("sku").order_by("pk"))[:2]
    url = f"/console/orders/{order.number}/return/"
    c.post(url + "?step=classify", {"case": "changed_mind", "units": [tee.pk, chinos.pk]})
    c.post(url + "?step=eligibility", {})
    c.post(
        url + "?step=resolution",
        {
            f"reason_{tee.pk}": "changed_mind",
            f"resolution_{tee.pk}": "refund",
            f"reason_{chinos.pk}": "changed_mind",
            f"resolution_{chinos.pk}": "refund",
            "refund_method": "original",
        },
    )
    body = c.get(url + "?step=review").content.decode()
    assert "Lines being returned" in body
    assert "Crew neck tee, M" in body
    assert str(tee.net_paid) in body
    assert "Slim fit chinos, 32" in body
    assert str(chinos.net_paid) in body


def test_override_that_cannot_help_is_refused_before_submit(login, order, actor):
    tee = order.units.order_by("pk").first()
    return_create(
        ReturnRequest(
            order=order.number,
            items=[ItemRequest(unit=tee.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )
    c = login("supervisor")
    url = f"/console/orders/{order.number}/return/"
    c.post(url + "?step=classify", {"case": "changed_mind", "units": [tee.pk]})
    r = c.post(url + "?step=eligibility", {"override": "on", "override_note": "VIP"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "An override cannot make these items eligible" in body
    assert "already in an open return" in body
    assert "items[" not in body
    # the wizard did not move on: the review step shows eligibility again
    again = c.get(url + "?step=review").content.decode()
    assert "Create return" not in again
    assert "Supervisor override" in again


def test_order_page_shows_tenders_and_what_was_refunded_to_each(login, order, actor):
    from flows.refunds import refund_issue
    from flows.return_events import return_handle_event
    from refunds.models import Refund
    from returns.services import QcResult, ReturnEventData

    tee = order.units.order_by("pk").first()
    ret = return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[ItemRequest(unit=tee.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )
    for data in (
        ReturnEventData(type="pickup_completed"),
        ReturnEventData(type="received", location="wh-main"),
        ReturnEventData(type="qc_result", results=[QcResult(unit=tee.pk, passed=True)]),
    ):
        return_handle_event(rma=ret.rma, data=data, actor=actor)
    refund = Refund.objects.get(return_request=ret)
    refund_issue(refund_id=refund.pk, actor=actor)
    refund.refresh_from_db()
    assert refund.state == "issued"
    r = login("finance").get(f"/console/orders/{order.number}/")
    body = r.content.decode()
    assert "Tenders" in body
    refunded = [x for t in r.context["tenders"] for x in t["refunds"]]
    assert [x["refund"].pk for x in refunded] == [refund.pk]
    assert refunded[0]["tender"].amount == refund.amount
    assert f"{refund.amount} INR as store credit" in body
