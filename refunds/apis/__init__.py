from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import recoveries as recovery_flows
from flows import refunds as refunds_flows
from oms.errors import ApplicationError
from oms.pagination import LimitOffsetPagination
from orders.apis import ERRORS
from orders.events import EventActor
from orders.selectors import order_get

from .. import selectors
from ..states import RecoveryState

MONEY = {"max_digits": 14, "decimal_places": 2}


class RefundOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="order.number")
    rma = serializers.SerializerMethodField()
    kind = serializers.CharField()
    state = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    method = serializers.CharField()
    items = serializers.DecimalField(source="items_amount", **MONEY)
    fees = serializers.DecimalField(source="fees_amount", **MONEY)
    shipping = serializers.DecimalField(source="shipping_amount", **MONEY)
    credit_note = serializers.SerializerMethodField()
    tenders = serializers.SerializerMethodField()
    loyalty = serializers.SerializerMethodField(
        help_text="Points this refund reversed (earned) and gave back (redeemed); "
        "null when it moved none."
    )
    store_credit = serializers.SerializerMethodField(
        help_text="The wallet credit this refund made and the balance after it; null when none."
    )
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    issued_at = serializers.DateTimeField(allow_null=True, help_text="null until issued.")

    def get_rma(self, refund) -> str | None:
        return refund.return_request.rma if refund.return_request_id else None

    def get_credit_note(self, refund) -> str | None:
        note = getattr(refund, "credit_note", None)
        return note.number if note else None

    def get_tenders(self, refund) -> list[dict]:
        return [
            {
                "method": t.instrument,
                "tender": t.payment_id,
                "amount": str(t.amount),
                "reference": t.gateway_reference,
                "gateway": t.gateway,
                "state": t.state,
                "bank_reference": t.bank_reference,
                "failure_reason": t.failure_reason,
            }
            | (
                {"points": self._points(refund, t.payment_id)}
                if t.instrument == "loyalty_points"
                else {}
            )
            for t in refund.tenders.all()
        ]

    @staticmethod
    def _points(refund, payment_id: int) -> int:
        rows = refund.breakdown.get("tenders", [])
        return next((r.get("points", 0) for r in rows if r["payment"] == payment_id), 0)

    def get_loyalty(self, refund) -> dict | None:
        adjustment = getattr(refund, "loyalty_adjustment", None)
        if adjustment is None:
            return None
        return {
            "earned_reversed": adjustment.earned_reversed,
            "redeemed_returned": adjustment.redeemed_returned,
            "units": adjustment.units,
        }

    def get_store_credit(self, refund) -> dict | None:
        entry = next(iter(refund.wallet_entries.all()), None)
        if entry is None:
            return None
        return {
            "amount": str(entry.amount),
            "balance_after": str(entry.balance_after),
            "code": entry.reference,
            "expires_at": entry.expires_at,
        }


class RefundListApi(APIView):
    required_permissions = ["refunds.view_refund"]

    @extend_schema(
        operation_id="refunds_list",
        responses={200: RefundOutput(many=True), **ERRORS},
        parameters=[
            OpenApiParameter("order", str, description="Order number."),
            OpenApiParameter("state", str, description="Refund state."),
        ],
        description="Refunds, e.g. ?order=OD-XXXX or ?state=failed (finance's queue: each "
        "with the gateway's reason per tender; at most 500, newest first).",
    )
    def get(self, request):
        qs = selectors.refund_list(
            order=request.query_params.get("order"), state=request.query_params.get("state")
        )
        return Response(RefundOutput(qs[:500], many=True).data)


class RefundRetryApi(APIView):
    required_permissions = ["refunds.change_refund"]

    @extend_schema(
        operation_id="refunds_retry",
        request=None,
        responses={200: RefundOutput, **ERRORS},
        description="Send a failed refund's failed tenders to their gateway again (as new "
        "submissions), or ask a processing one's gateway for its status. 200 with the "
        "refund's state after the attempt (failed with the reason if the gateway still "
        "refuses or cannot be reached); 409 once issued.",
    )
    def post(self, request, refund_id: int):
        refund = refunds_flows.refund_retry(
            refund_id=refund_id, actor=EventActor.from_request(request)
        )
        return Response(RefundOutput(selectors.refund_list().get(pk=refund.pk)).data)


class LedgerOutput(serializers.Serializer):
    currency = serializers.CharField()
    captured = serializers.CharField()
    exchange_collected = serializers.CharField()
    refunded = serializers.CharField()
    credit_issued = serializers.CharField()
    paid_out = serializers.CharField()
    recovery_owed = serializers.CharField(help_text="Recoveries opened: owed by the customer.")
    recovery_collected = serializers.CharField()
    recovery_written_off = serializers.CharField()
    recovery_open = serializers.CharField(help_text="Still owed: opened − collected − written off.")
    retained = serializers.CharField()
    tenders_retained = serializers.CharField()
    balanced = serializers.BooleanField()
    entries = serializers.ListField(child=serializers.DictField())


class OrderLedgerApi(APIView):
    required_permissions = ["orders.view_ledgerentry"]

    @extend_schema(operation_id="orders_ledger", responses={200: LedgerOutput, **ERRORS})
    def get(self, request, number: str):
        return Response(selectors.order_ledger(order_get(number, for_detail=False)))


# --- recoveries: amounts customers owe back -----------------------------------


class RecoveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(source="order.number")
    rma = serializers.CharField(source="return_request.rma")
    unit = serializers.IntegerField(source="unit_id")
    customer = serializers.SerializerMethodField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    reason = serializers.CharField()
    reason_label = serializers.CharField(source="get_reason_display")
    state = serializers.CharField()
    method = serializers.CharField()
    reference = serializers.CharField()
    payment_link = serializers.CharField()
    applied_order = serializers.SerializerMethodField()
    refund = serializers.IntegerField(source="refund_id", allow_null=True)
    replacement_unit = serializers.IntegerField(source="replacement_unit_id", allow_null=True)
    note = serializers.CharField(help_text="The write-off reason.")
    settled_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    collected_at = serializers.DateTimeField(allow_null=True)
    written_off_at = serializers.DateTimeField(allow_null=True)

    def get_customer(self, recovery) -> dict:
        c = recovery.customer
        return {"id": c.pk, "email": c.email, "name": c.name}

    def get_applied_order(self, recovery) -> str | None:
        return recovery.applied_order.number if recovery.applied_order_id else None


class RecoveryListApi(APIView):
    required_permissions = ["refunds.view_recovery"]
    pagination_class = LimitOffsetPagination

    @extend_schema(
        operation_id="recoveries_list",
        responses={200: RecoveryOutput(many=True), **ERRORS},
        parameters=[
            OpenApiParameter("state", str, enum=RecoveryState.values, description="open, ..."),
            OpenApiParameter("order", str, description="Order number."),
        ],
        description="Amounts customers owe back after a unit failed QC (oldest first).",
    )
    def get(self, request):
        state = request.query_params.get("state")
        if state and state not in RecoveryState.values:
            raise ApplicationError(
                f"state: must be one of {', '.join(RecoveryState.values)}.",
                extra={"field": "state"},
            )
        qs = selectors.recovery_list(state=state, order=request.query_params.get("order"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(RecoveryOutput(page, many=True).data)


class RecoveryCollectedApi(APIView):
    required_permissions = ["refunds.change_recovery"]

    class Input(serializers.Serializer):
        reference = serializers.CharField(max_length=150, help_text="The payment's reference.")

    @extend_schema(
        operation_id="recoveries_collected",
        request=Input,
        responses={200: RecoveryOutput, **ERRORS},
        description="The customer paid (payment link or with the next order). Idempotent "
        "with the same reference; 409 once written off or collected under another one.",
    )
    def post(self, request, recovery_id: int):
        data = _valid(self.Input, request)
        recovery = recovery_flows.recovery_collect(
            recovery_id=recovery_id,
            reference=data["reference"],
            actor=EventActor.from_request(request),
        )
        return Response(RecoveryOutput(selectors.recovery_list().get(pk=recovery.pk)).data)


class RecoveryWriteOffApi(APIView):
    required_permissions = ["refunds.write_off_recovery"]

    class Input(serializers.Serializer):
        reason = serializers.CharField(max_length=500, help_text="Why it is written off.")

    @extend_schema(
        operation_id="recoveries_write_off",
        request=Input,
        responses={200: RecoveryOutput, **ERRORS},
        description="A supervisor gives the amount up, with a reason. 409 once collected.",
    )
    def post(self, request, recovery_id: int):
        data = _valid(self.Input, request)
        recovery = recovery_flows.recovery_write_off(
            recovery_id=recovery_id, reason=data["reason"], actor=EventActor.from_request(request)
        )
        return Response(RecoveryOutput(selectors.recovery_list().get(pk=recovery.pk)).data)


def _valid(input_class, request) -> dict:
    serializer = input_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


from .gateway_webhooks import RazorpayWebhookApi, StripeWebhookApi  # noqa: E402

__all__ = [
    "OrderLedgerApi",
    "RazorpayWebhookApi",
    "RecoveryCollectedApi",
    "RecoveryListApi",
    "RecoveryWriteOffApi",
    "RefundListApi",
    "RefundRetryApi",
    "StripeWebhookApi",
]
