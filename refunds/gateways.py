"""Payment-gateway interface for refunds.

A gateway gives money back for one tender and is idempotent by key: calling it
again with the same key returns the first result and moves no more money.
A gateway that can also take money from a customer's tender (a saved card or
mandate) says ``can_charge = True`` and implements ``charge``: recoveries
(``refunds.services.recovery``) use it; one that cannot falls back to a
payment link.
``OfflineGateway`` is built in: it records the refund (for cash-on-delivery
payouts, store credit and brands that refund by hand). Real gateways plug in
through ``OMS_REFUND_GATEWAYS`` (instrument → dotted path).
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

from .models import GatewayRefund


class GatewayError(Exception):
    """The gateway refused or failed; the refund is retried, then escalated."""


class ChargeUnsupported(GatewayError):
    """This gateway cannot take money from a customer (recoveries fall back
    to a payment link)."""


@dataclass(frozen=True)
class GatewayResult:
    reference: str
    replayed: bool = False


class RefundGateway(Protocol):
    name: str
    can_charge: bool

    def refund(
        self, *, idempotency_key: str, payment, instrument: str, amount: Decimal, details: dict
    ) -> GatewayResult: ...

    def charge(
        self, *, idempotency_key: str, payment, amount: Decimal, description: str
    ) -> GatewayResult:
        """Take ``amount`` from the customer through ``payment``'s instrument
        (idempotent by key). Raises ``ChargeUnsupported`` when it cannot."""
        ...


class OfflineGateway:
    name = "offline"
    can_charge = False

    def charge(
        self, *, idempotency_key: str, payment, amount: Decimal, description: str
    ) -> GatewayResult:
        raise ChargeUnsupported("The offline gateway cannot charge a customer.")

    def refund(
        self, *, idempotency_key: str, payment, instrument: str, amount: Decimal, details: dict
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


# Instruments that move no outside money: the wallet (refunds.wallet) and
# loyalty points (refunds.loyalty) are ours, so no payment gateway sees them.
INTERNAL_INSTRUMENTS = ("store_credit", "loyalty_points")


def gateway_for(instrument: str) -> RefundGateway:
    if instrument in INTERNAL_INSTRUMENTS:
        return OfflineGateway()
    paths = getattr(settings, "OMS_REFUND_GATEWAYS", {}) or {}
    path = paths.get(instrument) or paths.get("*")
    if path:
        return import_string(path)()
    return OfflineGateway()
