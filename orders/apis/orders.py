"""Order API: output shapes, create and list, detail, timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import ISO_8601, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from flows.orders import order_take_in
from flows.read import order_detail_extend
from oms.errors import ERRORS
from oms.money import is_known_currency
from oms.pagination import LimitOffsetPagination

from .. import selectors, services
from ..events import EventActor
from ..loyalty import LoyaltyData
from ..models import Order
from ..states import (
    GATEWAY_REFERENCE,
    GATEWAY_REFERENCE_HINT,
    PaymentGateway,
    PaymentMethod,
    gateway_reference_valid,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


class UnitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    net_paid = serializers.DecimalField(**MONEY)
    tax = serializers.DecimalField(source="tax_amount", **MONEY)
    discount = serializers.DecimalField(source="discount_amount", **MONEY)
    serial = serializers.CharField()
    refunded_on_platform = serializers.SerializerMethodField(
        help_text="The storefront refunded this unit itself; it cannot be returned for a refund."
    )

    def get_refunded_on_platform(self, unit) -> bool:
        return unit.platform_refunded_at is not None


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


# The body is built as plain dicts: OrderOutput (above) documents it and says
# what each key holds, and tests/returns/test_detail_bodies.py holds the two
# equal byte for byte. A serializer per line, unit, payment and shipment (their
# fields deep-copied per instance) took about a quarter of a GET's time in the
# profile, as much as the ORM's part of the reads.
_money = serializers.DecimalField(**MONEY).to_representation
_rate = serializers.DecimalField(max_digits=5, decimal_places=2).to_representation
_drf_datetime = serializers.DateTimeField().to_representation


def _datetime(value):
    """``serializers.DateTimeField().to_representation``: ISO 8601 in the
    current time zone, "Z" for UTC. An aware datetime (every one the models
    hold) is converted here without the field's per-call settings lookups (4 %
    of a return detail GET: each timeline row has two); anything else goes to
    DRF's own (tests/orders/test_datetime_body.py holds them equal)."""
    if (
        isinstance(value, datetime)
        and value.tzinfo is not None
        and settings.USE_TZ
        and api_settings.DATETIME_FORMAT == ISO_8601
    ):
        try:
            text = value.astimezone(timezone.get_current_timezone()).isoformat()
        except OverflowError:  # DRF's own says so in its error shape
            return _drf_datetime(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _drf_datetime(value)


def _or_none(convert, value):
    return None if value is None else convert(value)


def order_body(detail: selectors.OrderDetail) -> dict:
    """The order's body (``OrderOutput``) from ``selectors.order_detail``."""
    order = detail.order
    units_by_line: dict[int, list[dict]] = {}
    units_by_shipment: dict[int, list[int]] = {}
    for u in detail.units:
        units_by_line.setdefault(u["line_id"], []).append(
            {
                "id": u["id"],
                "state": u["state"],
                "net_paid": _money(u["net_paid"]),
                "tax": _money(u["tax_amount"]),
                "discount": _money(u["discount_amount"]),
                "serial": u["serial"],
                "refunded_on_platform": u["platform_refunded_at"] is not None,
            }
        )
        if u["shipment_id"] is not None:
            units_by_shipment.setdefault(u["shipment_id"], []).append(u["id"])
    data = {
        "number": order.number,
        "channel": order.channel.code,
        "external_id": order.external_id,
        "status": selectors.order_status_of(u["state"] for u in detail.units),
        "payment_status": selectors.payment_status_of(
            [(p["method"], p["state"]) for p in detail.payments]
        ),
        "currency": order.currency,
        "placed_at": _datetime(order.placed_at),
        "customer": {"name": order.customer.name, "email": order.email, "phone": order.phone},
        "prices_include_tax": order.prices_include_tax,
        "totals": {
            "items": str(order.items_total),
            "line_discounts": str(order.line_discount_total),
            "order_discount": str(order.order_discount),
            "tax": str(order.tax_total),
            "shipping": str(order.shipping_amount),
            "grand_total": str(order.grand_total),
        },
        "lines": [
            {
                "id": ln["id"],
                "position": ln["position"],
                "sku": ln["sku__code"],
                "name": ln["sku__name"],
                "quantity": ln["quantity"],
                "unit_price": _money(ln["unit_price"]),
                "tax_rate": _rate(ln["tax_rate"]),
                "discount": _money(ln["discount"]),
                "units": units_by_line.get(ln["id"], []),
            }
            for ln in detail.lines
        ],
        "payments": [
            {
                "id": p["id"],
                "method": p["method"],
                "amount": _money(p["amount"]),
                "captured": _money(p["captured_amount"]),
                "refunded": _money(p["refunded_amount"]),
                "state": p["state"],
            }
            for p in detail.payments
        ],
        "shipments": [
            {
                "id": sh["id"],
                "kind": sh["kind"],
                "state": sh["state"],
                "units": units_by_shipment.get(sh["id"], []),
                "tracking_number": sh["tracking_number"],
                "shipped_at": _or_none(_datetime, sh["shipped_at"]),
                "delivered_at": _or_none(_datetime, sh["delivered_at"]),
                "cod_collected": _or_none(_money, sh["cod_collected"]),
            }
            for sh in detail.shipments
        ],
    }
    # returns' key, composed above the apps (orders does not import returns)
    return order_detail_extend(order, data)


def order_payload(order: Order) -> dict:
    return order_body(selectors.order_detail(order.number))


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
        gateway = serializers.ChoiceField(
            choices=PaymentGateway.choices,
            required=False,
            allow_blank=True,
            default="",
            help_text="Where a refund of this tender goes back: razorpay or stripe through "
            "their APIs (reference required), offline (or empty) by hand.",
        )
        reference = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=100,
            help_text="The gateway's payment id: Razorpay pay_…, Stripe PaymentIntent pi_… "
            "(or charge ch_…).",
        )

        def validate_amount(self, value):
            if value <= 0:
                raise serializers.ValidationError("must be positive.")
            return value

        def validate(self, attrs):
            gateway, reference = attrs.get("gateway", ""), attrs.get("reference", "")
            if gateway in GATEWAY_REFERENCE:
                if attrs["method"] in (PaymentMethod.COD, PaymentMethod.STORE_CREDIT):
                    raise serializers.ValidationError(
                        {"gateway": f"{gateway} cannot take a {attrs['method']} tender."}
                    )
                if not gateway_reference_valid(gateway, reference):
                    raise serializers.ValidationError(
                        {
                            "reference": f"must be {GATEWAY_REFERENCE_HINT[gateway]} "
                            f"when gateway is {gateway}."
                        }
                    )
            return attrs

    class LoyaltyInput(serializers.Serializer):
        earned = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
        redeemed = serializers.IntegerField(min_value=0, max_value=10**9, default=0)
        points_per_unit_currency = serializers.DecimalField(
            max_digits=12,
            decimal_places=4,
            min_value=Decimal("0.0001"),
            error_messages={"min_value": "must be positive."},
            help_text="Points per unit of the order's currency: redeemed points are worth "
            "redeemed / points_per_unit_currency (a loyalty_points tender).",
        )

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
        loyalty = serializers.DictField(required=False)  # replaced in __init__ for nesting

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["customer"] = OrderCreateApi.CustomerInput()
            self.fields["loyalty"] = OrderCreateApi.LoyaltyInput(
                required=False, allow_null=True, default=None
            )
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
        description="Create an order. The same channel + external_id returns the existing order "
        "(200). A store_credit payment debits the customer's wallet in the same transaction "
        "(400 insufficient_store_credit when it can't); loyalty.redeemed points are a "
        "loyalty_points payment worth redeemed / points_per_unit_currency (added when absent).",
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
            loyalty=LoyaltyData(**v["loyalty"]) if v.get("loyalty") else None,
        )
        # the order, the store credit its tenders spend, what the customer owes
        order, created = order_take_in(
            data=data, actor=EventActor.from_request(request), spend_store_credit=True
        )
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
        return Response(order_body(selectors.order_detail(number)))


def timeline_body(rows) -> list[dict]:
    """TimelineEvent rows as ``OrderTimelineApi.Output(rows, many=True).data``
    gives them, built as plain dicts (tests/returns/test_detail_bodies.py)."""
    fields = selectors.TIMELINE_BODY_FIELDS
    return timeline_values_body({f: getattr(e, f) for f in fields} for e in rows)


def timeline_values_body(rows) -> list[dict]:
    """``timeline_body`` for rows read as dicts of
    ``selectors.TIMELINE_BODY_FIELDS``
    (no model instance per row: a returned, inspected return has a dozen)."""
    return [
        {
            "id": e["id"],
            "type": e["type"],
            "entity": e["entity"],
            "entity_id": e["entity_id"],
            "from_state": e["from_state"],
            "to_state": e["to_state"],
            "actor": e["actor_kind"],
            "actor_label": e["actor_label"],
            "message": e["message"],
            "payload": e["payload"],
            "occurred_at": _datetime(e["occurred_at"]),
            "recorded_at": _datetime(e["recorded_at"]),
        }
        for e in rows
    ]


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
