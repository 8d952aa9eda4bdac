"""Order API: intake, read, timeline, shipments, delivery."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import cancellation, delivery
from flows.read import order_detail_extend
from oms.errors import ERRORS
from oms.money import is_known_currency
from oms.pagination import LimitOffsetPagination
from oms.validation import IdField

from . import selectors, services
from .events import EventActor
from .models import Order
from .states import PaymentMethod

MONEY = {"max_digits": 14, "decimal_places": 2}


class UnitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    net_paid = serializers.DecimalField(**MONEY)
    tax = serializers.DecimalField(source="tax_amount", **MONEY)
    discount = serializers.DecimalField(source="discount_amount", **MONEY)
    serial = serializers.CharField()


class LineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    discount = serializers.DecimalField(**MONEY)
    units = serializers.SerializerMethodField()

    @extend_schema_field(UnitOutput(many=True))
    def get_units(self, line) -> list[dict]:
        return UnitOutput(self.context["units_by_line"].get(line.id, []), many=True).data


class PaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    method = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    captured = serializers.DecimalField(source="captured_amount", **MONEY)
    refunded = serializers.DecimalField(source="refunded_amount", **MONEY)
    state = serializers.CharField()


class ShipmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    units = serializers.SerializerMethodField()
    tracking_number = serializers.CharField()
    shipped_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    cod_collected = serializers.DecimalField(**MONEY, allow_null=True)

    def get_units(self, shipment) -> list[int]:
        return [u.pk for u in shipment.units.all()]


class OrderOutput(serializers.Serializer):
    number = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    external_id = serializers.CharField()
    status = serializers.SerializerMethodField()
    payment_status = serializers.SerializerMethodField()
    currency = serializers.CharField()
    placed_at = serializers.DateTimeField()
    customer = serializers.SerializerMethodField()
    prices_include_tax = serializers.BooleanField()
    totals = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    payments = PaymentOutput(many=True)
    shipments = ShipmentOutput(many=True)

    def get_status(self, order) -> str:
        return selectors.order_status(list(order.units.all()))

    def get_payment_status(self, order) -> str:
        return selectors.payment_status(list(order.payments.all()))

    def get_customer(self, order) -> dict:
        return {"name": order.customer.name, "email": order.email, "phone": order.phone}

    def get_totals(self, order) -> dict:
        return {
            "items": str(order.items_total),
            "line_discounts": str(order.line_discount_total),
            "order_discount": str(order.order_discount),
            "tax": str(order.tax_total),
            "shipping": str(order.shipping_amount),
            "grand_total": str(order.grand_total),
        }

    def get_lines(self, order) -> list[dict]:
        ctx = {"units_by_line": selectors.order_units_by_line(order)}
        return LineOutput(order.lines.all(), many=True, context=ctx).data

    def to_representation(self, order):
        # returns' key, composed above the apps (orders does not import returns)
        return order_detail_extend(order, super().to_representation(order))


def order_payload(order: Order) -> dict:
    return OrderOutput(selectors.order_get(order.number)).data


class OrderCreateApi(APIView):
    required_permissions = {"POST": ["orders.add_order"], "GET": ["orders.view_order"]}
    # GET pages with ?limit=&offset= and answers {count, next, previous, results}.
    pagination_class = LimitOffsetPagination

    class CustomerInput(serializers.Serializer):
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
        name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

        def validate(self, attrs):
            if not attrs.get("email") and not attrs.get("phone"):
                raise serializers.ValidationError("an email or a phone is required.")
            return attrs

    class LineInput(serializers.Serializer):
        sku = serializers.CharField(max_length=100)
        quantity = serializers.IntegerField(
            min_value=1,
            max_value=1000,
            error_messages={
                "min_value": "must be a positive whole number.",
                "max_value": "at most 1000 units per line.",
            },
        )
        unit_price = serializers.DecimalField(**MONEY, min_value=0)
        tax_rate = serializers.DecimalField(
            max_digits=5, decimal_places=2, min_value=0, max_value=100, default=0
        )
        discount = serializers.DecimalField(**MONEY, min_value=0, default=0)
        tax = serializers.DecimalField(
            **MONEY,
            min_value=0,
            required=False,
            allow_null=True,
            default=None,
            help_text=(
                "Tax charged on the whole line after discounts, when the storefront states it. "
                "It is split over the units in proportion to their value after discounts instead "
                "of being computed from tax_rate. With prices including tax it is the part of the "
                "price that was tax, so at most the line's value after discounts."
            ),
        )
        external_id = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=100
        )

        def validate_quantity(self, value):
            if value <= 0:
                raise serializers.ValidationError("must be a positive whole number.")
            if value > 1000:
                raise serializers.ValidationError("at most 1000 units per line.")
            return value

    class PaymentInput(serializers.Serializer):
        method = serializers.ChoiceField(choices=PaymentMethod.choices)
        amount = serializers.DecimalField(
            **MONEY, min_value=Decimal("0.01"), error_messages={"min_value": "must be positive."}
        )
        gateway = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
        reference = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=100
        )

        def validate_amount(self, value):
            if value <= 0:
                raise serializers.ValidationError("must be positive.")
            return value

    class Input(serializers.Serializer):
        channel = serializers.SlugField(max_length=40)
        external_id = serializers.CharField(max_length=100)
        currency = serializers.CharField(max_length=3)
        placed_at = serializers.DateTimeField()
        customer = serializers.DictField()  # replaced in __init__ for nesting
        prices_include_tax = serializers.BooleanField(default=True)
        lines = serializers.ListField(min_length=1, max_length=500)
        order_discount = serializers.DecimalField(**MONEY, min_value=0, default=0)
        shipping = serializers.DecimalField(**MONEY, min_value=0, default=0)
        payments = serializers.ListField(min_length=0, max_length=10)
        ship_from = serializers.SlugField(
            required=False, allow_null=True, default=None, max_length=40
        )

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["customer"] = OrderCreateApi.CustomerInput()
            self.fields["lines"] = OrderCreateApi.LineInput(many=True, allow_empty=False)
            self.fields["payments"] = OrderCreateApi.PaymentInput(many=True, allow_empty=True)

        def validate_currency(self, value):
            if not is_known_currency(value.upper()):
                raise serializers.ValidationError(f"unknown currency {value!r}.")
            return value.upper()

        def validate_placed_at(self, value):
            if value > timezone.now() + timezone.timedelta(minutes=5):
                raise serializers.ValidationError("is in the future.")
            return value

    @extend_schema(
        operation_id="orders_create",
        request=Input,
        responses={201: OrderOutput, 200: OrderOutput, **ERRORS},
        description="Create an order. The same channel + external_id returns the existing order (200).",
    )
    def post(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        data = services.OrderData(
            channel=v["channel"],
            external_id=v["external_id"],
            currency=v["currency"],
            placed_at=v["placed_at"],
            customer=v["customer"],
            prices_include_tax=v["prices_include_tax"],
            lines=[services.LineData(**ln) for ln in v["lines"]],
            payments=[services.PaymentData(**p) for p in v["payments"]],
            order_discount=v["order_discount"],
            shipping=v["shipping"],
            ship_from=v["ship_from"],
            raw=request.data if isinstance(request.data, dict) else {},
        )
        order, created = services.order_create(data=data, actor=EventActor.from_request(request))
        return Response(
            order_payload(order), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    class ListOutput(serializers.Serializer):
        number = serializers.CharField()
        channel = serializers.CharField(source="channel.code")
        external_id = serializers.CharField()
        placed_at = serializers.DateTimeField()
        currency = serializers.CharField()
        grand_total = serializers.DecimalField(**MONEY)

    @extend_schema(
        operation_id="orders_list",
        responses={200: ListOutput(many=True), **ERRORS},
        parameters=[
            OpenApiParameter("channel", str, description="Channel code."),
            OpenApiParameter("external_id", str, description="The storefront's order id."),
            OpenApiParameter("email", str, description="The customer's email."),
            OpenApiParameter("phone", str, description="The customer's phone."),
        ],
        description="Find orders, e.g. ?channel=web&external_id=W-1001",
    )
    def get(self, request):
        qs = selectors.order_list(
            channel=request.query_params.get("channel"),
            external_id=request.query_params.get("external_id"),
            email=request.query_params.get("email"),
            phone=request.query_params.get("phone"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(self.ListOutput(page, many=True).data)


class OrderDetailApi(APIView):
    required_permissions = ["orders.view_order"]

    @extend_schema(operation_id="orders_retrieve", responses={200: OrderOutput, **ERRORS})
    def get(self, request, number: str):
        return Response(OrderOutput(selectors.order_get(number)).data)


class OrderTimelineApi(APIView):
    required_permissions = ["orders.view_order"]

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        type = serializers.CharField()
        entity = serializers.CharField()
        entity_id = serializers.CharField()
        from_state = serializers.CharField()
        to_state = serializers.CharField()
        actor = serializers.CharField(source="actor_kind")
        actor_label = serializers.CharField()
        message = serializers.CharField()
        payload = serializers.JSONField()
        occurred_at = serializers.DateTimeField()
        recorded_at = serializers.DateTimeField()

    @extend_schema(operation_id="orders_timeline", responses={200: Output(many=True), **ERRORS})
    def get(self, request, number: str):
        order = selectors.order_get(number, for_detail=False)
        return Response(self.Output(selectors.order_timeline(order), many=True).data)


class ShipmentCreateApi(APIView):
    required_permissions = ["orders.add_shipment"]

    class Input(serializers.Serializer):
        units = serializers.ListField(child=IdField(), min_length=1, max_length=1000)
        tracking_number = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=100
        )
        serials = serializers.DictField(
            child=serializers.CharField(max_length=100), required=False, default=dict
        )
        shipped_at = serializers.DateTimeField(
            required=False,
            allow_null=True,
            default=None,
            help_text="When the parcel left (default now); a delivery cannot be dated before it.",
        )

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField()
        units = serializers.SerializerMethodField()

        def get_units(self, shipment) -> list[int]:
            return sorted(u.pk for u in shipment.units.all())

    @extend_schema(
        operation_id="shipments_create", request=Input, responses={201: Output, **ERRORS}
    )
    def post(self, request, number: str):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_get_by_number(number)
        shipment = services.shipment_create(
            order=order,
            unit_ids=serializer.validated_data["units"],
            actor=EventActor.from_request(request),
            tracking_number=serializer.validated_data["tracking_number"],
            serials={
                int(k): v
                for k, v in serializer.validated_data["serials"].items()
                if str(k).isdigit()
            },
            shipped_at=serializer.validated_data["shipped_at"],
        )
        return Response(self.Output(shipment).data, status=status.HTTP_201_CREATED)


class ShipmentDeliveredApi(APIView):
    required_permissions = ["orders.change_shipment"]

    class Input(serializers.Serializer):
        delivered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        refused_units = serializers.ListField(
            child=IdField(), required=False, default=list, max_length=1000
        )
        cod_collected = serializers.DecimalField(
            **MONEY, required=False, allow_null=True, default=None, min_value=0
        )
        event_id = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=150,
            help_text="Courier's event id; a redelivered event changes nothing.",
        )

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        state = serializers.CharField()
        delivered_units = serializers.ListField(child=serializers.IntegerField())
        refused_units = serializers.ListField(child=serializers.IntegerField())
        cod_collected = serializers.DecimalField(**MONEY, allow_null=True)

    @extend_schema(
        operation_id="shipments_delivered", request=Input, responses={200: Output, **ERRORS}
    )
    def post(self, request, shipment_id: int):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        result = delivery.shipment_deliver(
            shipment_id=shipment_id,
            actor=EventActor.from_request(request),
            delivered_at=v["delivered_at"],
            refused_unit_ids=v["refused_units"],
            cod_collected=v["cod_collected"],
            external_id=v["event_id"],
        )
        return Response(
            self.Output(
                {
                    "id": result.shipment.pk,
                    "state": result.shipment.state,
                    "delivered_units": [u.pk for u in result.delivered],
                    "refused_units": [u.pk for u in result.refused],
                    "cod_collected": result.cod_collected,
                }
            ).data
        )


class OrderCancelApi(APIView):
    required_permissions = ["orders.change_order"]

    class Input(serializers.Serializer):
        class LineInput(serializers.Serializer):
            line = IdField()
            quantity = serializers.IntegerField(min_value=1, max_value=1000)

        units = serializers.ListField(
            child=IdField(),
            required=False,
            min_length=1,
            max_length=1000,
            help_text="Unit ids to cancel.",
        )
        lines = LineInput(
            many=True,
            required=False,
            allow_empty=False,
            help_text="Or quantities per line: backordered units go first, then the last ones.",
        )
        all = serializers.BooleanField(
            required=False, default=False, help_text="Or every unit that has not shipped."
        )
        reason = serializers.CharField(max_length=500, help_text="Why; kept on the timeline.")
        event_id = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=150,
            help_text="The caller's id for this cancellation; the same id again changes nothing "
            "and returns the order.",
        )

        def validate(self, attrs):
            given = [k for k in ("units", "lines") if attrs.get(k)] + (
                ["all"] if attrs.get("all") else []
            )
            if len(given) != 1:
                raise serializers.ValidationError("give exactly one of units, lines or all: true.")
            return attrs

    @extend_schema(
        operation_id="orders_cancel",
        request=Input,
        responses={200: OrderOutput, **ERRORS},
        description=(
            "Cancel units that have not shipped (ordered or allocated), all or nothing. "
            "Reservations go back to sellable. Prepaid tenders get a refund of the units' net "
            "paid (and the shipping charge once nothing of the order ships any more), issued "
            "after commit; cash on delivery is lowered, or voided when nothing is left to "
            "collect. A unit that has shipped or is cancelled already: 409 naming it and its "
            "state; a unit of another order: 400."
        ),
    )
    def post(self, request, number: str):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        order = services.order_get_by_number(number)
        cancellation.order_cancel(
            order=order,
            unit_ids=v.get("units"),
            lines=[(ln["line"], ln["quantity"]) for ln in v.get("lines") or []] or None,
            everything=v["all"],
            actor=EventActor.from_request(request),
            reason=v["reason"],
            external_id=v["event_id"],
        )
        return Response(order_payload(order))
