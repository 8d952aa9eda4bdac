"""Fixtures for the quality tests: a SKU with a warranty, an order shipped
with serials and delivered a given number of days ago, photos in memory."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image


def image_file(name="photo.png", fmt="PNG", size=(8, 8)) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}.get(fmt, "")
    return SimpleUploadedFile(name, buf.getvalue(), content_type=content_type)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def gadget(make_sku):
    return make_sku(
        "GAD-1", Decimal("1000.00"), stock=20, category="electronics", warranty_months=12
    )


@pytest.fixture
def shipped(db, make_order, actor):
    """shipped(sku_code, serials, days_ago=5) → order delivered days_ago with
    those serials recorded at shipment (one unit per serial)."""
    from flows.delivery import shipment_deliver
    from orders.models import Unit
    from orders.services import shipment_create

    def make(code="GAD-1", serials=("B2405-0001",), days_ago=5, **order_kw):
        order = make_order([(code, len(serials))], **order_kw)
        ids = list(Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True))
        delivered_at = timezone.now() - timedelta(days=days_ago)
        shipment = shipment_create(
            order=order,
            unit_ids=ids,
            actor=actor,
            serials={i: s for i, s in zip(ids, serials, strict=True) if s} or None,
            shipped_at=delivered_at,
        )
        shipment_deliver(shipment_id=shipment.pk, actor=actor, delivered_at=delivered_at)
        return order

    return make


@pytest.fixture
def pattern(db):
    from quality.services import defect_pattern_create

    def make(outcome, **kw):
        kw.setdefault("sku", "GAD-1")
        return defect_pattern_create(outcome=outcome, **kw)

    return make
