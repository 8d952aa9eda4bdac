"""Reads for intake: dead letters and the health figures."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import PlatformRefund, WebhookDelivery
from .states import DeliveryState


def dead_letter_list(*, channel: str | None = None) -> QuerySet[WebhookDelivery]:
    qs = WebhookDelivery.objects.select_related("channel").filter(state=DeliveryState.DEAD)
    if channel:
        qs = qs.filter(channel__code=channel)
    return qs.order_by("-received_at", "-pk")


def dead_letter_count() -> int:
    return WebhookDelivery.objects.filter(state=DeliveryState.DEAD).count()


def platform_refunds_for_order(order_id: int) -> QuerySet[PlatformRefund]:
    return PlatformRefund.objects.filter(order_id=order_id).prefetch_related("lines__units")


def broker_status(timeout: float = 2.0) -> str:
    """ "ok" when the Celery broker accepts a connection within ``timeout``."""
    from oms.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}: {exc}"[:300]
