"""Refunds through Razorpay, with its official SDK (``razorpay``).

``POST /v1/payments/{pay_id}/refund`` with the amount in paise, our refund as
``receipt`` and ``notes``, and ``X-Refund-Idempotency`` set to our key: a
retried request returns the refund it already made. ``GET /v1/refunds/{id}``
reads its status later. A refund's ``status`` is ``pending`` (accepted),
``processed`` (money returned; ``acquirer_data.arn`` is the bank reference
when known) or ``failed``.
"""

from __future__ import annotations

from decimal import Decimal

import razorpay
import requests
from django.conf import settings
from razorpay.errors import BadRequestError

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

STATUS = {"processed": PROCESSED, "pending": PROCESSING, "created": PROCESSING, "failed": FAILED}


def razorpay_client() -> razorpay.Client:
    key_id, secret = settings.RAZORPAY_KEY_ID, settings.RAZORPAY_KEY_SECRET
    if not (key_id and secret):
        raise GatewayDeclined("Razorpay is not configured (RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET).")
    return razorpay.Client(auth=(key_id, secret), base_url=settings.RAZORPAY_BASE_URL.rstrip("/"))


def result_from(entity: dict, *, replayed: bool = False) -> GatewayResult:
    status = STATUS.get(str(entity.get("status") or ""), PROCESSING)
    arn = (entity.get("acquirer_data") or {}).get("arn") or ""
    reason = ""
    if status == FAILED:
        reason = str(
            entity.get("error_description")
            or (entity.get("notes") or {}).get("failure_reason")
            or "Razorpay reports the refund failed."
        )
    return GatewayResult(
        reference=str(entity.get("id") or ""),
        replayed=replayed,
        status=status,
        bank_reference=str(arn)[:100],
        failure_reason=reason[:500],
    )


def _call(fn, what: str = "the refund"):
    try:
        return fn()
    except BadRequestError as exc:  # a 4xx: the gateway said no
        raise GatewayDeclined(f"Razorpay refused {what}: {exc}") from exc
    except (razorpay.errors.ServerError, razorpay.errors.GatewayError) as exc:
        raise GatewayError(f"Razorpay error, will retry: {exc}") from exc
    except requests.exceptions.Timeout as exc:
        raise GatewayError("Razorpay timed out, will retry.") from exc
    except requests.exceptions.RequestException as exc:
        raise GatewayError(f"Razorpay unreachable or unreadable, will retry: {exc}") from exc


class RazorpayGateway(NoCharge):
    # Charging a customer's saved instrument needs their mandate, which an
    # order's one-off payment id does not give (NoCharge).
    name = "razorpay"

    @property
    def can_link(self) -> bool:
        return bool(settings.RAZORPAY_KEY_ID and settings.RAZORPAY_KEY_SECRET)

    def payment_link(
        self, *, key: str, amount: Decimal, currency: str, description: str, customer: dict
    ) -> PaymentLink:
        """A Standard Payment Link (``POST /v1/payment_links``) with our key as
        its ``reference_id``, which Razorpay keeps unique: the link is looked up
        by it first (``GET /v1/payment_links?reference_id=``), so a job that
        ran twice sends one link. We tell the customer ourselves (no Razorpay
        SMS or email)."""
        key = key[:40]  # Razorpay's reference_id limit
        client = razorpay_client()
        timeout = settings.OMS_GATEWAY_TIMEOUT
        found = _call(
            lambda: client.payment_link.all({"reference_id": key}, timeout=timeout),
            "the payment link",
        )
        minor = to_minor(amount, currency)
        for link in found.get("payment_links") or []:
            if link.get("reference_id") != key:
                continue
            if link.get("amount") != minor or (link.get("notes") or {}).get("oms_key") != key:
                raise GatewayDeclined(
                    f"Razorpay already holds payment link {link.get('id')} under {key} for "
                    f"another amount or purpose; not reusing it."
                )
            if link.get("status") in ("created", "paid", "partially_paid"):
                return PaymentLink(str(link["id"]), str(link.get("short_url") or ""))
        body = {
            "amount": minor,
            "currency": currency,
            "reference_id": key,
            "description": description[:2048],
            "customer": {k: v for k, v in customer.items() if v},
            "notify": {"sms": False, "email": False},
            "reminder_enable": False,
            "notes": {"oms_key": key},
        }
        link = _call(lambda: client.payment_link.create(body, timeout=timeout), "the payment link")
        return PaymentLink(str(link["id"]), str(link.get("short_url") or ""))

    def payment_link_cancel(self, reference: str) -> None:
        """``POST /v1/payment_links/{id}/cancel``: nobody can pay it any more."""
        client = razorpay_client()
        _call(
            lambda: client.payment_link.cancel(reference, timeout=settings.OMS_GATEWAY_TIMEOUT),
            "to cancel the payment link",
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
        if not (payment.reference or "").startswith("pay_"):
            raise GatewayDeclined(
                f"Tender {payment.pk} has no Razorpay payment id (pay_…); refund it by hand."
            )
        client = razorpay_client()
        body = {
            "amount": to_minor(amount, currency or payment.order.currency),
            "speed": "normal",
            "receipt": (receipt or idempotency_key)[:40],
            "notes": {"oms_refund": receipt or idempotency_key, "oms_key": idempotency_key},
        }
        entity = _call(
            lambda: client.payment.refund(
                payment.reference,
                body,
                headers={"X-Refund-Idempotency": idempotency_key},
                timeout=settings.OMS_GATEWAY_TIMEOUT,
            )
        )
        return result_from(entity)

    def fetch(self, reference: str, *, currency: str = "") -> GatewayResult:
        client = razorpay_client()
        entity = _call(
            lambda: client.refund.fetch(reference, {}, timeout=settings.OMS_GATEWAY_TIMEOUT)
        )
        return result_from(entity)
