"""The Shiprocket tracking webhook."""

from __future__ import annotations

import hmac
import json

from django.conf import settings
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

from oms.errors import ErrorSerializer, error_response

from .. import services
from .common import ERRORS

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
