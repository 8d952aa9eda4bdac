"""Evidence for a unit: a serial number and photos. Every upload is checked
(type read from the content with Pillow, size, count) before anything is
written; if the database write fails, the files already stored are deleted,
so nothing is ever half-saved."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from oms.errors import ApplicationError, Conflict
from oms.images import NotAnImage, TooManyPixels, image_format
from orders.events import EventActor
from returns.models import Return, ReturnItem
from returns.services.common import return_get_for_update, return_items
from returns.states import OPEN_STATES

from ..models import Evidence, EvidencePhoto
from .checks import assess_items, outcomes_apply

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS_PER_UNIT = 6
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class PhotoError(ApplicationError):
    default_code = "invalid_photo"


@dataclass
class CheckedPhoto:
    upload: object
    content_type: str


def photos_check(files: list, *, already: int = 0, field: str = "photos") -> list[CheckedPhoto]:
    """Refuse the whole batch at the first bad file, naming it and the problem."""
    if already + len(files) > MAX_PHOTOS_PER_UNIT:
        raise PhotoError(
            f"{field}: at most {MAX_PHOTOS_PER_UNIT} photos per unit; "
            f"{already} stored and {len(files)} sent.",
            code="too_many_photos",
            extra={"field": field, "max": MAX_PHOTOS_PER_UNIT, "stored": already},
        )
    good = []
    for upload in files:
        name = getattr(upload, "name", "") or "upload"
        if upload.size > MAX_PHOTO_BYTES:
            raise PhotoError(
                f"{field}: {name} is {upload.size} bytes; the limit is 5 MB.",
                code="photo_too_large",
                extra={"field": field, "file": name, "size": upload.size, "max": MAX_PHOTO_BYTES},
            )
        try:
            fmt = image_format(upload)
        except TooManyPixels as exc:
            raise PhotoError(
                f"{field}: {name} is {exc}.",
                code="photo_too_large",
                extra={"field": field, "file": name, "max_pixels": settings.OMS_MAX_IMAGE_PIXELS},
            ) from exc
        except NotAnImage as exc:
            raise PhotoError(
                f"{field}: {name} is not a JPEG, PNG or WebP image.",
                code="photo_type",
                extra={"field": field, "file": name},
            ) from exc
        if fmt not in PHOTO_TYPES:
            raise PhotoError(
                f"{field}: {name} is a {fmt} image; send JPEG, PNG or WebP.",
                code="photo_type",
                extra={"field": field, "file": name, "format": fmt},
            )
        upload.seek(0)
        good.append(CheckedPhoto(upload, PHOTO_TYPES[fmt]))
    return good


class StoredFiles:
    """Files written through the default storage during one change; deleted
    again if the change rolls back."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def save(self, path: str, upload) -> str:
        name = default_storage.save(path, upload)
        self.names.append(name)
        return name

    def __enter__(self) -> StoredFiles:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            for name in self.names:
                default_storage.delete(name)


def photos_store(
    files: StoredFiles, rma: str, unit_id: int, photos: list[CheckedPhoto], **owner
) -> list[EvidencePhoto]:
    out = []
    for p in photos:
        ext = EXTENSIONS[p.content_type]
        name = files.save(f"evidence/{rma}/unit{unit_id}-{secrets.token_hex(6)}.{ext}", p.upload)
        photo = EvidencePhoto(content_type=p.content_type, size=p.upload.size, **owner)
        photo.file.name = name
        photo.save()
        out.append(photo)
    return out


def photos_stored(item: ReturnItem) -> int:
    return EvidencePhoto.objects.filter(evidence__return_item=item).count()


def evidence_check(serial: str, photos: list) -> str:
    """The stripped serial; refuses evidence with neither serial nor photos."""
    serial = (serial or "").strip()
    if not serial and not photos:
        raise ApplicationError(
            "photos: send a serial, photos, or both.",
            code="empty_evidence",
            extra={"field": "photos"},
        )
    return serial


def evidence_add(
    files: StoredFiles, *, rma: str, unit_id: int, serial: str, photos: list, actor: EventActor
) -> tuple[Evidence, Return]:
    """Record a serial and photos for a unit, then run the automatic checks
    again with them (and apply a now-clear outcome). Returns the evidence and
    the locked return, whose reactions ``flows.quality.evidence_add`` runs."""
    with transaction.atomic(
        savepoint=False
    ):  # inside its flow's transaction: no savepoint (no extra queries)
        return_request = return_get_for_update(rma)
        if return_request.state not in OPEN_STATES:
            raise Conflict(
                f"Return {rma} is {return_request.state}; evidence can no longer be added.",
                code="invalid_state",
                extra={"state": return_request.state},
            )
        items = return_items(return_request)
        item = next((i for i in items if i.unit_id == unit_id), None)
        if item is None:
            raise ApplicationError(
                f"unit: unit {unit_id} is not in return {rma}.",
                code="unit_not_in_return",
                extra={"field": "unit"},
            )
        checked = photos_check(photos, already=photos_stored(item))
        evidence = Evidence.objects.create(return_item=item, serial=serial, uploaded_by=actor.kind)
        photos_store(files, rma, unit_id, checked, evidence=evidence)
        if item.reason.defect:
            assess_items(return_request, [item], refresh=True)
            outcomes_apply(return_request, items, actor)
        return evidence, return_request
