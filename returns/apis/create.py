"""Returns API, creating: what is returnable, the quote, create (idempotent)
and the list."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import return_intake
from oms.idempotency import idempotent
from oms.pagination import LimitOffsetPagination
from oms.validation import IdField, InputSerializer
from orders.apis import ERRORS
from orders.events import EventActor
from orders.selectors import order_get

from .. import selectors, services
from ..states import RefundMethod, Resolution
from .detail import return_payload


class ReturnableApi(APIView):
    required_permissions = ["orders.view_order"]

    class Output(serializers.Serializer):
        line = serializers.IntegerField()
        sku = serializers.CharField()
        name = serializers.CharField()
        quantity = serializers.IntegerField()
        returnable_quantity = serializers.IntegerField()
        returnable_units = serializers.ListField(child=serializers.IntegerField())
        window_ends_at = serializers.DateTimeField(allow_null=True)
        reasons = serializers.ListField(child=serializers.CharField())

    @extend_schema(operation_id="orders_returnable", responses={200: Output(many=True), **ERRORS})
    def get(self, request, number: str):
        return Response(
            self.Output(
                selectors.order_returnable(order_get(number, for_detail=False)), many=True
            ).data
        )


class ItemInput(serializers.Serializer):
    unit = IdField(required=False)
    line = IdField(required=False)
    quantity = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1000)
    reason = serializers.CharField(max_length=40)
    resolution = serializers.ChoiceField(choices=Resolution.choices)
    exchange_sku = serializers.CharField(
        required=False, allow_null=True, default=None, max_length=100
    )
    serial = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    defect_type = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=40,
        help_text="Defect type code (required for defect and damage reasons).",
    )

    def validate(self, attrs):
        if ("unit" in attrs) == ("line" in attrs):
            raise serializers.ValidationError("give either unit or line (with quantity).")
        return attrs


class PayoutInput(serializers.Serializer):
    upi_id = serializers.CharField(required=False, max_length=256)
    account_name = serializers.CharField(required=False, max_length=200)
    account_number = serializers.CharField(required=False, max_length=18)
    ifsc = serializers.CharField(required=False, max_length=11)


class ReturnInput(InputSerializer):
    order = serializers.CharField(max_length=20)
    items = ItemInput(many=True, allow_empty=False)
    refund_method = serializers.ChoiceField(
        choices=RefundMethod.choices, default=RefundMethod.ORIGINAL
    )
    payout = PayoutInput(required=False, default=dict)
    location = serializers.SlugField(
        required=False,
        allow_null=True,
        default=None,
        max_length=40,
        help_text="Where the customer drops it off (a store, for return-in-store).",
    )


def _request(v: dict, *, channel: str, override: bool = False) -> services.ReturnRequest:
    return services.ReturnRequest(
        order=v["order"],
        refund_method=v["refund_method"],
        payout=dict(v.get("payout") or {}),
        location=v.get("location"),
        channel=channel,
        override_eligibility=override,
        items=[
            services.ItemRequest(
                reason=i["reason"],
                resolution=i["resolution"],
                unit=i.get("unit"),
                line=i.get("line"),
                quantity=i.get("quantity", 1),
                exchange_sku=i.get("exchange_sku"),
                serial=i.get("serial", ""),
                note=i.get("note", ""),
                defect_type=i.get("defect_type", ""),
            )
            for i in v["items"]
        ],
    )


class BreakdownOutput(serializers.Serializer):
    currency = serializers.CharField()
    items = serializers.CharField()
    fees = serializers.CharField()
    fee_details = serializers.DictField()
    shipping = serializers.CharField()
    exchange_difference = serializers.CharField()
    to_collect = serializers.CharField()
    total = serializers.CharField()
    capped = serializers.BooleanField()
    tenders = serializers.ListField(child=serializers.DictField())
    units = serializers.ListField(child=serializers.DictField())
    notes = serializers.ListField(child=serializers.CharField())


class QuoteApi(APIView):
    required_permissions = ["returns.add_return"]

    class Output(serializers.Serializer):
        type = serializers.CharField()
        is_full_return = serializers.BooleanField()
        breakdown = BreakdownOutput()
        risk = serializers.DictField()

    @extend_schema(
        operation_id="returns_quote",
        request=ReturnInput,
        responses={200: Output, **ERRORS},
        description="The refund a return would produce, without writing anything.",
    )
    def post(self, request):
        s = ReturnInput(data=request.data)
        s.is_valid(raise_exception=True)
        return Response(return_intake.return_quote(_request(s.validated_data, channel="api")))


def _created_body(return_request) -> dict | None:
    """The 201 body from the objects the creating transaction holds (the same
    keys and values ``return_payload`` would read back), or None when the
    flow ran reactions that may have changed them."""
    items = return_request.__dict__.get("created_items")
    if items is None:
        return None
    return {
        "rma": return_request.rma,
        "type": return_request.type,
        "state": return_request.state,
        "is_full_return": return_request.is_full_return,
        "refund": {
            "estimated": return_request.estimate.get("total"),
            "breakdown": return_request.estimate,
        },
        "risk": {"score": return_request.risk_score, "reasons": return_request.risk_reasons},
        "policy_version": return_request.policy.version,
        "units": [
            {"id": i.unit_id, "state": i.unit.state, "resolution": i.resolution}
            for i in sorted(items, key=lambda i: i.pk)
        ],
    }


class ReturnCreateApi(APIView):
    required_permissions = {"POST": ["returns.add_return"], "GET": ["returns.view_return"]}
    # GET pages with ?limit=&offset= and answers {count, next, previous, results}.
    pagination_class = LimitOffsetPagination

    class Output(serializers.Serializer):
        rma = serializers.CharField()
        type = serializers.CharField()
        state = serializers.CharField()
        is_full_return = serializers.BooleanField()
        units = serializers.ListField(child=serializers.DictField())
        refund = serializers.DictField()
        risk = serializers.DictField()
        policy_version = serializers.IntegerField()

    @extend_schema(
        operation_id="returns_create",
        request=ReturnInput,
        responses={201: Output, **ERRORS},
        description="Create a return. Send an Idempotency-Key header to retry safely.",
    )
    def post(self, request):
        s = ReturnInput(data=request.data)
        s.is_valid(raise_exception=True)
        can_override = request.user.has_perm("returns.override_eligibility")
        override = bool(request.data.get("override_eligibility")) and can_override

        def produce():
            return_request = return_intake.return_create(
                _request(s.validated_data, channel="api", override=override),
                actor=EventActor.from_request(request),
            )
            out = _created_body(return_request)
            if out is not None:
                return Response(out, status=status.HTTP_201_CREATED)
            body = return_payload(return_request.rma)
            out = {
                k: body[k]
                for k in (
                    "rma",
                    "type",
                    "state",
                    "is_full_return",
                    "refund",
                    "risk",
                    "policy_version",
                )
            }
            out["units"] = [
                {"id": u["id"], "state": u["state"], "resolution": u["resolution"]}
                for u in body["units"]
            ]
            return Response(out, status=status.HTTP_201_CREATED)

        return idempotent(request, "returns.create", produce)

    class ListOutput(serializers.Serializer):
        rma = serializers.CharField()
        order = serializers.CharField(source="order.number")
        type = serializers.CharField()
        state = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="returns_list",
        responses={200: ListOutput(many=True), **ERRORS},
        parameters=[
            OpenApiParameter("state", str, description="Return state."),
            OpenApiParameter("order", str, description="Order number."),
        ],
    )
    def get(self, request):
        qs = selectors.return_list(
            state=request.query_params.get("state"), order=request.query_params.get("order")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(self.ListOutput(page, many=True).data)
