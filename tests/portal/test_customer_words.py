"""What the customer is told: why an item can't be returned, customer words
for a return, refunded (with references) once issued, cancel before pickup,
photos kept after an error, and emails that link to the status page."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from flows.refunds import refund_issue
from flows.return_events import return_handle_event
from flows.return_intake import return_create
from orders.models import OutboundMessage, Unit
from portal.models import ReturnPhoto
from refunds.models import Refund
from returns.models import Return, ReturnPolicy
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest

pytestmark = pytest.mark.django_db


def _units(order):
    return {u.sku.code: u for u in order.units.select_related("sku")}


def _png(name="crack.png"):
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def _create(order, actor, code, reason="changed_mind", resolution="refund", method="store_credit"):
    return return_create(
        ReturnRequest(
            order=order.number,
            refund_method=method,
            items=[ItemRequest(unit=_units(order)[code].pk, reason=reason, resolution=resolution)],
        ),
        actor=actor,
    )


def test_each_item_says_why_it_cannot_be_returned(verified, order, actor):
    u = _units(order)
    ret = _create(order, actor, "TEE-M")
    u["TOT-NATURAL"].sku.__class__.objects.filter(pk=u["TOT-NATURAL"].sku_id).update(
        returnable=False
    )
    body = verified.get(f"/returns/orders/{order.number}/").content.decode()
    assert f"Already in return {ret.rma}" in body
    assert "Final sale" in body
    # the window ended: move the delivery back beyond the policy window
    days = ReturnPolicy.objects.order_by("-version").first().window_days
    Unit.objects.filter(pk=u["CHN-32"].pk).update(
        delivered_at=timezone.now() - timedelta(days=days + 2)
    )
    body = verified.get(f"/returns/orders/{order.number}/").content.decode()
    assert "Return window ended on" in body
    assert "Not returnable" not in body


def test_an_item_not_delivered_yet_says_so(make_order, make_sku):
    from portal.selectors import order_units

    make_sku("UND-1", "300.00", stock=3)
    pending = make_order([("UND-1", 1)])
    rows = order_units(pending)
    assert [r["why_not"] for r in rows] == ["Not delivered yet"]


def test_damaged_item_return_reads_in_customer_words(verified, order, actor):
    ret = _create(order, actor, "CHN-32", reason="defective")
    body = verified.get(f"/returns/r/{ret.rma}/").content.decode()
    assert "Quality rejection" not in body
    assert "Damaged or faulty item – refund" in body


def test_refund_box_says_refunded_with_reference_and_store_credit_code(verified, order, actor):
    ret = _create(order, actor, "CHN-32")
    body = verified.get(f"/returns/r/{ret.rma}/").content.decode()
    assert "Estimated" in body
    for data in (
        ReturnEventData(type="pickup_completed"),
        ReturnEventData(type="received", location="wh-main"),
        ReturnEventData(
            type="qc_result", results=[QcResult(unit=_units(order)["CHN-32"].pk, passed=True)]
        ),
    ):
        return_handle_event(rma=ret.rma, data=data, actor=actor)
    refund = Refund.objects.get(return_request=ret)
    refund_issue(refund_id=refund.pk, actor=actor)
    refund.refresh_from_db()
    body = verified.get(f"/returns/r/{ret.rma}/").content.decode()
    assert "Estimated" not in body
    assert "Refunded" in body
    assert refund.credit_note.number in body
    assert refund.store_credit.code in body
    # the email carries the code, the reference and the status page
    msg = OutboundMessage.objects.filter(
        order=order, template__in=["refund_issued", "refund_issued_store_credit"]
    ).latest("pk")
    assert refund.store_credit.code in msg.body
    assert refund.tenders.first().gateway_reference in msg.body
    assert f"/returns/r/{ret.rma}/" in msg.body


def test_every_return_email_links_to_its_status_page(order, actor):
    ret = _create(order, actor, "CHN-32")
    msg = OutboundMessage.objects.filter(order=order, template="return_created").latest("pk")
    assert f"http://localhost:8000/returns/r/{ret.rma}/" in msg.body


def test_customer_cancels_before_pickup_but_not_after(verified, order, actor):
    ret = _create(order, actor, "CHN-32")
    page = verified.get(f"/returns/r/{ret.rma}/").content.decode()
    assert f"/returns/r/{ret.rma}/cancel/" in page
    confirm = verified.get(f"/returns/r/{ret.rma}/cancel/").content.decode()
    assert "you keep these items" in confirm
    r = verified.post(f"/returns/r/{ret.rma}/cancel/")
    assert r.status_code == 302
    ret.refresh_from_db()
    assert ret.state == "cancelled"
    assert ret.order.events.get(type="return.cancelled").actor_kind == "customer"
    # a picked-up return cannot be cancelled
    other = _create(order, actor, "TOT-NATURAL")
    return_handle_event(rma=other.rma, data=ReturnEventData(type="pickup_completed"), actor=actor)
    assert (
        f"/returns/r/{other.rma}/cancel/"
        not in verified.get(f"/returns/r/{other.rma}/").content.decode()
    )
    r = verified.post(f"/returns/r/{other.rma}/cancel/")
    assert r.status_code == 409
    assert Return.objects.get(pk=other.pk).state == "in_transit"


def test_photos_are_kept_after_an_error_and_used_on_the_next_submit(verified, order):
    u = _units(order)
    chinos = u["CHN-32"].pk
    url = f"/returns/orders/{order.number}/return/"
    post = {
        f"unit_{chinos}": "on",
        f"reason_{chinos}": "defective",
        f"resolution_{chinos}": "refund",
        f"photos_{chinos}": _png(),
        # no refund method chosen: an error
    }
    r = verified.post(url, post)
    assert r.status_code == 200
    body = r.content.decode()
    assert 'id="error-summary"' in body
    assert "Your photos are kept" in body
    assert "crack.png" in body
    token = r.context["held"][chinos][0]["token"]
    # resubmit without attaching the photo again
    r = verified.post(
        url,
        {
            f"unit_{chinos}": "on",
            f"reason_{chinos}": "defective",
            f"resolution_{chinos}": "refund",
            f"held_photos_{chinos}": token,
            "refund_method": "store_credit",
        },
    )
    assert r.status_code == 302, r.content.decode().split("error-summary", 1)[1][:1500]
    ret = Return.objects.get(order=order)
    assert ReturnPhoto.objects.filter(return_request=ret, unit_id=chinos).count() == 1
    # a forged token is ignored: the photo is required again
    r = verified.post(
        url,
        {
            f"unit_{u['TOT-NATURAL'].pk}": "on",
            f"reason_{u['TOT-NATURAL'].pk}": "defective",
            f"held_photos_{u['TOT-NATURAL'].pk}": token + "x",
            "refund_method": "store_credit",
        },
    )
    assert r.status_code == 200
    assert "Add at least one photo" in r.content.decode()
