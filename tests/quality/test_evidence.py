"""Evidence uploads: good photos are stored under evidence/<rma>/; a wrong
type, an oversized file or too many files is refused naming the problem, and
nothing is half-saved."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from quality.models import Evidence, EvidencePhoto

from .conftest import image_file
from .helpers import defect_return, first_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(storefront_api, gadget, shipped):
    order = shipped()
    rma = defect_return(storefront_api, order).json()["rma"]
    return rma, first_unit(order)


def _post(api, rma, unit, photos, serial=""):
    return api.post(
        f"/api/v1/returns/{rma}/evidence/",
        {"unit": unit, "serial": serial, "photos": photos},
        format="multipart",
    )


def _files(media):
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_good_photos_are_stored(storefront_api, claim, media_root):
    rma, unit = claim
    r = _post(
        storefront_api,
        rma,
        unit,
        [image_file("a.png"), image_file("b.jpg", "JPEG"), image_file("c.webp", "WEBP")],
        serial="B2405-0001",
    )
    assert r.status_code == 201, r.json()
    photos = list(EvidencePhoto.objects.all())
    assert {p.content_type for p in photos} == {"image/png", "image/jpeg", "image/webp"}
    assert all(p.file.name.startswith(f"evidence/{rma}/unit{unit}-") for p in photos)
    assert len(_files(media_root)) == 3
    assert r.json()["assessment"]["serial_match"] is True


def test_a_warehouse_key_may_add_evidence_and_finance_may_not(warehouse_api, finance_api, claim):
    rma, unit = claim
    assert _post(warehouse_api, rma, unit, [image_file()]).status_code == 201
    assert _post(finance_api, rma, unit, [image_file()]).status_code == 403


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("notes.txt", b"hello", content_type="image/png"), "photo_type"),
        (
            SimpleUploadedFile("fake.jpg", b"\xff\xd8\xff\xe0garbage", content_type="image/jpeg"),
            "photo_type",
        ),
        (image_file("anim.gif", "GIF"), "photo_type"),
    ],
)
def test_wrong_types_are_refused_naming_the_file(storefront_api, claim, media_root, upload, code):
    rma, unit = claim
    # when a good photo is sent together with a bad one
    r = _post(storefront_api, rma, unit, [image_file("ok.png"), upload])
    # then the request is refused, naming the bad file, and nothing is kept
    assert r.status_code == 400
    assert r.json()["code"] == code
    assert r.json()["extra"]["file"] == upload.name
    assert upload.name in r.json()["message"]
    assert not Evidence.objects.exists()
    assert not EvidencePhoto.objects.exists()
    assert _files(media_root) == []


def test_an_oversized_file_is_refused(storefront_api, claim, media_root):
    rma, unit = claim
    big = SimpleUploadedFile(
        "huge.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024), content_type="image/png"
    )
    r = _post(storefront_api, rma, unit, [image_file(), big])
    assert r.status_code == 400
    assert r.json()["code"] == "photo_too_large"
    assert r.json()["extra"]["file"] == "huge.png"
    assert not EvidencePhoto.objects.exists()
    assert _files(media_root) == []


def test_too_many_files_are_refused(storefront_api, claim, media_root):
    rma, unit = claim
    r = _post(storefront_api, rma, unit, [image_file(f"p{i}.png") for i in range(7)])
    assert r.status_code == 400
    assert r.json()["code"] == "too_many_photos"
    # and the limit counts photos already stored for the unit
    assert (
        _post(storefront_api, rma, unit, [image_file(f"p{i}.png") for i in range(4)]).status_code
        == 201
    )
    r = _post(storefront_api, rma, unit, [image_file(f"q{i}.png") for i in range(3)])
    assert r.status_code == 400
    assert r.json()["extra"]["stored"] == 4
    assert EvidencePhoto.objects.count() == 4
    assert len(_files(media_root)) == 4


def test_a_failure_after_storing_deletes_the_files(storefront_api, claim, media_root, monkeypatch):
    rma, unit = claim
    from quality.services import evidence as module

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(module, "assess_items", boom)
    with pytest.raises(RuntimeError):
        _post(storefront_api, rma, unit, [image_file()])
    assert not EvidencePhoto.objects.exists()
    assert _files(media_root) == []


def test_unknown_unit_and_empty_evidence(storefront_api, claim):
    rma, unit = claim
    r = _post(storefront_api, rma, 999999, [image_file()])
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == "unit"
    r = storefront_api.post(f"/api/v1/returns/{rma}/evidence/", {"unit": unit}, format="multipart")
    assert r.status_code == 400
    assert r.json()["code"] == "empty_evidence"


def test_inspection_photos_are_checked_too(warehouse_api, storefront_api, claim):
    from .helpers import pickup_and_receive

    rma, unit = claim
    pickup_and_receive(warehouse_api, rma)
    r = warehouse_api.post(
        f"/api/v1/returns/{rma}/inspections/",
        {"unit": unit, "passed": "true", "photos": [SimpleUploadedFile("x.txt", b"no")]},
        format="multipart",
    )
    assert r.status_code == 400
    assert r.json()["code"] == "photo_type"
    # and nothing moved: the unit still waits for QC
    assert storefront_api.get(f"/api/v1/returns/{rma}/").json()["units"][0]["state"] == "returned"
