"""Decompression bombs in the portal: refused with a message naming the file,
no return created (Pillow's DecompressionBombError was a 500)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from returns.models import Return
from tests.api.bombs import bomb_png

from .test_returns import _defect_post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("width", "height"), [(30000, 30000), (8000, 8000)])
def test_a_decompression_bomb_is_refused_in_the_portal(verified, order, width, height):
    bomb = SimpleUploadedFile("bomb.png", bomb_png(width, height), content_type="image/png")

    r = _defect_post(verified, order, [bomb])

    assert r.status_code == 200
    assert b"bomb.png is too large an image" in r.content
    assert not Return.objects.exists()
