from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import refunds as refunds_flows
from orders.apis import ERRORS
from orders.events import EventActor
from orders.selectors import order_get

from .. import selectors

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
            for t in refund.tenders.all()
        ]


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
    retained = serializers.CharField()
    tenders_retained = serializers.CharField()
    balanced = serializers.BooleanField()
    entries = serializers.ListField(child=serializers.DictField())


class OrderLedgerApi(APIView):
    required_permissions = ["orders.view_ledgerentry"]

    @extend_schema(operation_id="orders_ledger", responses={200: LedgerOutput, **ERRORS})
    def get(self, request, number: str):
        return Response(selectors.order_ledger(order_get(number, for_detail=False)))


from .gateway_webhooks import RazorpayWebhookApi, StripeWebhookApi  # noqa: E402

__all__ = [
    "OrderLedgerApi",
    "RazorpayWebhookApi",
    "RefundListApi",
    "RefundRetryApi",
    "StripeWebhookApi",
]
