"""Refunds through Stripe, with its official SDK (``stripe``).

``POST /v1/refunds`` with the PaymentIntent (or charge), the amount in the
currency's minor unit, our refund in ``metadata`` and the SDK's
``idempotency_key`` option (the ``Idempotency-Key`` header): a retried request
gets the first answer back. ``GET /v1/refunds/{id}`` reads its status later.
A refund's ``status`` is ``pending``/``requires_action`` (accepted),
``succeeded`` (``destination_details.card.reference`` is the ARN when Stripe
has it) or ``failed``/``canceled`` (``failure_reason``).
"""

from __future__ import annotations

from decimal import Decimal

import stripe
from django.conf import settings

from oms.money import to_minor

from . import (
    FAILED,
    PROCESSED,
    PROCESSING,
    GatewayDeclined,
    GatewayError,
    GatewayResult,
    NoCharge,
    PaymentLink,
)

STATUS = {
    "succeeded": PROCESSED,
    "pending": PROCESSING,
    "requires_action": PROCESSING,
    "failed": FAILED,
    "canceled": FAILED,
}


def stripe_client() -> stripe.StripeClient:
    if not settings.STRIPE_API_KEY:
        raise GatewayDeclined("Stripe is not configured (STRIPE_API_KEY).")
    return stripe.StripeClient(
        settings.STRIPE_API_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE.rstrip("/")},
        max_network_retries=0,  # our task retries, with backoff and the same key
        http_client=stripe.RequestsClient(timeout=settings.OMS_GATEWAY_TIMEOUT),
    )


def result_from(refund: dict, *, replayed: bool = False) -> GatewayResult:
    status = STATUS.get(str(refund.get("status") or ""), PROCESSING)
    card = (refund.get("destination_details") or {}).get("card") or {}
    reason = ""
    if status == FAILED:
        reason = f"Stripe reports the refund {refund.get('status')}: " + str(
            refund.get("failure_reason") or "no reason given"
        )
    return GatewayResult(
        reference=str(refund.get("id") or ""),
        replayed=replayed,
        status=status,
        bank_reference=str(card.get("reference") or "")[:100],
        failure_reason=reason[:500],
    )


def _call(fn, what: str = "the refund") -> dict:
    try:
        return fn().to_dict()
    except stripe.APIConnectionError as exc:  # timeouts and network errors
        raise GatewayError(f"Stripe unreachable or timed out, will retry: {exc}") from exc
    except stripe.StripeError as exc:
        status = exc.http_status
        if status is None or status >= 500 or status in (409, 429):
            raise GatewayError(
                f"Stripe error {status}, will retry: {exc.user_message or exc}"
            ) from exc
        raise GatewayDeclined(
            f"Stripe refused {what} ({status}): {exc.user_message or exc}"
        ) from exc


class StripeGateway(NoCharge):
    # Charging a customer's saved instrument needs their mandate, which an
    # order's one-off payment id does not give (NoCharge).
    name = "stripe"

    @property
    def can_link(self) -> bool:
        return bool(settings.STRIPE_API_KEY)

    def payment_link(
        self, *, key: str, amount: Decimal, currency: str, description: str, customer: dict
    ) -> PaymentLink:
        """A Payment Link (``POST /v1/payment_links``) for one line priced
        inline (``price_data``), our key as the ``Idempotency-Key``: a job that
        ran twice gets the same link back. Its Checkout Session completing
        (``checkout.session.completed`` with ``payment_link``) collects it."""
        client = stripe_client()
        params = {
            "line_items": [
                {
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": to_minor(amount, currency),
                        "product_data": {"name": description[:250]},
                    },
                    "quantity": 1,
                }
            ],
            "metadata": {"oms_key": key},
            "payment_intent_data": {"metadata": {"oms_key": key}},
            # one payment, not one per visit: a Payment Link is reusable by default
            "restrictions": {"completed_sessions": {"limit": 1}},
        }
        link = _call(
            lambda: client.v1.payment_links.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": key},
            ),
            "the payment link",
        )
        return PaymentLink(str(link["id"]), str(link.get("url") or ""))

    def payment_link_cancel(self, reference: str) -> None:
        """``POST /v1/payment_links/{id}`` with ``active=false``."""
        client = stripe_client()
        _call(
            lambda: client.v1.payment_links.update(reference, {"active": False}),
            "to deactivate the payment link",
        )

    def refund(
        self,
        *,
        idempotency_key: str,
        payment,
        instrument: str,
        amount: Decimal,
        details: dict,
        currency: str = "",
        receipt: str = "",
    ) -> GatewayResult:
        reference = payment.reference or ""
        if reference.startswith("pi_"):
            target = {"payment_intent": reference}
        elif reference.startswith("ch_"):
            target = {"charge": reference}
        else:
            raise GatewayDeclined(
                f"Tender {payment.pk} has no Stripe PaymentIntent (pi_…) or charge (ch_…); "
                "refund it by hand."
            )
        client = stripe_client()
        params = {
            **target,
            "amount": to_minor(amount, currency or payment.order.currency),
            "metadata": {"oms_refund": receipt or idempotency_key, "oms_key": idempotency_key},
        }
        refund = _call(
            lambda: client.v1.refunds.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return result_from(refund)

    def fetch(self, reference: str, *, currency: str = "") -> GatewayResult:
        client = stripe_client()
        return result_from(_call(lambda: client.v1.refunds.retrieve(reference)))
