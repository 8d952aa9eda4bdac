"""Returns API: returnable, quote, create (idempotent), detail, events, review."""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import return_events, return_intake, return_review
from flows.read import return_detail_extend
from oms.idempotency import idempotent
from oms.pagination import LimitOffsetPagination
from oms.validation import IdField
from orders.apis import ERRORS, OrderTimelineApi
from orders.events import EventActor
from orders.models import TimelineEvent
from orders.selectors import order_get

from . import selectors, services
from .states import EventKind, RefundMethod, Resolution

MONEY = {"max_digits": 14, "decimal_places": 2}


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


class ReturnInput(serializers.Serializer):
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


def return_payload(rma: str) -> dict:
    ret = selectors.return_get(rma)
    from refunds.services import refunds_by_return

    refunds = refunds_by_return([ret.pk]).get(ret.pk, [])
    units = [
        {
            "id": i.unit_id,
            "line": i.unit.line_id,
            "sku": i.unit.sku_id and i.unit.sku.code,
            "state": i.unit.state,
            "resolution": i.resolution,
            "reason": i.reason.code,
            "exchange_sku": i.exchange_sku.code if i.exchange_sku else None,
            "price_difference": str(i.price_difference),
            "difference_collected": i.difference_collected,
            "replacement_unit": i.replacement_unit_id,
            "qc": None
            if i.qc_passed is None
            else {
                "passed": i.qc_passed,
                "grade": i.grade,
                "disposition": i.disposition,
                "notes": i.qc_notes,
            },
        }
        for i in ret.items.all()
    ]
    events = TimelineEvent.objects.filter(
        Q(order_id=ret.order_id)
        & (
            Q(entity="return", entity_id=ret.rma)
            | Q(payload__rma=ret.rma)
            | Q(entity="refund", entity_id__in=[str(r.pk) for r in refunds])
        )
    ).order_by("occurred_at", "pk")
    data = {
        "rma": ret.rma,
        "order": ret.order.number,
        "type": ret.type,
        "is_full_return": ret.is_full_return,
        "state": ret.state,
        "policy_version": ret.policy.version,
        "refund_method": ret.refund_method,
        "channel": ret.channel,
        "location": ret.location.code if ret.location else None,
        "pickup_attempts": ret.pickup_attempts,
        "risk": {"score": ret.risk_score, "reasons": ret.risk_reasons},
        "created_at": ret.created_at,
        "units": units,
        "refund": {"estimated": ret.estimate.get("total"), "breakdown": ret.estimate},
        "refunds": [
            {
                "id": r.pk,
                "kind": r.kind,
                "state": r.state,
                "amount": str(r.amount),
                "method": r.method,
                "credit_note": getattr(getattr(r, "credit_note", None), "number", None),
                "tenders": [
                    {"method": t.instrument, "amount": str(t.amount)} for t in r.tenders.all()
                ],
            }
            for r in refunds
        ],
        "timeline": OrderTimelineApi.Output(events, many=True).data,
    }
    # sla's legs and quality's per-unit keys, composed above the apps
    return return_detail_extend(ret, data)


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
            ret = return_intake.return_create(
                _request(s.validated_data, channel="api", override=override),
                actor=EventActor.from_request(request),
            )
            body = return_payload(ret.rma)
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
    # Added by quality (flows.read.return_detail_extend).
    defect_type = serializers.CharField(allow_null=True, required=False)
    evidence_photos = serializers.IntegerField(required=False)
    assessment = serializers.DictField(
        allow_null=True,
        required=False,
        help_text="warranty (in_term|expired|none), pattern, serial_match, recommendation "
        "(refund|partial_credit|repair|replacement|reject|review), reasons.",
    )
    repair = serializers.DictField(allow_null=True, required=False)


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


class ReturnEventApi(APIView):
    required_permissions = {"POST": []}  # per event type, checked in post()

    class ResultInput(serializers.Serializer):
        unit = IdField()
        passed = serializers.BooleanField()
        grade = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
        disposition = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=30
        )
        notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    class Input(serializers.Serializer):
        type = serializers.ChoiceField(choices=EventKind.choices)
        location = serializers.SlugField(
            required=False, allow_null=True, default=None, max_length=40
        )
        units = serializers.ListField(
            child=IdField(), required=False, allow_null=True, default=None, max_length=1000
        )
        results = serializers.ListField(required=False, default=list)  # set in __init__
        amount = serializers.DecimalField(**MONEY, required=False, allow_null=True, default=None)
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
        method = serializers.ChoiceField(
            choices=["card", "upi", "wallet"],
            required=False,
            default="",
            help_text="difference_collected: how the customer paid the difference.",
        )
        event_id = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=150,
            help_text="The sender's event id; a redelivered event changes nothing.",
        )

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["results"] = ReturnEventApi.ResultInput(
                many=True, required=False, default=list, help_text="qc_result: one per unit."
            )

    @extend_schema(
        operation_id="returns_event",
        request=Input,
        responses={200: ReturnOutput, **ERRORS},
    )
    def post(self, request, rma: str):
        s = self.Input(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        needed = EVENT_PERMISSIONS.get(v["type"], ["returns.record_return_event"])
        if not any(request.user.has_perm(p) for p in needed):
            raise PermissionDenied(
                f"'{v['type']}' needs the permission " + " or ".join(needed) + "."
            )
        data = services.ReturnEventData(
            method=v.get("method", ""),
            type=v["type"],
            location=v["location"],
            units=v["units"],
            amount=v["amount"],
            reason=v["reason"],
            event_id=v["event_id"],
            results=[services.QcResult(**r) for r in v["results"]],
        )
        return_events.return_handle_event(
            rma=rma, data=data, actor=EventActor.from_request(request)
        )
        return Response(return_payload(rma))


# Receipt and QC belong to the warehouse (a supervisor may act for it): with
# them a CX key alone could create, receive and pass a return and so release
# its refund. Events that move money or change how a return is resolved: a
# warehouse or courier key may not post them (the SLA sweeper calls the
# service directly). Any other event needs returns.record_return_event.
EVENT_PERMISSIONS = {
    "received": ["returns.inspect_return"],
    "qc_result": ["returns.inspect_return"],
    "convert_to_keep": ["returns.review_return"],
    "convert_to_refund": ["returns.review_return"],
    "exchange_relocated": ["returns.review_return"],
    "difference_collected": ["returns.review_return", "refunds.change_refund"],
}


class ReviewInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class _ReviewApi(APIView):
    """Approve or reject a return held for review (supervisor permission)."""

    required_permissions = ["returns.review_return"]
    decide = None  # the use case: flows.return_review.return_approve / return_reject

    def post(self, request, rma: str):
        s = ReviewInput(data=request.data)
        s.is_valid(raise_exception=True)
        type(self).decide(
            rma=rma, actor=EventActor.from_request(request), note=s.validated_data["note"]
        )
        return Response(return_payload(rma))


class ReturnApproveApi(_ReviewApi):
    decide = return_review.return_approve

    @extend_schema(
        operation_id="returns_approve", request=ReviewInput, responses={200: ReturnOutput, **ERRORS}
    )
    def post(self, request, rma: str):
        return super().post(request, rma)


class ReturnRejectApi(_ReviewApi):
    decide = return_review.return_reject

    @extend_schema(
        operation_id="returns_reject", request=ReviewInput, responses={200: ReturnOutput, **ERRORS}
    )
    def post(self, request, rma: str):
        return super().post(request, rma)
