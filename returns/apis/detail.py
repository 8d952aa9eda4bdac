"""Returns API, reading: the body of a return (GET /returns/{rma}/ and every
write on a return), composed by the shared read model ``flows.read.return_detail``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from flows.read import return_detail
from orders.apis import ERRORS, OrderTimelineApi, timeline_values_body


def return_payload(rma: str, **held) -> dict:
    """The return's body as the API shows it (timeline rows serialized).
    ``held``: what the request's change already holds (``return_request``,
    ``items``, ``refunds``, ``legs``; see ``flows.read.return_detail``)."""
    data = return_detail(rma, **held)
    data["timeline"] = timeline_values_body(data["timeline"])
    return data


class ReturnUnitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    line = serializers.IntegerField()
    sku = serializers.CharField()
    state = serializers.CharField()
    resolution = serializers.CharField()
    reason = serializers.CharField()
    exchange_sku = serializers.CharField(allow_null=True)
    price_difference = serializers.CharField()
    difference_collected = serializers.BooleanField()
    replacement_unit = serializers.IntegerField(allow_null=True)
    qc = serializers.DictField(allow_null=True)
    # Added by quality (flows.read.return_detail).
    defect_type = serializers.CharField(allow_null=True, required=False)
    evidence_photos = serializers.IntegerField(required=False)
    assessment = serializers.DictField(
        allow_null=True,
        required=False,
        help_text="warranty (in_term|expired|none), pattern, serial_match, recommendation "
        "(refund|partial_credit|repair|replacement|reject|review), reasons.",
    )
    repair = serializers.DictField(allow_null=True, required=False)


class PickupOutput(serializers.Serializer):
    courier = serializers.CharField(help_text="manual (events posted) or shiprocket.")
    status = serializers.CharField(
        help_text="blank (manual), booking, booked, not_booked (retried; console queue), "
        "unserviceable (self-ship or store drop with a label)."
    )
    awb = serializers.CharField()
    courier_name = serializers.CharField()
    scheduled_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    label_url = serializers.CharField(
        allow_null=True, help_text="The printable label (portal) when the courier cannot collect."
    )


class ReturnOutput(serializers.Serializer):
    """The body of GET /returns/{rma}/ (and of every write on a return)."""

    rma = serializers.CharField()
    order = serializers.CharField()
    type = serializers.CharField()
    is_full_return = serializers.BooleanField()
    state = serializers.CharField()
    policy_version = serializers.IntegerField()
    refund_method = serializers.CharField()
    channel = serializers.CharField()
    location = serializers.CharField(allow_null=True)
    pickup_attempts = serializers.IntegerField()
    pickup = PickupOutput()
    risk = serializers.DictField()
    created_at = serializers.DateTimeField()
    units = ReturnUnitOutput(many=True)
    refund = serializers.DictField()
    refunds = serializers.ListField(child=serializers.DictField())
    timeline = OrderTimelineApi.Output(many=True)
    sla = serializers.ListField(child=serializers.DictField(), required=False)


class ReturnDetailApi(APIView):
    required_permissions = ["returns.view_return"]

    @extend_schema(operation_id="returns_retrieve", responses={200: ReturnOutput, **ERRORS})
    def get(self, request, rma: str):
        return Response(return_payload(rma))
