"""Finance's reads: credit notes, and the daily export that reconciles to the
ledger (``refunds.finance_export``)."""

from __future__ import annotations

from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.csvexport import CsvRenderer, csv_response
from oms.errors import ApplicationError, NotFound
from oms.pagination import LimitOffsetPagination
from orders.apis import ERRORS

from .. import payout_selectors as selectors
from ..finance_export import finance_export_csv_rows

MONEY = {"max_digits": 14, "decimal_places": 2}


class CreditNoteOutput(serializers.Serializer):
    number = serializers.CharField()
    order = serializers.CharField(source="refund.order.number")
    rma = serializers.SerializerMethodField()
    refund = serializers.IntegerField(source="refund_id")
    issued_at = serializers.DateTimeField()
    taxable_total = serializers.DecimalField(**MONEY)
    tax_total = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    lines = serializers.ListField(child=serializers.DictField())

    def get_rma(self, note) -> str | None:
        return note.refund.return_request.rma if note.refund.return_request_id else None


class CreditNoteListApi(APIView):
    required_permissions = ["refunds.view_creditnote"]
    pagination_class = LimitOffsetPagination

    @extend_schema(
        operation_id="credit_notes_list",
        parameters=[OpenApiParameter("order", str, description="Order number.")],
        responses={200: CreditNoteOutput(many=True), **ERRORS},
        description="Credit notes with their tax breakdown, newest first.",
    )
    def get(self, request):
        qs = selectors.credit_note_list(order=request.query_params.get("order"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(CreditNoteOutput(page, many=True).data)


class CreditNoteDetailApi(APIView):
    required_permissions = ["refunds.view_creditnote"]

    @extend_schema(operation_id="credit_notes_get", responses={200: CreditNoteOutput, **ERRORS})
    def get(self, request, number: str):
        note = selectors.credit_note_list().filter(number=number[:30]).first()
        if note is None:
            raise NotFound(f"Credit note {number} does not exist.")
        return Response(CreditNoteOutput(note).data)


def export_day(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        raise ApplicationError(
            "date: give the day as YYYY-MM-DD (the brand's calendar day).",
            code="invalid",
            extra={"field": "date"},
        ) from None


class FinanceExportApi(APIView):
    required_permissions = ["refunds.view_creditnote", "refunds.view_payout"]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="finance_export_csv",
        parameters=[
            OpenApiParameter(
                "date", OpenApiTypes.DATE, required=True, description="The brand's calendar day."
            ),
            OpenApiParameter("format", exclude=True),
        ],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERRORS},
        description="The day's refunds (per tender, when the money moved), credit notes and "
        "payouts, then one reconciliation row per section and currency: the section's total "
        "against the ledger's for the same day ('balanced' or 'difference').",
    )
    def get(self, request):
        day = export_day(request.query_params.get("date"))
        return csv_response(finance_export_csv_rows(day), f"finance-{day.isoformat()}.csv")
