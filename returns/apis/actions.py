"""Returns API, acting on a return: events (pickup, receipt, QC, ...) and the
supervisor's review."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import return_events, return_review
from oms.validation import IdField, InputSerializer
from orders.apis import ERRORS
from orders.events import EventActor

from .. import services
from ..messages import REJECT_REASONS
from ..states import EventKind
from .detail import ReturnOutput, return_payload

MONEY = {"max_digits": 14, "decimal_places": 2}


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

    class Input(InputSerializer):
        type = serializers.ChoiceField(choices=EventKind.choices)
        location = serializers.SlugField(
            required=False, allow_null=True, default=None, max_length=40
        )
        units = serializers.ListField(
            child=IdField(), required=False, allow_null=True, default=None, max_length=1000
        )
        results = serializers.ListField(required=False, default=list)  # declared below
        amount = serializers.DecimalField(**MONEY, required=False, allow_null=True, default=None)
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
        method = serializers.ChoiceField(
            choices=["card", "upi", "wallet"],
            required=False,
            default="",
            help_text="difference_collected: how the customer paid the difference.",
        )
        tracking_number = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=100,
            help_text="exchange_dispatched: the courier's AWB for the replacement shipment.",
        )
        event_id = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=150,
            help_text="The sender's event id; a redelivered event changes nothing.",
        )

    # Declared here, where ResultInput is in scope (a class body nested in
    # this one cannot see it), in the place the placeholder keeps: the fields
    # are the class's alone, so InputSerializer builds them once per thread.
    Input._declared_fields["results"] = ResultInput(
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
            tracking_number=v["tracking_number"],
            results=[services.QcResult(**r) for r in v["results"]],
        )
        return_request, change = return_events.return_event_record(
            rma=rma, data=data, actor=EventActor.from_request(request)
        )
        if change is None:
            return Response(return_payload(rma))
        # A QC result: the body from what the change held, not read again.
        return Response(
            return_payload(rma, **return_events.return_event_held(return_request, change))
        )


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
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="For the record; never sent to the customer.",
    )


class RejectInput(ReviewInput):
    reason = serializers.ChoiceField(
        choices=list(REJECT_REASONS),
        required=False,
        default="other",
        help_text="Why: picks the message written for the customer.",
    )


class _ReviewApi(APIView):
    """Approve or reject a return held for review (supervisor permission)."""

    required_permissions = ["returns.review_return"]
    decide = None  # the use case: flows.return_review.return_approve / return_reject

    input_class = ReviewInput

    def post(self, request, rma: str):
        s = self.input_class(data=request.data)
        s.is_valid(raise_exception=True)
        type(self).decide(rma=rma, actor=EventActor.from_request(request), **s.validated_data)
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
    input_class = RejectInput

    @extend_schema(
        operation_id="returns_reject", request=RejectInput, responses={200: ReturnOutput, **ERRORS}
    )
    def post(self, request, rma: str):
        return super().post(request, rma)
