"""Catalogue and stock sync, as a PIM or WMS would call them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.errors import ERRORS, NotFound
from oms.validation import path_code

from . import selectors, services
from .models import SKU, Location
from .states import DISPOSITIONS, Bucket, LocationKind, StockDisposition

MONEY = {"max_digits": 14, "decimal_places": 2}
# One adjustment moves at most this many units either way (the balance column
# is a 32-bit integer).
MAX_ADJUSTMENT = 1_000_000


def _actor_label(request) -> str:
    """Who asked, as the stock movement's note names them: the API key's name
    and role, else the staff user's name (the label of the timeline's actor)."""
    api_key = getattr(request, "auth", None)
    if api_key is not None and hasattr(api_key, "role"):
        return f"{api_key.name} ({api_key.role})"
    return request.user.get_username()


class SkuOutput(serializers.Serializer):
    sku = serializers.CharField(source="code")
    product = serializers.CharField(source="product.code")
    name = serializers.CharField()
    attributes = serializers.JSONField()
    price = serializers.DecimalField(**MONEY)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    category = serializers.CharField()
    returnable = serializers.BooleanField()
    warranty_months = serializers.IntegerField()


class SkuUpsertApi(APIView):
    required_permissions = {"PUT": ["inventory.change_sku"], "GET": ["orders.view_order"]}

    class Input(serializers.Serializer):
        product = serializers.SlugField(max_length=100)
        name = serializers.CharField(max_length=255)
        attributes = serializers.DictField(
            child=serializers.CharField(max_length=100), required=False, default=dict
        )
        price = serializers.DecimalField(**MONEY, min_value=0)
        tax_rate = serializers.DecimalField(
            max_digits=5, decimal_places=2, min_value=0, max_value=100, default=0
        )
        category = serializers.CharField(
            max_length=100, required=False, allow_blank=True, default=""
        )
        returnable = serializers.BooleanField(default=True)
        warranty_months = serializers.IntegerField(min_value=0, max_value=600, default=0)

    @extend_schema(
        operation_id="skus_upsert", request=Input, responses={200: SkuOutput, 201: SkuOutput}
    )
    def put(self, request, code: str):
        path_code(code, max_length=SKU._meta.get_field("code").max_length, name="sku")
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        sku, created = services.sku_upsert(code=code, **serializer.validated_data)
        sku = SKU.objects.select_related("product").get(pk=sku.pk)
        return Response(
            SkuOutput(sku).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(operation_id="skus_retrieve", responses={200: SkuOutput})
    def get(self, request, code: str):
        sku = SKU.objects.select_related("product").filter(code=code).first()
        if sku is None:
            raise NotFound(f"SKU {code} does not exist.")
        return Response(SkuOutput(sku).data)


class LocationUpsertApi(APIView):
    required_permissions = ["inventory.change_location"]

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        kind = serializers.ChoiceField(choices=LocationKind.choices)
        is_default = serializers.BooleanField(required=False, allow_null=True, default=None)

    class Output(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        kind = serializers.CharField()
        is_default = serializers.BooleanField()

    @extend_schema(
        operation_id="locations_upsert", request=Input, responses={200: Output, 201: Output}
    )
    def put(self, request, code: str):
        path_code(code, max_length=Location._meta.get_field("code").max_length, name="code")
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        location, created = services.location_upsert(code=code, **serializer.validated_data)
        return Response(
            self.Output(location).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class StockRowOutput(serializers.Serializer):
    sku = serializers.CharField(source="sku.code")
    location = serializers.CharField(source="location.code")
    bucket = serializers.CharField()
    quantity = serializers.IntegerField()


class StockAdjustmentApi(APIView):
    required_permissions = ["inventory.add_stockmovement"]

    class Input(serializers.Serializer):
        sku = serializers.CharField(max_length=100)
        location = serializers.SlugField(max_length=40)
        bucket = serializers.ChoiceField(choices=Bucket.choices)
        quantity = serializers.IntegerField(
            min_value=-MAX_ADJUSTMENT,
            max_value=MAX_ADJUSTMENT,
            help_text="Signed: positive adds stock, negative removes it.",
        )
        reason = serializers.CharField(max_length=255)

        def validate_quantity(self, value):
            if value == 0:
                raise serializers.ValidationError("must not be zero.")
            return value

    @extend_schema(
        operation_id="stock_adjust", request=Input, responses={201: StockRowOutput(many=True)}
    )
    def post(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        sku = SKU.objects.filter(code=v["sku"]).first()
        if sku is None:
            raise serializers.ValidationError({"sku": [f"unknown SKU {v['sku']!r}."]})
        location = Location.objects.filter(code=v["location"]).first()
        if location is None:
            raise serializers.ValidationError(
                {"location": [f"unknown location {v['location']!r}."]}
            )
        services.stock_adjust(
            sku=sku,
            location=location,
            bucket=v["bucket"],
            quantity=v["quantity"],
            reason=v["reason"],
        )
        rows = selectors.stock_list(sku=sku.code, location=location.code)
        return Response(StockRowOutput(rows, many=True).data, status=status.HTTP_201_CREATED)


def _sku_and_location(v: dict) -> tuple[SKU, Location]:
    sku = SKU.objects.filter(code=v["sku"]).first()
    if sku is None:
        raise serializers.ValidationError({"sku": [f"unknown SKU {v['sku']!r}."]})
    location = Location.objects.filter(code=v["location"]).first()
    if location is None:
        raise serializers.ValidationError({"location": [f"unknown location {v['location']!r}."]})
    return sku, location


class StockDispositionApi(APIView):
    """Take stock out of quarantine or liquidation: the only way out of them."""

    required_permissions = ["inventory.dispose_stock"]

    class Input(serializers.Serializer):
        sku = serializers.CharField(max_length=100)
        location = serializers.SlugField(max_length=40)
        bucket = serializers.ChoiceField(choices=sorted(DISPOSITIONS))
        disposition = serializers.ChoiceField(
            choices=StockDisposition.choices,
            help_text="quarantine: dispose, return_to_vendor or liquidate; "
            "liquidation: sold_off, dispose or return_to_vendor.",
        )
        quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
        reason = serializers.CharField(max_length=200)

    @extend_schema(
        operation_id="stock_disposition",
        request=Input,
        responses={201: StockRowOutput(many=True), **ERRORS},
    )
    def post(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        sku, location = _sku_and_location(v)
        services.stock_disposition(
            sku=sku,
            location=location,
            bucket=v["bucket"],
            disposition=v["disposition"],
            quantity=v["quantity"],
            reason=v["reason"],
            actor_label=_actor_label(request),
        )
        rows = selectors.stock_list(sku=sku.code, location=location.code)
        return Response(StockRowOutput(rows, many=True).data, status=status.HTTP_201_CREATED)


class StockListApi(APIView):
    required_permissions = ["inventory.view_stockbalance"]

    @extend_schema(operation_id="stock_list", responses={200: StockRowOutput(many=True)})
    def get(self, request):
        rows = selectors.stock_list(
            sku=request.query_params.get("sku"), location=request.query_params.get("location")
        )
        return Response(StockRowOutput(rows[:1000], many=True).data)
