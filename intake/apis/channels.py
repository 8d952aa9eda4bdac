"""Channel settings: PUT /api/v1/channels/{code}/ (ops only)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from couriers import config as courier_config
from orders import webhooks
from orders.models import Channel

from .. import services
from .common import ERRORS, OPS, OUTBOUND_FIELDS


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
