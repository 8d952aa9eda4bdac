"""Signed storefront webhooks: Shopify and WooCommerce orders in."""

from __future__ import annotations

from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.errors import error_response
from orders.models import Channel

from .. import services
from ..adapters import shopify, woocommerce
from ..replay import replay_refusal
from .common import ERRORS


class _WebhookApi(APIView):
    """Signed storefront webhook: verify, store, acknowledge. No API key: the
    HMAC over the raw body with the channel's secret is the authentication."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    platform = ""
    adapter = None
    signature_header = ""
    topic_header = ""
    delivery_header = ""
    kept_headers: tuple[str, ...] = ()

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField()
        duplicate = serializers.BooleanField()

    def post(self, request, channel: str):
        found = Channel.objects.filter(code=channel, platform=self.platform).first()
        if found is None:
            return error_response(
                "not_found",
                f"No {self.platform} channel {channel!r}.",
                {},
                status.HTTP_404_NOT_FOUND,
            )
        body = request.body
        if not self.adapter.signature_valid(
            found.webhook_secret, body, request.headers.get(self.signature_header)
        ):
            return error_response(
                "invalid_signature",
                f"{self.signature_header}: missing or does not match the body.",
                {},
                status.HTTP_401_UNAUTHORIZED,
            )
        refused = replay_refusal(self.platform, body, request.headers)
        if refused is not None:
            return error_response(
                "outside_replay_window",
                f"{refused['field']}: {refused['timestamp']} is outside the "
                f"{refused['window_seconds']} s replay window; a replayed or stale delivery "
                "is not applied.",
                refused,
                status.HTTP_400_BAD_REQUEST,
            )
        topic = request.headers.get(self.topic_header, "").strip()
        if not topic:
            return error_response(
                "invalid", f"{self.topic_header}: missing.", {"field": self.topic_header}, 400
            )
        delivery, created = services.delivery_accept(
            channel=found,
            platform=self.platform,
            topic=topic,
            delivery_id=request.headers.get(self.delivery_header, "").strip(),
            body=body,
            headers={h: request.headers[h] for h in self.kept_headers if h in request.headers},
        )
        return Response(
            {"id": delivery.pk, "state": delivery.state, "duplicate": not created},
            status=status.HTTP_202_ACCEPTED,
        )


class ShopifyWebhookApi(_WebhookApi):
    platform = shopify.PLATFORM
    adapter = shopify
    signature_header = "X-Shopify-Hmac-Sha256"
    topic_header = "X-Shopify-Topic"
    delivery_header = "X-Shopify-Webhook-Id"
    kept_headers = (
        "X-Shopify-Topic",
        "X-Shopify-Webhook-Id",
        "X-Shopify-Shop-Domain",
        "X-Shopify-API-Version",
        "X-Shopify-Triggered-At",
        "X-Shopify-Event-Id",
    )

    @extend_schema(
        operation_id="webhooks_shopify",
        request={"application/json": dict},
        responses={202: _WebhookApi.Output, **ERRORS},
        description="Shopify webhook (orders/create, orders/updated, refunds/create). "
        "Signed with X-Shopify-Hmac-Sha256; 202 once stored, processed afterwards.",
    )
    def post(self, request, channel: str):
        return super().post(request, channel)


class WooCommerceWebhookApi(_WebhookApi):
    platform = woocommerce.PLATFORM
    adapter = woocommerce
    signature_header = "X-WC-Webhook-Signature"
    topic_header = "X-WC-Webhook-Topic"
    delivery_header = "X-WC-Webhook-Delivery-ID"
    kept_headers = (
        "X-WC-Webhook-Topic",
        "X-WC-Webhook-Delivery-ID",
        "X-WC-Webhook-ID",
        "X-WC-Webhook-Resource",
        "X-WC-Webhook-Event",
        "X-WC-Webhook-Source",
    )

    @extend_schema(
        operation_id="webhooks_woocommerce",
        request={"application/json": dict},
        responses={202: _WebhookApi.Output, **ERRORS},
        description="WooCommerce webhook (order.created, order.updated, refund.created). "
        "Signed with X-WC-Webhook-Signature; 202 once stored, processed afterwards.",
    )
    def post(self, request, channel: str):
        return super().post(request, channel)
