"""Store credit wallet and loyalty points (issue 12): orders made through the
API, a supervisor's goodwill to fund wallets, and the local storefront that
receives our webhooks."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.webhooks.conftest import hooked_channel, storefront  # noqa: F401 (fixtures)

EMAIL = "meera@example.com"


def order_body(external_id: str, payments: list, *, lines=None, loyalty=None, email=EMAIL) -> dict:
    body = {
        "channel": "web",
        "external_id": external_id,
        "currency": "INR",
        "placed_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "customer": {"email": email, "name": "Meera"},
        "lines": lines or [{"sku": "KURTA-M", "quantity": 2, "unit_price": "500.00"}],
        "payments": payments,
    }
    if loyalty is not None:
        body["loyalty"] = loyalty
    return body


def place(api, external_id: str, payments: list, **kw):
    return api.post("/api/v1/orders/", order_body(external_id, payments, **kw), format="json")


def goodwill(api, amount: str, *, email=EMAIL, reason="Late delivery", **headers):
    return api.post(
        f"/api/v1/store-credit/{email}/goodwill/",
        {"amount": amount, "reason": reason},
        format="json",
        **headers,
    )


def statement(api, email=EMAIL, query=""):
    return api.get(f"/api/v1/store-credit/{email}/{query}")


@pytest.fixture
def kurta(make_sku, channel):
    make_sku("KURTA-M", Decimal("500.00"), stock=50)
    return make_sku("KURTA-L", Decimal("500.00"), stock=50)


@pytest.fixture
def customer_with_order(storefront_api, kurta):
    """Meera, known from a card order (so goodwill knows her currency)."""
    r = place(storefront_api, "W-FIRST", [{"method": "card", "amount": "1000.00"}])
    assert r.status_code == 201, r.json()
    return r.json()["number"]
