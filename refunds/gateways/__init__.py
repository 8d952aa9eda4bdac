"""Payment-gateway interface for refunds.

A gateway gives money back for one tender and is idempotent by key: calling it
again with the same key returns the first result and moves no more money.
``OfflineGateway`` is built in: it records the refund (for cash-on-delivery
payouts, store credit and brands that refund by hand) and is the default. A
tender paid through Razorpay or Stripe (``Payment.gateway`` with the
provider's payment id in ``Payment.reference``) goes back through that
provider's official SDK (``razorpay_gateway``, ``stripe_gateway``). Tests and
brands can still route an instrument elsewhere with ``OMS_REFUND_GATEWAYS``
(instrument → dotted path).

Errors: ``GatewayError`` is transient (a timeout, a 5xx, a 409 while the
gateway is still working on the same key): the task retries it with the same
key. ``GatewayDeclined`` is the gateway saying no (a 4xx): the tender fails
with the gateway's reason and waits for finance, who retries it as a new
submission.

A gateway that can also take money from a customer's tender (a saved card or
mandate) says ``can_charge = True`` and implements ``charge``: recoveries
(``refunds.services.recovery``) use it; one that cannot falls back to a
payment link. A gateway that can make a payment link (``can_link``: Razorpay's
Payment Links, Stripe's Payment Links, when configured) implements
``payment_link``, idempotent by key; its ``paid`` webhook collects the
recovery. Otherwise the link is the brand's own page
(``OMS_RECOVERY_PAYMENT_LINK_URL``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from orders.states import PaymentGateway

from ..models import GatewayRefund

# Instruments that never go back through a card gateway: our own ledger
# (store credit) or a payout finance makes.
OFFLINE_INSTRUMENTS = frozenset({"store_credit", "bank_transfer", "loyalty_points"})
# Instruments that move no outside money: the wallet (refunds.wallet) and
# loyalty points (refunds.loyalty) are ours, so no payment gateway sees them.
INTERNAL_INSTRUMENTS = ("store_credit", "loyalty_points")

PROCESSED = "processed"
PROCESSING = "processing"
FAILED = "failed"


class GatewayError(Exception):
    """The gateway could not answer (timeout, 5xx): retried with the same key."""


class ChargeUnsupported(GatewayError):
    """This gateway cannot take money from a customer (recoveries fall back
    to a payment link)."""


class GatewayDeclined(GatewayError):
    """The gateway refused the refund (4xx) or is not configured: the tender
    fails with this reason; retrying needs a person."""


@dataclass(frozen=True)
class GatewayResult:
    reference: str  # the gateway's refund id
    replayed: bool = False
    status: str = PROCESSED  # processed | processing | failed
    bank_reference: str = ""  # ARN / RRN, where the gateway gives one
    failure_reason: str = ""


@dataclass(frozen=True)
class PaymentLink:
    reference: str  # the gateway's link id (plink_…)
    url: str  # where the customer pays


class RefundGateway(Protocol):
    name: str
    can_charge: bool

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
    ) -> GatewayResult: ...

    def charge(
        self, *, idempotency_key: str, payment, amount: Decimal, description: str
    ) -> GatewayResult:
        """Take ``amount`` from the customer through ``payment``'s instrument
        (idempotent by key). Raises ``ChargeUnsupported`` when it cannot."""
        ...


class NoCharge:
    """For a gateway that cannot take money from a customer: recoveries fall
    back to a payment link."""

    name = "offline"
    can_charge = False
    can_link = False

    def payment_link(
        self, *, key: str, amount: Decimal, currency: str, description: str, customer: dict
    ) -> PaymentLink:
        raise ChargeUnsupported(f"The {self.name} gateway cannot make a payment link.")

    def payment_link_cancel(self, reference: str) -> None:
        raise ChargeUnsupported(f"The {self.name} gateway has no payment links.")

    def charge(
        self, *, idempotency_key: str, payment, amount: Decimal, description: str
    ) -> GatewayResult:
        raise ChargeUnsupported(f"The {self.name} gateway cannot charge a customer.")


class OfflineGateway(NoCharge):
    name = "offline"

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
        existing = GatewayRefund.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            if existing.amount != amount:
                raise GatewayError(
                    f"Key {idempotency_key} was used for {existing.amount}, not {amount}."
                )
            return GatewayResult(existing.reference, replayed=True)
        delay = float(getattr(settings, "OMS_OFFLINE_GATEWAY_DELAY", 0) or 0)
        if delay:  # stands in for a slow gateway (tests kill a worker here)
            time.sleep(delay)
        try:
            with transaction.atomic():
                row = GatewayRefund.objects.create(
                    gateway=self.name,
                    idempotency_key=idempotency_key,
                    payment=payment,
                    instrument=instrument,
                    amount=amount,
                    reference=f"OFF-{secrets.token_hex(6).upper()}",
                    details=details,
                )
        except IntegrityError:
            row = GatewayRefund.objects.get(idempotency_key=idempotency_key)
            return GatewayResult(row.reference, replayed=True)
        return GatewayResult(row.reference)

    def fetch(self, reference: str, *, currency: str = "") -> GatewayResult:
        return GatewayResult(reference)


def uses_provider(instrument: str, payment) -> bool:
    """True when this tender's money goes back through Razorpay or Stripe."""
    return (
        instrument not in OFFLINE_INSTRUMENTS
        and payment is not None
        and payment.gateway in (PaymentGateway.RAZORPAY, PaymentGateway.STRIPE)
    )


def gateway_named(name: str):
    if name == PaymentGateway.RAZORPAY:
        from .razorpay_gateway import RazorpayGateway

        return RazorpayGateway()
    if name == PaymentGateway.STRIPE:
        from .stripe_gateway import StripeGateway

        return StripeGateway()
    return OfflineGateway()


def gateway_for(instrument: str, payment=None) -> RefundGateway:
    if instrument in INTERNAL_INSTRUMENTS:
        return OfflineGateway()
    paths = getattr(settings, "OMS_REFUND_GATEWAYS", {}) or {}
    path = paths.get(instrument) or paths.get("*")
    if path:
        return import_string(path)()
    if uses_provider(instrument, payment):
        return gateway_named(payment.gateway)
    return OfflineGateway()
