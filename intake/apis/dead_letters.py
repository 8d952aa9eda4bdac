"""Dead letters: what webhooks left behind, listed and replayed (ops only)."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.pagination import LimitOffsetPagination

from .. import selectors, services
from .common import ERRORS, OPS


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
