"""Bugs the soak found, each pinned by a test of its own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Payment, Shipment, Unit
from refunds.models import Refund
from tests.returns.helpers import walk_to_qc

pytestmark = pytest.mark.django_db


def test_cash_is_collected_at_a_later_door_after_a_refund_of_an_earlier_one(
    make_sku, make_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a cash-on-delivery order of two caps shipped in two parcels
    make_sku("CAP", Decimal("499.00"), product="cap", stock=10)
    order = make_order([("CAP", 2)], cod=True, shipping=Decimal("49.00"))
    first, second = Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True)
    r = storefront_api.post(
        f"/api/v1/orders/{order.number}/shipments/", {"units": [first]}, format="json"
    )
    assert r.status_code == 201, r.json()
    r = storefront_api.post(f"/api/v1/shipments/{r.json()['id']}/delivered/", {}, format="json")
    assert r.status_code == 200, r.json()
    # and the first cap returned and refunded as store credit against the cash
    with django_capture_on_commit_callbacks(execute=True):
        r = storefront_api.post(
            "/api/v1/returns/",
            {
                "order": order.number,
                "items": [{"unit": first, "reason": "changed_mind", "resolution": "refund"}],
                "refund_method": "store_credit",
            },
            format="json",
        )
        assert r.status_code == 201, r.json()
        walk_to_qc(warehouse_api, r.json()["rma"], [first])
    assert Refund.objects.get(order=order).state == "issued"
    cod = Payment.objects.get(order=order)
    assert cod.state == "partially_refunded"
    # when the second parcel ships and is delivered
    r = storefront_api.post(
        f"/api/v1/orders/{order.number}/shipments/", {"units": [second]}, format="json"
    )
    assert r.status_code == 201, r.json()
    shipment = r.json()["id"]
    r = storefront_api.post(f"/api/v1/shipments/{shipment}/delivered/", {}, format="json")
    # then the courier's cash for it is recorded, and the parcel is delivered
    assert r.status_code == 200, r.json()
    assert r.json()["cod_collected"] == "499.00"
    assert Shipment.objects.get(pk=shipment).state == "delivered"
    cod.refresh_from_db()
    assert cod.captured_amount == Decimal("499.00") * 2 + Decimal("49.00")
    assert cod.state == "partially_refunded"
    assert Decimal("0") < cod.refunded_amount < cod.captured_amount
