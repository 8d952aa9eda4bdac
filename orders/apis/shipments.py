"""Shipment API: ship units, report a delivery."""

from __future__ import annotations

from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import delivery
from oms.errors import ERRORS
from oms.validation import IdField

from .. import services
from ..events import EventActor
from .orders import MONEY


class ShipmentCreateApi(APIView):
    required_permissions = ["orders.add_shipment"]

    class Input(serializers.Serializer):
        units = serializers.ListField(child=IdField(), min_length=1, max_length=1000)
        tracking_number = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=100
        )
        serials = serializers.DictField(
            child=serializers.CharField(max_length=100), required=False, default=dict
        )
        shipped_at = serializers.DateTimeField(
            required=False,
            allow_null=True,
            default=None,
            help_text="When the parcel left (default now); a delivery cannot be dated before it.",
        )

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField()
        units = serializers.SerializerMethodField()

        def get_units(self, shipment) -> list[int]:
            return sorted(u.pk for u in shipment.units.all())

    @extend_schema(
        operation_id="shipments_create", request=Input, responses={201: Output, **ERRORS}
    )
    def post(self, request, number: str):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_get_by_number(number)
        shipment = services.shipment_create(
            order=order,
            unit_ids=serializer.validated_data["units"],
            actor=EventActor.from_request(request),
            tracking_number=serializer.validated_data["tracking_number"],
            serials={
                int(k): v
                for k, v in serializer.validated_data["serials"].items()
                if str(k).isdigit()
            },
            shipped_at=serializer.validated_data["shipped_at"],
        )
        return Response(self.Output(shipment).data, status=status.HTTP_201_CREATED)


class ShipmentDeliveredApi(APIView):
    required_permissions = ["orders.change_shipment"]

    class Input(serializers.Serializer):
        delivered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        refused_units = serializers.ListField(
            child=IdField(), required=False, default=list, max_length=1000
        )
        cod_collected = serializers.DecimalField(
            **MONEY, required=False, allow_null=True, default=None, min_value=0
        )
        event_id = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=150,
            help_text="Courier's event id; a redelivered event changes nothing.",
        )

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField()
        delivered_units = serializers.ListField(child=serializers.IntegerField())
        refused_units = serializers.ListField(child=serializers.IntegerField())
        cod_collected = serializers.DecimalField(**MONEY, allow_null=True)

    @extend_schema(
        operation_id="shipments_delivered", request=Input, responses={200: Output, **ERRORS}
    )
    def post(self, request, shipment_id: int):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        result = delivery.shipment_deliver(
            shipment_id=shipment_id,
            actor=EventActor.from_request(request),
            delivered_at=v["delivered_at"],
            refused_unit_ids=v["refused_units"],
            cod_collected=v["cod_collected"],
            external_id=v["event_id"],
        )
        return Response(
            self.Output(
                {
                    "id": result.shipment.pk,
                    "state": result.shipment.state,
                    "delivered_units": [u.pk for u in result.delivered],
                    "refused_units": [u.pk for u in result.refused],
                    "cod_collected": result.cod_collected,
                }
            ).data
        )
