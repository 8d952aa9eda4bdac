"""Store credit API (issue 12): the wallet's statement, redemptions (with an
Idempotency-Key) and a supervisor's goodwill credit."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.errors import ApplicationError
from oms.idempotency import idempotent
from orders.apis import ERRORS
from orders.events import EventActor

from . import selectors, wallet

MONEY = {"max_digits": 14, "decimal_places": 2}
MAX_ENTRIES = 200


def _actor(request) -> str:
    actor = EventActor.from_request(request)
    return f"{actor.kind}:{actor.label}"


def _int(request, name: str, default: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) > high:
        raise ApplicationError(f"{name}: a whole number from 0 to {high}.", extra={"field": name})
    return int(raw)


class EntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.CharField(help_text="Signed: credits positive, debits negative.")
    balance_after = serializers.CharField()
    reference = serializers.CharField()
    reason = serializers.CharField()
    refund = serializers.IntegerField(allow_null=True)
    order = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class StatementOutput(serializers.Serializer):
    balance = serializers.CharField()
    currency = serializers.CharField()
    count = serializers.IntegerField(help_text="Entries in all.")
    entries = EntryOutput(many=True, help_text="Newest first, ?limit= (at most 200) from ?offset=.")


class StoreCreditDetailApi(APIView):
    required_permissions = ["refunds.view_wallet"]

    @extend_schema(
        operation_id="store_credit_retrieve",
        responses={200: StatementOutput, **ERRORS},
        parameters=[
            OpenApiParameter(
                "limit", int, description="Entries to show (default 50, at most 200)."
            ),
            OpenApiParameter("offset", int, description="Entries to skip, newest first."),
        ],
    )
    def get(self, request, email: str):
        customer = wallet.customer_by_email(email)
        limit = _int(request, "limit", 50, MAX_ENTRIES)
        offset = _int(request, "offset", 0, 10**9)
        return Response(
            StatementOutput(selectors.wallet_statement(customer, limit=limit, offset=offset)).data
        )


class MovementOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    amount = serializers.CharField()
    balance = serializers.CharField(source="balance_after")
    currency = serializers.CharField()
    reference = serializers.CharField()
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class RedemptionApi(APIView):
    required_permissions = ["refunds.redeem_store_credit"]

    class Input(serializers.Serializer):
        customer = serializers.EmailField(help_text="The customer's email.")
        amount = serializers.DecimalField(
            **MONEY, min_value=Decimal("0.01"), error_messages={"min_value": "must be positive."}
        )
        reference = serializers.CharField(max_length=100, help_text="The storefront's reference.")

    @extend_schema(
        operation_id="store_credit_redeem",
        request=Input,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                required=True,
                description="Your key for this redemption (at most 255 characters): a retry "
                "with the same key and body spends once.",
            )
        ],
        responses={201: MovementOutput, **ERRORS},
        description="Spend store credit. Needs an Idempotency-Key header: the same key and "
        "body replays the first answer, the same key with another body is 422. 409 "
        "(insufficient_store_credit) when the balance is short.",
    )
    def post(self, request):
        if not request.headers.get("Idempotency-Key"):
            raise ApplicationError(
                "Idempotency-Key: required, so a retried redemption spends once.",
                code="idempotency_key_required",
                extra={"header": "Idempotency-Key"},
            )

        def produce() -> Response:
            serializer = self.Input(data=request.data)
            serializer.is_valid(raise_exception=True)
            v = serializer.validated_data
            entry = wallet.wallet_redeem(
                email=v["customer"],
                amount=v["amount"],
                reference=v["reference"],
                actor=_actor(request),
            )
            return Response(MovementOutput(entry).data, status=status.HTTP_201_CREATED)

        return idempotent(request, "store_credit.redeem", produce)


class GoodwillApi(APIView):
    required_permissions = ["refunds.grant_goodwill_credit"]

    class Input(serializers.Serializer):
        amount = serializers.DecimalField(
            **MONEY, min_value=Decimal("0.01"), error_messages={"min_value": "must be positive."}
        )
        reason = serializers.CharField(max_length=500)
        currency = serializers.CharField(
            max_length=3,
            required=False,
            help_text="Only for a customer with no wallet and no order yet.",
        )

    @extend_schema(
        operation_id="store_credit_goodwill",
        request=Input,
        responses={201: MovementOutput, **ERRORS},
        description="A supervisor's goodwill credit with its reason; expires per the current "
        "policy's store_credit_validity_days. An Idempotency-Key makes a retry safe.",
    )
    def post(self, request, email: str):
        def produce() -> Response:
            serializer = self.Input(data=request.data)
            serializer.is_valid(raise_exception=True)
            v = serializer.validated_data
            entry = wallet.wallet_goodwill(
                email=email,
                amount=v["amount"],
                reason=v["reason"],
                currency=v.get("currency"),
                actor=_actor(request),
            )
            return Response(MovementOutput(entry).data, status=status.HTTP_201_CREATED)

        return idempotent(request, "store_credit.goodwill", produce)
