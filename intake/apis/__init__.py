"""Intake API: channel settings, signed storefront webhooks, dead letters,
and the health check."""

from .channels import ChannelUpsertApi
from .dead_letters import DeadLetterListApi, DeadLetterOutput, DeadLetterReplayApi
from .health import healthz
from .shiprocket import ShiprocketWebhookApi
from .webhooks import ShopifyWebhookApi, WooCommerceWebhookApi

__all__ = [
    "ChannelUpsertApi",
    "DeadLetterListApi",
    "DeadLetterOutput",
    "DeadLetterReplayApi",
    "ShiprocketWebhookApi",
    "ShopifyWebhookApi",
    "WooCommerceWebhookApi",
    "healthz",
]
