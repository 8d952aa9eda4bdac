"""Read an uploaded photo's format from its content, refusing decompression
bombs: a small file that declares a huge canvas (a 30000×30000 one-bit PNG is
109 KB and would take 900 MB to decode)."""

from __future__ import annotations

import warnings

from django.conf import settings
from PIL import Image, UnidentifiedImageError

# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; make the
# warning an error too, so no size between the two slips through as a warning.
Image.MAX_IMAGE_PIXELS = settings.OMS_MAX_IMAGE_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)


class NotAnImage(Exception):
    """The content is not an image Pillow can read."""


class TooManyPixels(Exception):
    def __init__(self, size: tuple[int, int] | None):
        self.size = size
        limit = settings.OMS_MAX_IMAGE_PIXELS
        dims = f"{size[0]}×{size[1]} pixels" if size else "too many pixels"
        super().__init__(f"{dims}; the limit is {limit:,} pixels")


def image_format(upload) -> str:
    """Pillow's format name (``"JPEG"``, ``"PNG"``...) for ``upload``; the
    file position is left at the start."""
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            fmt = image.format
            width, height = image.size
            if width * height > settings.OMS_MAX_IMAGE_PIXELS:
                raise TooManyPixels((width, height))
            image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(None) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(str(exc)) from exc
    finally:
        upload.seek(0)
    return fmt
