"""A gateway plug-in (``OMS_REFUND_GATEWAYS``) that can charge, for the
recovery tests: it implements the gateway interface, records every call and
is idempotent by key as the interface requires. ``DECLINE`` makes it refuse."""

from __future__ import annotations

from decimal import Decimal

from refunds.gateways import GatewayError, GatewayResult, OfflineGateway

CHARGES: dict[str, dict] = {}
CALLS: list[dict] = []
DECLINE: list[str] = []


class ChargingGateway(OfflineGateway):
    name = "testpay"
    can_charge = True

    def charge(
        self, *, idempotency_key: str, payment, amount: Decimal, description: str
    ) -> GatewayResult:
        CALLS.append(
            {"key": idempotency_key, "payment": payment.pk, "amount": amount, "text": description}
        )
        if DECLINE:
            raise GatewayError(DECLINE[0])
        if idempotency_key in CHARGES:
            return GatewayResult(CHARGES[idempotency_key]["id"], replayed=True)
        CHARGES[idempotency_key] = {"id": f"ch_{len(CHARGES) + 1}", "amount": amount}
        return GatewayResult(CHARGES[idempotency_key]["id"])
