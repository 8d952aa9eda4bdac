"""Which courier a channel uses. With ``SHIPROCKET_EMAIL`` and
``SHIPROCKET_PASSWORD`` set every channel uses Shiprocket, unless the
channel's ``courier`` is ``manual``; without them every channel is manual."""

from __future__ import annotations

from django.conf import settings

from .base import Courier
from .manual import ManualCourier
from .shiprocket import DEFAULT_BASE_URL, ShiprocketCourier

MANUAL = "manual"
SHIPROCKET = "shiprocket"
CHOICES = (MANUAL, SHIPROCKET)


def shiprocket_configured() -> bool:
    return bool(
        getattr(settings, "SHIPROCKET_EMAIL", "") and getattr(settings, "SHIPROCKET_PASSWORD", "")
    )


def courier_name_for(channel_courier: str) -> str:
    """The courier a channel's setting resolves to (blank: the configured default)."""
    if channel_courier == MANUAL or not shiprocket_configured():
        return MANUAL
    return SHIPROCKET


def courier_get(name: str) -> Courier:
    if name == SHIPROCKET and shiprocket_configured():
        return ShiprocketCourier(
            email=settings.SHIPROCKET_EMAIL,
            password=settings.SHIPROCKET_PASSWORD,
            base_url=getattr(settings, "SHIPROCKET_BASE_URL", "") or DEFAULT_BASE_URL,
            timeout=(
                float(getattr(settings, "SHIPROCKET_CONNECT_TIMEOUT", 5)),
                float(getattr(settings, "SHIPROCKET_READ_TIMEOUT", 20)),
            ),
            max_attempts=int(getattr(settings, "SHIPROCKET_MAX_ATTEMPTS", 3)),
            backoff=float(getattr(settings, "SHIPROCKET_RETRY_BACKOFF", 0.5)),
        )
    return ManualCourier()
