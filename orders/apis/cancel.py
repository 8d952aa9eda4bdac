"""Order cancellation API."""

from __future__ import annotations

from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import cancellation
from oms.errors import ERRORS
from oms.validation import IdField

from .. import services
from ..events import EventActor
from .orders import OrderOutput, order_payload


class OrderCancelApi(APIView):
    required_permissions = ["orders.change_order"]

    class Input(serializers.Serializer):
        class LineInput(serializers.Serializer):
            line = IdField()
            quantity = serializers.IntegerField(min_value=1, max_value=1000)

        units = serializers.ListField(
            child=IdField(),
            required=False,
            min_length=1,
            max_length=1000,
            help_text="Unit ids to cancel.",
        )
        lines = LineInput(
            many=True,
            required=False,
            allow_empty=False,
            help_text="Or quantities per line: backordered units go first, then the last ones.",
        )
        all = serializers.BooleanField(
            required=False, default=False, help_text="Or every unit that has not shipped."
        )
        reason = serializers.CharField(max_length=500, help_text="Why; kept on the timeline.")
        event_id = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=150,
            help_text="The caller's id for this cancellation; the same id again changes nothing "
            "and returns the order.",
        )

        def validate(self, attrs):
            given = [k for k in ("units", "lines") if attrs.get(k)] + (
                ["all"] if attrs.get("all") else []
            )
            if len(given) != 1:
                raise serializers.ValidationError("give exactly one of units, lines or all: true.")
            return attrs

    @extend_schema(
        operation_id="orders_cancel",
        request=Input,
        responses={200: OrderOutput, **ERRORS},
        description=(
            "Cancel units that have not shipped (ordered or allocated), all or nothing. "
            "Reservations go back to sellable. Prepaid tenders get a refund of the units' net "
            "paid (and the shipping charge once nothing of the order ships any more), issued "
            "after commit; cash on delivery is lowered, or voided when nothing is left to "
            "collect. A unit that has shipped or is cancelled already: 409 naming it and its "
            "state; a unit of another order: 400."
        ),
    )
    def post(self, request, number: str):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        order = services.order_get_by_number(number)
        cancellation.order_cancel(
            order=order,
            unit_ids=v.get("units"),
            lines=[(ln["line"], ln["quantity"]) for ln in v.get("lines") or []] or None,
            everything=v["all"],
            actor=EventActor.from_request(request),
            reason=v["reason"],
            external_id=v["event_id"],
        )
        return Response(order_payload(order))
