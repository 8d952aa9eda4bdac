"""Quality API: evidence uploads, QC inspections, repair orders, defect
patterns and the quality report (CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import quality as quality_flows
from oms.parsers import JSONParser, json_problem
from oms.validation import IdField
from orders.apis import ERRORS
from orders.events import EventActor
from returns.apis import ReturnOutput, return_payload
from returns.states import Disposition

from . import selectors, services
from .models import DefectPattern
from .states import Outcome


class AnyOfPermissions(BasePermission):
    """The view's ``any_of_permissions``: one of them is enough."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return any(user.has_perm(p) for p in view.any_of_permissions)


def _files(request, name: str) -> list:
    return request.FILES.getlist(name)


def _body(request) -> Mapping:
    """The request body as a mapping; a JSON null, list or scalar is a 400."""
    if not isinstance(request.data, Mapping):
        raise serializers.ValidationError(
            {"non_field_errors": [f"Expected a JSON object, got {type(request.data).__name__}."]}
        )
    return request.data


class EvidenceApi(APIView):
    permission_classes = [AnyOfPermissions]
    any_of_permissions = ["returns.add_return", "returns.record_return_event"]
    parser_classes = [MultiPartParser, FormParser]

    class Input(serializers.Serializer):
        unit = IdField()
        serial = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
        photos = serializers.ListField(
            child=serializers.FileField(),
            required=False,
            help_text="JPEG, PNG or WebP; ≤ 5 MB each; ≤ 6 per unit.",
        )

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        unit = serializers.IntegerField()
        serial = serializers.CharField()
        photos = serializers.ListField(child=serializers.DictField())
        assessment = serializers.DictField(allow_null=True)

    @extend_schema(
        operation_id="returns_evidence_create",
        request={"multipart/form-data": Input},
        responses={201: Output, **ERRORS},
        description="Attach a serial and photos to a unit of the return; the automatic checks run again.",
    )
    def post(self, request, rma: str):
        body = _body(request)
        s = self.Input(data={"unit": body.get("unit"), "serial": body.get("serial", "")})
        s.is_valid(raise_exception=True)
        evidence = quality_flows.evidence_add(
            rma=rma,
            unit_id=s.validated_data["unit"],
            serial=s.validated_data["serial"],
            photos=_files(request, "photos"),
            actor=EventActor.from_request(request),
        )
        from .models import Assessment

        assessment = (
            Assessment.objects.filter(return_item_id=evidence.return_item_id)
            .select_related("pattern__sku", "pattern__defect_type")
            .first()
        )
        return Response(
            {
                "id": evidence.pk,
                "unit": s.validated_data["unit"],
                "serial": evidence.serial,
                "photos": [
                    {
                        "id": p.pk,
                        "file": p.file.name,
                        "content_type": p.content_type,
                        "size": p.size,
                    }
                    for p in evidence.photos.all()
                ],
                "assessment": selectors.assessment_body(assessment),
            },
            status=status.HTTP_201_CREATED,
        )


class InspectionApi(APIView):
    required_permissions = ["returns.inspect_return"]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class Input(serializers.Serializer):
        unit = IdField()
        passed = serializers.BooleanField()
        grade = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
        disposition = serializers.ChoiceField(
            choices=Disposition.choices, required=False, allow_blank=True, default=""
        )
        checklist = serializers.JSONField(
            required=False,
            default=dict,
            help_text="Item → true/false (a JSON string in multipart).",
        )
        notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
        defect_type = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=40
        )
        event_id = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=150
        )
        photos = serializers.ListField(child=serializers.FileField(), required=False)

        def validate_checklist(self, value):
            if isinstance(value, str):
                try:
                    value = json.loads(value or "{}")
                except (ValueError, RecursionError) as exc:
                    raise serializers.ValidationError("is not valid JSON.") from exc
            problem = json_problem(value, settings.OMS_MAX_JSON_DEPTH)
            if problem:
                raise serializers.ValidationError(problem)
            return value

    @extend_schema(
        operation_id="returns_inspection_create",
        request={"multipart/form-data": Input, "application/json": Input},
        responses={201: ReturnOutput, **ERRORS},
        description="QC one received unit: grade, checklist, photos and disposition. "
        "Goes through the same engine as a qc_result event.",
    )
    def post(self, request, rma: str):
        body = _body(request)
        raw = {k: body.get(k) for k in self.Input().fields if k != "photos" and k in body}
        s = self.Input(data=raw)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        _, held = quality_flows.inspection_record_held(
            rma=rma,
            data=services.InspectionData(
                unit=v["unit"],
                passed=v["passed"],
                grade=v["grade"],
                disposition=v["disposition"],
                notes=v["notes"],
                checklist=v["checklist"],
                defect_type=v["defect_type"],
                event_id=v["event_id"],
                photos=_files(request, "photos"),
            ),
            actor=EventActor.from_request(request),
        )
        # The body from what the QC change held (quality's keys read again).
        return Response(return_payload(rma, **held), status=status.HTTP_201_CREATED)


class RepairEventApi(APIView):
    required_permissions = ["returns.inspect_return"]

    class Input(serializers.Serializer):
        type = serializers.ChoiceField(choices=["started", "completed"])
        notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField()
        shipment = serializers.IntegerField(allow_null=True)

    @extend_schema(operation_id="repairs_event", request=Input, responses={200: Output, **ERRORS})
    def post(self, request, repair_id: int):
        s = self.Input(data=request.data)
        s.is_valid(raise_exception=True)
        repair = quality_flows.repair_handle_event(
            repair_id=repair_id,
            type=s.validated_data["type"],
            notes=s.validated_data["notes"],
            actor=EventActor.from_request(request),
        )
        return Response({"id": repair.pk, "state": repair.state, "shipment": repair.shipment_id})


class PatternOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField(source="sku.code", allow_null=True, default=None)
    serial_from = serializers.CharField()
    serial_to = serializers.CharField()
    batch = serializers.CharField()
    defect_type = serializers.CharField(source="defect_type.code", allow_null=True, default=None)
    outcome = serializers.CharField()
    note = serializers.CharField()
    source = serializers.CharField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DefectPatternApi(APIView):
    required_permissions = {
        "POST": ["quality.add_defectpattern"],
        "GET": ["quality.view_defectpattern"],
    }

    class Input(serializers.Serializer):
        sku = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
        serial_from = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=100
        )
        serial_to = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=100
        )
        batch = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
        defect_type = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=40
        )
        outcome = serializers.ChoiceField(
            choices=[o for o in Outcome.values if o != Outcome.REVIEW]
        )
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
        source = serializers.CharField(
            required=False, allow_blank=True, default="api", max_length=60
        )

    @extend_schema(
        operation_id="defect_patterns_create",
        request=Input,
        responses={201: PatternOutput, **ERRORS},
    )
    def post(self, request):
        s = self.Input(data=request.data)
        s.is_valid(raise_exception=True)
        pattern = services.defect_pattern_create(**s.validated_data)
        return Response(PatternOutput(pattern).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="defect_patterns_list", responses={200: PatternOutput(many=True), **ERRORS}
    )
    def get(self, request):
        qs = DefectPattern.objects.select_related("sku", "defect_type").filter(active=True)
        return Response(PatternOutput(qs, many=True).data)


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, str | bytes) else json.dumps(data)


class QualityReportCsvApi(APIView):
    required_permissions = ["quality.view_skuquality"]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="quality_report_csv",
        # Always CSV (errors in the JSON error shape): there is no ?format= to choose.
        parameters=[OpenApiParameter("format", exclude=True)],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERRORS},
        description="Return and defect rates per SKU (outliers flagged against their category), "
        "per batch, and the top defect types.",
    )
    def get(self, request):
        out = io.StringIO()
        writer = csv.writer(out)
        for row in selectors.report_csv_rows(selectors.quality_report()):
            writer.writerow([_cell(c) for c in row])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="quality-report.csv"'
        return response
