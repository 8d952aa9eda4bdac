"""Payment gateways' refund webhooks. No API key: the signature over the raw
body with the webhook secret is the authentication (401 when it does not
match). Each event is stored raw once (``GatewayWebhook``); a redelivered or
unknown event is acknowledged with 200 and changes nothing."""

from __future__ import annotations

import hashlib
import json

import razorpay
import stripe
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import recoveries as recoveries_flows
from flows import refunds as refunds_flows
from oms.errors import ErrorSerializer, error_response

from ..gateways.razorpay_gateway import result_from as razorpay_result
from ..gateways.stripe_gateway import result_from as stripe_result

RAZORPAY_EVENTS = ("refund.processed", "refund.failed")
# A payment link a recovery sent was paid (refunds.services.recovery).
RAZORPAY_LINK_PAID = "payment_link.paid"
# A Checkout Session of a payment link completed paid, or its delayed method
# (a bank debit) succeeded later.
STRIPE_LINK_PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
# Stripe's refund events (data.object is the Refund in each).
STRIPE_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


class WebhookOutput(serializers.Serializer):
    duplicate = serializers.BooleanField(help_text="True for an event already received.")
    outcome = serializers.CharField(help_text="What the event changed, in words.")


RESPONSES = {
    200: WebhookOutput,
    400: OpenApiResponse(ErrorSerializer, description="Signed, but not a JSON event."),
    401: OpenApiResponse(
        ErrorSerializer, description="Signature missing, or it does not match the raw body."
    ),
}


def _unsigned(header: str) -> Response:
    return error_response(
        "invalid_signature",
        f"{header}: missing or does not match the body.",
        {},
        status.HTTP_401_UNAUTHORIZED,
    )


def _not_json(exc: Exception) -> Response:
    return error_response("invalid", f"body: not a JSON event ({exc}).", {}, 400)


class _GatewayWebhookApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)


class RazorpayWebhookApi(_GatewayWebhookApi):
    @extend_schema(
        operation_id="webhooks_razorpay",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "X-Razorpay-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Hex HMAC-SHA256 of the raw body with RAZORPAY_WEBHOOK_SECRET.",
            ),
            OpenApiParameter(
                "X-Razorpay-Event-Id",
                str,
                OpenApiParameter.HEADER,
                description="Razorpay's event id; a redelivery carries the same one.",
            ),
        ],
        responses=RESPONSES,
        description="Razorpay webhook: refund.processed issues the refund (with the ARN), "
        "refund.failed fails it with the reason for finance; payment_link.paid collects the "
        "recovery its payment link was made for. Other events: 200, ignored.",
    )
    def post(self, request):
        body = request.body
        signature = request.headers.get("X-Razorpay-Signature") or ""
        secret = settings.RAZORPAY_WEBHOOK_SECRET
        try:
            if not (secret and signature):
                raise razorpay.errors.SignatureVerificationError("missing")
            razorpay.Client().utility.verify_webhook_signature(
                body.decode("utf-8"), signature, secret
            )
        except (razorpay.errors.SignatureVerificationError, UnicodeDecodeError, TypeError):
            return _unsigned("X-Razorpay-Signature")
        try:
            event = json.loads(body)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return _not_json(exc)
        event_type = str(event.get("event") or "")
        event_id = request.headers.get("X-Razorpay-Event-Id") or hashlib.sha256(body).hexdigest()
        headers = {"X-Razorpay-Event-Id": request.headers.get("X-Razorpay-Event-Id", "")}
        payload = event.get("payload") or {}
        link = (
            (payload.get("payment_link") or {}).get("entity") if isinstance(payload, dict) else None
        )
        if event_type == RAZORPAY_LINK_PAID and isinstance(link, dict) and link.get("id"):
            paid = ((payload.get("payment") or {}).get("entity")) or {}
            amount = link.get("amount_paid")
            duplicate, outcome = recoveries_flows.recovery_gateway_event(
                gateway="razorpay",
                event_id=event_id,
                event_type=event_type,
                body=body,
                headers=headers,
                link=str(link["id"]),
                payment=str(paid.get("id") or "") if isinstance(paid, dict) else "",
                amount_minor=amount if isinstance(amount, int) else None,
            )
            return Response({"duplicate": duplicate, "outcome": outcome})
        result, key, amount = None, "", None
        entity = ((payload.get("refund") or {}) if isinstance(payload, dict) else {}).get("entity")
        if event_type in RAZORPAY_EVENTS and isinstance(entity, dict):
            result = razorpay_result(entity)
            key = str((entity.get("notes") or {}).get("oms_key") or "")
            amount = entity.get("amount") if isinstance(entity.get("amount"), int) else None
        duplicate, outcome = refunds_flows.refund_gateway_event(
            gateway="razorpay",
            event_id=event_id,
            event_type=event_type,
            body=body,
            headers=headers,
            result=result,
            key=key,
            amount_minor=amount,
        )
        return Response({"duplicate": duplicate, "outcome": outcome})


class StripeWebhookApi(_GatewayWebhookApi):
    @extend_schema(
        operation_id="webhooks_stripe",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "Stripe-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Stripe's signature header (t=…,v1=…), checked with "
                "STRIPE_WEBHOOK_SECRET by the Stripe SDK.",
            )
        ],
        responses=RESPONSES,
        description="Stripe webhook: refund.updated / charge.refund.updated with status "
        "succeeded issue the refund (with the ARN when given), refund.failed or status "
        "failed/canceled fail it with the reason; checkout.session.completed for a payment "
        "link (paid) collects the recovery it was made for. Other events: 200, ignored.",
    )
    def post(self, request):
        body = request.body
        secret = settings.STRIPE_WEBHOOK_SECRET
        signature = request.headers.get("Stripe-Signature") or ""
        if not (secret and signature):
            return _unsigned("Stripe-Signature")
        try:
            stripe.Webhook.construct_event(body, signature, secret)
        except stripe.SignatureVerificationError:
            return _unsigned("Stripe-Signature")
        except ValueError as exc:
            return _not_json(exc)
        event = json.loads(body)
        if not isinstance(event, dict):
            return _not_json(ValueError("not an object"))
        event_type = str(event.get("type") or "")
        obj = (event.get("data") or {}).get("object")
        event_id = str(event.get("id") or hashlib.sha256(body).hexdigest())
        if (
            event_type in STRIPE_LINK_PAID
            and isinstance(obj, dict)
            and obj.get("payment_link")
            and obj.get("payment_status") == "paid"
        ):
            amount = obj.get("amount_total")
            duplicate, outcome = recoveries_flows.recovery_gateway_event(
                gateway="stripe",
                event_id=event_id,
                event_type=event_type,
                body=body,
                headers={},
                link=str(obj["payment_link"]),
                payment=str(obj.get("payment_intent") or obj.get("id") or ""),
                amount_minor=amount if isinstance(amount, int) else None,
            )
            return Response({"duplicate": duplicate, "outcome": outcome})
        result, key, amount = None, "", None
        if event_type in STRIPE_EVENTS and isinstance(obj, dict) and obj.get("object") == "refund":
            result = stripe_result(obj)
            key = str((obj.get("metadata") or {}).get("oms_key") or "")
            amount = obj.get("amount") if isinstance(obj.get("amount"), int) else None
        duplicate, outcome = refunds_flows.refund_gateway_event(
            gateway="stripe",
            event_id=event_id,
            event_type=event_type,
            body=body,
            headers={},
            result=result,
            key=key,
            amount_minor=amount,
        )
        return Response({"duplicate": duplicate, "outcome": outcome})
