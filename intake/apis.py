"""Intake API: channel settings, signed storefront webhooks, dead letters,
and the health check."""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from couriers import config as courier_config
from oms.errors import ErrorSerializer, error_response
from oms.pagination import LimitOffsetPagination
from orders import webhooks
from orders.models import Channel

from . import selectors, services
from .adapters import shopify, woocommerce
from .replay import replay_refusal

ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="Invalid input; the message names the field."
    ),
    401: OpenApiResponse(ErrorSerializer, description="No valid API key or signature."),
    403: OpenApiResponse(ErrorSerializer, description="The key's role lacks the permission."),
    404: OpenApiResponse(ErrorSerializer, description="Not found."),
    409: OpenApiResponse(ErrorSerializer, description="Does not fit the current state."),
}
# Ops-only: the permission that lets a role configure channels also governs
# what their webhooks left behind.
OPS = ["orders.change_channel"]
OUTBOUND_FIELDS = ("outbound_url", "outbound_secret", "outbound_events")


class ChannelUpsertApi(APIView):
    required_permissions = {"PUT": OPS}

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        platform = serializers.ChoiceField(choices=Channel.Platform.choices)
        webhook_secret = serializers.CharField(
            max_length=255, required=False, write_only=True, trim_whitespace=False
        )
        unknown_sku = serializers.ChoiceField(
            choices=Channel.UnknownSku.choices, default=Channel.UnknownSku.REJECT
        )
        outbound_url = serializers.URLField(
            max_length=200,
            required=False,
            allow_blank=True,
            help_text="Where our webhooks are posted (http or https); empty sends none.",
        )
        outbound_secret = serializers.CharField(
            max_length=255,
            required=False,
            write_only=True,
            trim_whitespace=False,
            help_text="Signs our webhooks (X-OMS-Signature); distinct from webhook_secret.",
        )
        outbound_events = serializers.ListField(
            child=serializers.ChoiceField(choices=webhooks.EVENT_TYPES),
            required=False,
            help_text="Event types to send; empty sends every type.",
        )
        courier = serializers.ChoiceField(
            choices=["", *courier_config.CHOICES],
            required=False,
            allow_blank=True,
            help_text="manual: pickups and shipments are recorded by posted events; shiprocket "
            "(or blank) books them with Shiprocket when SHIPROCKET_EMAIL and "
            "SHIPROCKET_PASSWORD are set. Left out: unchanged.",
        )

        def validate_courier(self, value: str) -> str:
            if value == courier_config.SHIPROCKET and not courier_config.shiprocket_configured():
                raise serializers.ValidationError(
                    "Shiprocket is not configured (SHIPROCKET_EMAIL, SHIPROCKET_PASSWORD)."
                )
            return value

        def validate_outbound_url(self, value: str) -> str:
            if value and not webhooks.url_scheme_ok(value):
                raise serializers.ValidationError("Only http and https URLs are allowed.")
            return value

    class Output(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        platform = serializers.CharField()
        unknown_sku = serializers.CharField()
        webhook_secret_set = serializers.SerializerMethodField()
        outbound_url = serializers.CharField()
        outbound_events = serializers.ListField(child=serializers.CharField())
        outbound_secret_set = serializers.SerializerMethodField()
        courier = serializers.SerializerMethodField(
            help_text="The courier this channel uses now: manual or shiprocket."
        )

        def get_courier(self, channel) -> str:
            return courier_config.courier_name_for(channel.courier)

        def get_webhook_secret_set(self, channel) -> bool:
            return bool(channel.webhook_secret)

        def get_outbound_secret_set(self, channel) -> bool:
            return bool(channel.outbound_secret)

    @extend_schema(
        operation_id="channels_upsert",
        parameters=[
            OpenApiParameter(
                "code",
                {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 40},
                OpenApiParameter.PATH,
                description="Channel code (a slug).",
            )
        ],
        request=Input,
        responses={200: Output, 201: Output, **ERRORS},
        description="Create or change a sales channel. Secrets are never echoed back. "
        "With an outbound_url (and outbound_secret) the channel receives our signed "
        "webhooks; outbound_events narrows them (empty: every type). Outbound fields "
        "left out keep their stored values; the response shape is unchanged.",
    )
    def put(self, request, code: str):
        serializers.SlugField(max_length=40).run_validation(code)
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        outbound = {k: data.pop(k) for k in OUTBOUND_FIELDS if k in data}
        with transaction.atomic():
            channel, created = services.channel_upsert(code=code, **data)
            webhooks.channel_outbound_set(channel=channel, **outbound)
        return Response(
            self.Output(channel).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


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


NO_NUL = "^[^\\u0000]*$"  # PostgreSQL text cannot hold NUL; such a body is a 400


class _TextField(serializers.CharField):
    """A string, and only a string (DRF's CharField would take a number)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "maxLength": 100, "pattern": NO_NUL})
class _StatusField(_TextField):
    pass


@extend_schema_field({"type": "string", "maxLength": 40, "pattern": NO_NUL})
class _StampField(_TextField):
    pass


@extend_schema_field(
    {"oneOf": [{"type": "string", "maxLength": 50, "pattern": NO_NUL}, {"type": "integer"}]}
)
class _IdField(serializers.CharField):
    """A courier id: Shiprocket sends some as strings, some as numbers."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        return super().to_internal_value(str(data))


class ShiprocketWebhookApi(APIView):
    """Shiprocket's tracking webhook. No API key: the security token entered
    with the webhook URL in Shiprocket's panel comes back in ``x-api-key``.
    The body is stored, acknowledged with 200 (Shiprocket expects 200 only),
    and processed by the same task, retries and dead letters as channel
    intake."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    class Input(serializers.Serializer):
        """The fields read; Shiprocket sends more (scans, etd, pod, ...), all kept."""

        awb = _IdField(max_length=50, allow_blank=True)
        current_status = _StatusField(max_length=100)
        current_timestamp = _StampField(max_length=40, required=False, allow_blank=True)
        order_id = _IdField(max_length=50, required=False, allow_blank=True)
        scans = serializers.ListField(child=serializers.DictField(), required=False)

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField()
        duplicate = serializers.BooleanField()

    @extend_schema(
        operation_id="webhooks_courier_shiprocket",
        request=Input,
        parameters=[
            OpenApiParameter(
                "x-api-key",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="The security token set with the webhook in Shiprocket's panel "
                "(SHIPROCKET_WEBHOOK_TOKEN).",
            )
        ],
        responses={
            200: Output,
            400: ERRORS[400],
            401: OpenApiResponse(
                ErrorSerializer, description="x-api-key missing or not the webhook token."
            ),
            413: OpenApiResponse(ErrorSerializer, description="Body too large."),
            415: OpenApiResponse(ErrorSerializer, description="Not JSON."),
        },
        description="Shiprocket tracking update (awb, current_status, current_timestamp, "
        "order_id, scans). Checked against x-api-key, stored as received, answered at once; "
        "a Celery task turns it into return events (README, Couriers).",
    )
    def post(self, request):
        expected = getattr(settings, "SHIPROCKET_WEBHOOK_TOKEN", "")
        given = request.headers.get("x-api-key", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return error_response(
                "invalid_token",
                "x-api-key: missing or not the configured webhook token.",
                {},
                status.HTTP_401_UNAUTHORIZED,
            )
        body = request.body
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return error_response(
                "parse_error", "body: a JSON object is expected.", {"field": "body"}, 400
            )
        self.Input(data=payload).is_valid(raise_exception=True)
        delivery, created = services.courier_delivery_accept(
            platform="shiprocket",
            topic=str(payload.get("current_status") or "tracking")[:100],
            body=body,
        )
        return Response(
            {"id": delivery.pk, "state": delivery.state, "duplicate": not created},
            status=status.HTTP_200_OK,
        )


class DeadLetterOutput(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField(
        source="channel_code", help_text="Channel code; empty for a courier's tracking webhook."
    )
    platform = serializers.CharField()
    topic = serializers.CharField()
    delivery_id = serializers.CharField()
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    resource_id = serializers.CharField()
    received_at = serializers.DateTimeField()
    body = serializers.CharField(source="body_text")


class DeadLetterListApi(APIView):
    required_permissions = OPS
    pagination_class = LimitOffsetPagination

    @extend_schema(
        operation_id="dead_letters_list",
        responses={200: DeadLetterOutput(many=True), **ERRORS},
        parameters=[OpenApiParameter("channel", str, description="Channel code.")],
        description="Webhooks that could not be applied, with the error and the stored body. "
        "?channel= filters.",
    )
    def get(self, request):
        qs = selectors.dead_letter_list(channel=request.query_params.get("channel"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(DeadLetterOutput(page, many=True).data)


class DeadLetterReplayApi(APIView):
    required_permissions = OPS

    @extend_schema(
        operation_id="dead_letters_replay",
        request=None,
        responses={202: DeadLetterOutput, **ERRORS},
        description="Queue a dead letter again, after the cause was fixed.",
    )
    def post(self, request, delivery_id: int):
        delivery = services.dead_letter_replay(delivery_id=delivery_id)
        return Response(DeadLetterOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


@require_GET
def healthz(request):
    """Database and broker reachability and the dead-letter count. 503 when
    the database is down (nothing works without it); a broken broker is
    reported but intake still stores webhooks."""
    body: dict = {}
    code = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = "ok"
    except Exception as exc:
        body["database"] = f"error: {type(exc).__name__}: {exc}"[:300]
        code = 503
    body["broker"] = selectors.broker_status()
    body["dead_letters"] = selectors.dead_letter_count() if code == 200 else None
    return JsonResponse(body, status=code)
