from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from oms.pagination import LimitOffsetPagination
from orders.apis import ERRORS

from .models import Leg
from .states import LegState


class LegOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rma = serializers.CharField(source="return_request.rma")
    leg = serializers.CharField()
    attempt = serializers.IntegerField()
    state = serializers.CharField()
    owner_team = serializers.CharField()
    started_at = serializers.DateTimeField()
    at_risk_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    breached_at = serializers.DateTimeField(allow_null=True)
    action = serializers.CharField()
    action_reason = serializers.CharField()


class LegListApi(APIView):
    required_permissions = ["returns.view_return"]
    pagination_class = LimitOffsetPagination

    @extend_schema(
        operation_id="sla_legs_list",
        responses={200: LegOutput(many=True), **ERRORS},
        parameters=[
            OpenApiParameter("state", str, enum=LegState.values),
            OpenApiParameter("leg", str),
            OpenApiParameter("owner_team", str),
        ],
    )
    def get(self, request):
        qs = Leg.objects.select_related("return_request").order_by("due_at", "pk")
        for key in ("state", "leg", "owner_team"):
            value = request.query_params.get(key)
            if value:
                if key == "state" and value not in LegState.values:
                    raise serializers.ValidationError(
                        {"state": [f"must be one of {', '.join(LegState.values)}."]}
                    )
                qs = qs.filter(**{key: value})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(LegOutput(page, many=True).data)
