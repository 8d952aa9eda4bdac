"""The replay window for inbound platform webhooks.

Only the body is signed (HMAC over the raw bytes): a captured delivery can be
sent again with any headers, a fresh X-Shopify-Webhook-Id and
X-Shopify-Triggered-At included. So the check that matters reads the signed
body's own timestamp: the order's ``updated_at`` (Shopify) or
``date_modified_gmt`` (WooCommerce), a refund's ``created_at`` /
``date_created_gmt``. A platform retry carries the original body, so the
window must outlast the platform's retries: Shopify retries 8 times over 4
hours (19 times over 48 hours before September 2024) and warns that a
delivery may rarely be a day late; WooCommerce does not retry. The default
window is 48 hours (``OMS_WEBHOOK_REPLAY_WINDOW``). Inside it a replay
changes nothing: the same webhook id is deduplicated, an order is created
once per channel and external id, an older update never overwrites a newer
one, and a refund is reconciled once per platform refund id.

X-Shopify-Triggered-At, when sent, is checked against the same window; it is
not signed, so it only stops naive replays of an old request as captured.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .adapters import PayloadError, parse_body, when

# A platform's clock may run a little ahead of ours.
FUTURE_SKEW = timedelta(minutes=15)
BODY_FIELDS = {
    "shopify": ("updated_at", "created_at"),
    "woocommerce": ("date_modified_gmt", "date_created_gmt"),
}
HEADERS = {"shopify": "X-Shopify-Triggered-At"}


def _body_timestamp(platform: str, body: bytes) -> tuple[str, datetime] | None:
    try:
        payload = parse_body(body)
    except (PayloadError, ValueError, RecursionError):
        return None  # processing will dead-letter it, naming the problem
    if isinstance(payload, dict) and len(payload) == 1:
        inner = next(iter(payload.values()))  # the REST envelope {"order": {...}}
        payload = inner if isinstance(inner, dict) else payload
    if not isinstance(payload, dict):
        return None
    for field in BODY_FIELDS.get(platform, ()):
        try:
            at = when(payload.get(field), field)
        except PayloadError:
            continue
        if at is not None:
            return field, at
    return None


def replay_refusal(platform: str, body: bytes, headers) -> dict | None:
    """None when the delivery is inside the window, else the error's extra."""
    window = settings.OMS_WEBHOOK_REPLAY_WINDOW
    if window <= 0:
        return None
    now = timezone.now()
    oldest, newest = now - timedelta(seconds=window), now + FUTURE_SKEW
    stamps: list[tuple[str, datetime]] = []
    found = _body_timestamp(platform, body)
    if found:
        stamps.append(found)
    header = HEADERS.get(platform)
    if header and headers.get(header):
        try:
            at = when(headers[header], header)
        except PayloadError:
            at = None
        if at is not None:
            stamps.append((header, at))
    for field, at in stamps:
        if not oldest <= at <= newest:
            return {
                "field": field,
                "timestamp": at.isoformat(),
                "window_seconds": window,
            }
    return None
