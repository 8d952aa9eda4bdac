"""A storefront channel: created or updated by its code."""

from __future__ import annotations

from django.db import transaction

from oms.errors import ApplicationError
from orders.models import Channel

# --- channels ----------------------------------------------------------------


@transaction.atomic
def channel_upsert(
    *,
    code: str,
    name: str,
    platform: str,
    unknown_sku: str,
    webhook_secret: str | None = None,
    courier: str | None = None,
) -> tuple[Channel, bool]:
    channel = Channel.objects.select_for_update().filter(code=code).first()
    created = channel is None
    if created:
        channel = Channel(code=code)
    if platform != Channel.Platform.NATIVE and not (webhook_secret or channel.webhook_secret):
        raise ApplicationError(
            "webhook_secret: a storefront channel needs the secret its webhooks are signed with.",
            extra={"field": "webhook_secret"},
        )
    channel.name = name
    channel.platform = platform
    channel.unknown_sku = unknown_sku
    if webhook_secret is not None:
        channel.webhook_secret = webhook_secret
    if courier is not None:
        channel.courier = courier
    channel.save()
    return channel, created
