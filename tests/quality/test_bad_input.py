"""Decompression bombs on the evidence upload: refused with 400 in the error
shape, nothing stored (Pillow's DecompressionBombError was a 500)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from quality.models import EvidencePhoto
from tests.api.bombs import bomb_png

from .conftest import image_file
from .helpers import defect_return, first_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(storefront_api, gadget, shipped):
    order = shipped()
    rma = defect_return(storefront_api, order).json()["rma"]
    return rma, first_unit(order)


@pytest.mark.parametrize(
    ("width", "height"),
    [(30000, 30000), (8000, 8000)],
    ids=["over-twice-the-limit(error)", "over-the-limit(warning)"],
)
def test_a_decompression_bomb_is_refused_on_the_evidence_upload(
    storefront_api, claim, media_root, width, height
):
    rma, unit = claim
    bomb = SimpleUploadedFile("bomb.png", bomb_png(width, height), content_type="image/png")

    r = storefront_api.post(
        f"/api/v1/returns/{rma}/evidence/",
        {"unit": unit, "photos": [image_file(), bomb]},
        format="multipart",
    )

    assert r.status_code == 400, r.content
    body = r.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == "photo_too_large"
    assert "bomb.png" in body["message"]
    assert "pixels" in body["message"]
    assert not EvidencePhoto.objects.exists()


def test_a_decompression_bomb_is_refused_on_the_inspection_too(
    warehouse_api, storefront_api, claim
):
    rma, unit = claim
    bomb = SimpleUploadedFile("bomb.png", bomb_png(), content_type="image/png")

    r = warehouse_api.post(
        f"/api/v1/returns/{rma}/inspections/",
        {"unit": unit, "passed": "true", "photos": [bomb]},
        format="multipart",
    )

    assert r.status_code == 400, r.content
    assert set(r.json()) == {"code", "message", "extra"}
    assert r.json()["code"] == "photo_too_large"
