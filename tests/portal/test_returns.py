"""Returning and exchanging through the portal: the quote, the RMA, photos
for damage claims, and payout details for cash on delivery."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from portal.models import ReturnPhoto
from returns.models import Return

pytestmark = pytest.mark.django_db


def _units(order):
    return {u.sku.code: u for u in order.units.select_related("sku")}


def _png(size=(40, 30), fmt="PNG", name="photo.png"):
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, format=fmt)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def test_order_page_lists_units_in_words_and_two_clear_choices(verified, order):
    r = verified.get(f"/returns/orders/{order.number}/")
    body = r.content.decode()
    assert r.status_code == 200
    assert body.count("Delivered") >= 3
    assert "Return or exchange some items" in body
    assert "Return everything" in body


def test_return_form_labels_every_control(verified, order):
    body = verified.get(f"/returns/orders/{order.number}/return/").content.decode()
    for u in order.units.all():
        for name in ("unit", "reason", "resolution", "exchange"):
            assert f'for="id_{name}_{u.pk}"' in body
        assert f'for="photos-{u.pk}"' in body
    # the exchange picker shows live availability
    assert "Crew neck tee, L" in body
    assert "in stock" in body
    assert "out of stock" in body


def test_quote_shows_items_fees_shipping_total_and_dates(verified, order):
    u = _units(order)
    r = verified.post(
        f"/returns/orders/{order.number}/quote/",
        {
            f"unit_{u['CHN-32'].pk}": "on",
            f"reason_{u['CHN-32'].pk}": "size_too_large",
            f"resolution_{u['CHN-32'].pk}": "refund",
            "refund_method": "original",
        },
        HTTP_HX_REQUEST="true",
    )
    body = r.content.decode()
    assert r.status_code == 200
    assert "Total refund" in body
    assert f"{u['CHN-32'].net_paid} INR" in body
    assert "Refund by" in body
    assert "Courier pickup by" in body


def test_quote_asks_for_reasons_first(verified, order):
    u = _units(order)
    r = verified.post(
        f"/returns/orders/{order.number}/quote/",
        {f"unit_{u['CHN-32'].pk}": "on", "refund_method": "original"},
    )
    assert b"Choose the items, a reason for each" in r.content


def test_return_one_and_exchange_another_gives_an_rma_and_a_status_page(
    verified, order, django_capture_on_commit_callbacks
):
    # given
    u = _units(order)
    chn, tee = u["CHN-32"], u["TEE-M"]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        r = verified.post(
            f"/returns/orders/{order.number}/return/",
            {
                f"unit_{chn.pk}": "on",
                f"reason_{chn.pk}": "size_too_large",
                f"resolution_{chn.pk}": "refund",
                f"unit_{tee.pk}": "on",
                f"reason_{tee.pk}": "size_too_small",
                f"resolution_{tee.pk}": "exchange",
                f"exchange_{tee.pk}": "TEE-L",
                "refund_method": "original",
            },
        )
    # then
    assert r.status_code == 302, r.content.decode()[:2000]
    ret = Return.objects.get(order=order)
    assert ret.channel == "portal"
    assert r["Location"] == f"/returns/r/{ret.rma}/?new=1"
    assert {(i.unit_id, i.resolution) for i in ret.items.all()} == {
        (chn.pk, "refund"),
        (tee.pk, "exchange"),
    }
    page = verified.get(r["Location"]).content.decode()
    assert ret.rma in page
    assert "What happens next" in page
    assert "Picked up by the courier" in page
    assert "Exchange dispatched" in page
    assert "Refund issued" in page
    # and the customer's actor is on the timeline
    assert ret.order.events.filter(type="return.created", actor_kind="customer").exists()


def test_out_of_stock_variant_is_refused(verified, order):
    tee = _units(order)["TEE-M"]
    r = verified.post(
        f"/returns/orders/{order.number}/return/",
        {
            f"unit_{tee.pk}": "on",
            f"reason_{tee.pk}": "size_too_small",
            f"resolution_{tee.pk}": "exchange",
            f"exchange_{tee.pk}": "TEE-XL",
            "refund_method": "original",
        },
    )
    assert r.status_code == 200
    assert b"out of stock" in r.content
    assert not Return.objects.exists()


def test_nothing_chosen_is_an_error(verified, order):
    r = verified.post(f"/returns/orders/{order.number}/return/", {"refund_method": "original"})
    assert b"Choose at least one item" in r.content


def test_return_everything_preselects_every_unit(verified, order):
    body = verified.get(f"/returns/orders/{order.number}/return/?all=1").content.decode()
    assert body.count('class="pick" id="id_unit_') == 3
    assert body.count("checked") >= 3


def _defect_post(verified, order, files):
    tote = _units(order)["TOT-NATURAL"]
    return verified.post(
        f"/returns/orders/{order.number}/return/",
        {
            f"unit_{tote.pk}": "on",
            f"reason_{tote.pk}": "damaged_in_transit",
            f"resolution_{tote.pk}": "refund",
            "refund_method": "original",
            f"photos_{tote.pk}": files,
        },
    )


def test_damage_claim_needs_a_photo(verified, order):
    r = _defect_post(verified, order, [])
    assert b"Add at least one photo" in r.content
    assert not Return.objects.exists()


def test_photo_type_is_checked_by_content(verified, order):
    fake = SimpleUploadedFile("photo.png", b"not an image at all", content_type="image/png")
    r = _defect_post(verified, order, [fake])
    assert b"is not a JPEG, PNG or WebP image" in r.content
    assert not Return.objects.exists()


def test_gif_is_refused(verified, order):
    r = _defect_post(verified, order, [_png(fmt="GIF", name="x.gif")])
    assert b"use JPEG, PNG or WebP" in r.content


def test_photo_size_is_checked(verified, order, settings):
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 1))
    r = _defect_post(verified, order, [big])
    assert b"larger than 5 MB" in r.content
    assert not Return.objects.exists()


def test_at_most_five_photos(verified, order):
    r = _defect_post(verified, order, [_png(name=f"p{i}.png") for i in range(6)])
    assert b"at most 5 photos" in r.content


def test_good_photos_are_stored_under_the_rma(verified, order, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    r = _defect_post(verified, order, [_png(), _png(fmt="JPEG", name="b.jpg")])
    assert r.status_code == 302
    ret = Return.objects.get()
    photos = list(ReturnPhoto.objects.filter(return_request=ret))
    assert {p.content_type for p in photos} == {"image/png", "image/jpeg"}
    assert all(p.file.name.startswith(f"evidence/{ret.rma}/") for p in photos)
    assert all((tmp_path / p.file.name).exists() for p in photos)
    assert ret.type == "quality_rejection"


def test_cash_on_delivery_offers_store_credit_or_bank_and_needs_details(
    client, make_sku, make_order, deliver_order, mailoutbox
):
    from tests.ui.builders import three_item_order

    order = three_item_order(make_sku, make_order, deliver_order, cod=True)
    client.post("/returns/", {"order_number": order.number, "contact": order.email})
    client.post("/returns/verify/", {"code": mailoutbox[-1].subject.rsplit(" ", 1)[-1]})
    chn = _units(order)["CHN-32"]
    form = client.get(f"/returns/orders/{order.number}/return/").content.decode()
    assert 'value="bank_transfer"' in form
    assert 'value="store_credit"' in form
    assert 'value="original"' not in form
    base = {
        f"unit_{chn.pk}": "on",
        f"reason_{chn.pk}": "changed_mind",
        f"resolution_{chn.pk}": "refund",
        "refund_method": "bank_transfer",
    }
    r = client.post(f"/returns/orders/{order.number}/return/", base)
    assert b"Give a UPI id" in r.content
    r = client.post(f"/returns/orders/{order.number}/return/", {**base, "upi_id": "asha@okbank"})
    assert r.status_code == 302
    ret = Return.objects.get(order=order)
    assert ret.payout_details == {"upi_id": "asha@okbank"}
    assert Decimal(ret.estimate["total"]) > 0
