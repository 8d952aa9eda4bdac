"""Finance's payouts: the worklist, the bank bulk-upload file, paid (UTR) and
failed (reason). The customer's corrected details come in through
``PayoutDetailsApi`` (storefront / CX on the customer's behalf) or the portal.
Full bank details only here, for finance; everyone else sees them masked."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import payouts as payout_flows
from oms.csvexport import CsvRenderer, csv_response
from oms.pagination import LimitOffsetPagination
from orders.apis import ERRORS
from orders.events import EventActor
from returns.payout_details import UPI, payout_mask

from .. import payout_selectors as selectors
from ..states import PayoutState

MONEY = {"max_digits": 14, "decimal_places": 2}
UTR_PATTERN = r"^(\d{12}|[A-Za-z]{4}[A-Za-z0-9]{12}|[A-Za-z]{4}[A-Za-z0-9]{18})$"
FINANCE_READ = ["refunds.view_payout"]
FINANCE_WRITE = ["refunds.change_payout"]
STATE = OpenApiParameter(
    "state", str, enum=PayoutState.values, description="pending (default for the CSV), paid, failed"
)


class BeneficiaryOutput(serializers.Serializer):
    account_name = serializers.CharField(required=False)
    account_number = serializers.CharField(required=False)
    ifsc = serializers.CharField(required=False)
    upi_id = serializers.CharField(required=False)


class AttemptOutput(serializers.Serializer):
    outcome = serializers.CharField()
    utr = serializers.CharField()
    reason = serializers.CharField()
    details = serializers.CharField(source="details_masked", help_text="Masked.")
    actor = serializers.CharField()
    at = serializers.DateTimeField()


class PayoutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    state = serializers.CharField()
    rail = serializers.CharField()
    mode = serializers.SerializerMethodField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    order = serializers.CharField(source="refund.order.number")
    rma = serializers.SerializerMethodField()
    refund = serializers.IntegerField(source="refund_id")
    beneficiary = serializers.SerializerMethodField()
    utr = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    attempts = AttemptOutput(many=True)

    def get_mode(self, payout) -> str:
        return selectors.payout_mode(payout)

    def get_rma(self, payout) -> str | None:
        return payout.refund.return_request.rma if payout.refund.return_request_id else None

    @extend_schema_field(BeneficiaryOutput)
    def get_beneficiary(self, payout) -> dict:
        return dict(payout.details or {})


class PayoutListApi(APIView):
    required_permissions = FINANCE_READ
    pagination_class = LimitOffsetPagination

    @extend_schema(
        operation_id="payouts_list",
        parameters=[STATE],
        responses={200: PayoutOutput(many=True), **ERRORS},
        description="Finance's worklist, oldest first: ?state=pending are the payouts to make. "
        "Bank details in full (finance only).",
    )
    def get(self, request):
        qs = selectors.payout_list(state=request.query_params.get("state"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(PayoutOutput(page, many=True).data)


class PayoutExportApi(APIView):
    required_permissions = FINANCE_READ
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="payouts_export_csv",
        parameters=[STATE, OpenApiParameter("format", exclude=True)],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERRORS},
        description="The payouts (default: pending) as a bank bulk-payout file: payment_mode "
        "(UPI, IMPS up to 5 lakh, NEFT above), amount, beneficiary name, account number, IFSC, "
        "UPI VPA, our payout reference, narration.",
    )
    def get(self, request):
        state = request.query_params.get("state", PayoutState.PENDING)
        rows = selectors.payout_bank_rows(selectors.payout_list(state=state))
        return csv_response(rows, f"payouts-{state}.csv")


class PaidInput(serializers.Serializer):
    utr = serializers.RegexField(
        UTR_PATTERN,
        max_length=22,
        help_text="The bank's reference: a 12-digit IMPS/UPI RRN, or a 16- (NEFT) or "
        "22-character (RTGS) UTR starting with the bank's 4-letter code.",
        error_messages={"invalid": "give the bank's 12-digit RRN or 16/22-character UTR."},
    )


class FailedInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the bank returned it.")


def _out(request, payout_id: int) -> Response:
    return Response(PayoutOutput(selectors.payout_get(payout_id)).data)


class PayoutPaidApi(APIView):
    required_permissions = FINANCE_WRITE

    @extend_schema(
        operation_id="payouts_paid",
        request=PaidInput,
        responses={200: PayoutOutput, **ERRORS},
        description="Record a pending payout as paid with the bank's UTR: its refund tender is "
        "refunded on the ledger, and with its refund's last payout the refund is issued and the "
        "customer told, with the UTR. The same UTR again is a no-op; 409 when not pending.",
    )
    def post(self, request, payout_id: int):
        s = PaidInput(data=request.data)
        s.is_valid(raise_exception=True)
        payout_flows.payout_paid(
            payout_id=payout_id, utr=s.validated_data["utr"], actor=EventActor.from_request(request)
        )
        return _out(request, payout_id)


class PayoutFailedApi(APIView):
    required_permissions = FINANCE_WRITE

    @extend_schema(
        operation_id="payouts_failed",
        request=FailedInput,
        responses={200: PayoutOutput, **ERRORS},
        description="The bank returned a pending payout (wrong details): the customer is asked "
        "to correct them in the portal; the corrected payout comes back as pending. The same "
        "reason again is a no-op; 409 when not pending.",
    )
    def post(self, request, payout_id: int):
        s = FailedInput(data=request.data)
        s.is_valid(raise_exception=True)
        payout_flows.payout_failed(
            payout_id=payout_id,
            reason=s.validated_data["reason"],
            actor=EventActor.from_request(request),
        )
        return _out(request, payout_id)


class DetailsInput(serializers.Serializer):
    """``{"upi_id"}``, or ``{"account_name", "account_number", "ifsc"}``."""

    upi_id = serializers.RegexField(UPI, required=False, max_length=256)
    account_name = serializers.CharField(required=False, max_length=100)
    account_number = serializers.RegexField(r"^\d{6,18}$", required=False, max_length=18)
    ifsc = serializers.RegexField(r"^[A-Za-z]{4}0[A-Za-z0-9]{6}$", required=False, max_length=11)


class MaskedPayoutOutput(serializers.Serializer):
    reference = serializers.CharField()
    state = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    details = serializers.SerializerMethodField()

    def get_details(self, payout) -> dict:
        return payout_mask(payout.details)


class PayoutDetailsApi(APIView):
    required_permissions = ["returns.add_return"]

    @extend_schema(
        operation_id="returns_payout_details",
        request=DetailsInput,
        responses={200: MaskedPayoutOutput(many=True), **ERRORS},
        description="The customer's corrected bank or UPI details after the bank returned a "
        "payout: {upi_id} or {account_name, account_number, ifsc}. The return's payouts that "
        "failed go back to finance's worklist (no new refund). Answers them masked. The same "
        "details again are a no-op; 409 when no payout waits for a correction.",
    )
    def post(self, request, rma: str):
        s = DetailsInput(data=request.data)
        s.is_valid(raise_exception=True)
        payouts = payout_flows.payout_details_update(
            rma=rma, details=s.validated_data, actor=EventActor.from_request(request)
        )
        return Response(MaskedPayoutOutput(payouts, many=True).data)
