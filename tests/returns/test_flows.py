"""Every soft-return type end to end through the API."""

from decimal import Decimal

import pytest

from orders.models import Payment
from refunds.models import Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered_order(make_sku, make_order, deliver_order):
    """Two lines: 3 tees at 999 with 100 line discount, 1 jeans at 2499;
    order discount 200, shipping 49, paid by card."""
    make_sku("TEE-M", Decimal("999.00"), product="tee", stock=10, attributes={"size": "M"})
    make_sku("TEE-L", Decimal("999.00"), product="tee", stock=10, attributes={"size": "L"})
    make_sku("TEE-XL", Decimal("1199.00"), product="tee", stock=10, attributes={"size": "XL"})
    make_sku("TEE-S", Decimal("799.00"), product="tee", stock=10, attributes={"size": "S"})
    make_sku("JEANS-32", Decimal("2499.00"), product="jeans", stock=10)
    order = make_order(
        [("TEE-M", 3, Decimal("999.00"), Decimal("100.00")), ("JEANS-32", 1, Decimal("2499.00"))],
        order_discount=Decimal("200.00"),
        shipping=Decimal("49.00"),
    )
    deliver_order(order)
    return order


def _create(api, body, **headers):
    return api.post("/api/v1/returns/", body, format="json", **headers)


def _event(api, rma, body):
    return api.post(f"/api/v1/returns/{rma}/events/", body, format="json")


def _walk_to_refund(warehouse_api, rma, units, *, passed=True, location="wh-main"):
    assert _event(warehouse_api, rma, {"type": "pickup_completed"}).status_code == 200
    assert _event(warehouse_api, rma, {"type": "received", "location": location}).status_code == 200
    r = _event(
        warehouse_api,
        rma,
        {
            "type": "qc_result",
            "results": [{"unit": u, "passed": passed, "grade": "A"} for u in units],
        },
    )
    assert r.status_code == 200, r.json()
    return r.json()


def test_partial_returns_one_after_another_add_up_to_everything_paid(
    delivered_order, storefront_api, warehouse_api, finance_api, django_capture_on_commit_callbacks
):
    # given an order of four units, returned one return at a time
    order = delivered_order
    detail = storefront_api.get(f"/api/v1/orders/{order.number}/").json()
    unit_ids = [u["id"] for line in detail["lines"] for u in line["units"]]
    paid_items = sum(Decimal(u["net_paid"]) for line in detail["lines"] for u in line["units"])
    refunded = Decimal("0")
    for unit_id in unit_ids:
        # when each unit is returned, received and passes QC
        with django_capture_on_commit_callbacks(execute=True):
            r = _create(
                storefront_api,
                {
                    "order": order.number,
                    "items": [{"unit": unit_id, "reason": "changed_mind", "resolution": "refund"}],
                },
            )
            assert r.status_code == 201, r.json()
            rma = r.json()["rma"]
            assert r.json()["type"] == "partial_return"
            _walk_to_refund(warehouse_api, rma, [unit_id])
        body = storefront_api.get(f"/api/v1/returns/{rma}/").json()
        assert body["state"] == "completed", body
        assert body["units"][0]["state"] == "refunded"
        refunded += sum(Decimal(x["amount"]) for x in body["refunds"][0]["tenders"])
    # then the refunds add up to exactly the items paid plus shipping once
    assert refunded == paid_items + Decimal("49.00") == order.grand_total
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == payment.captured_amount
    assert payment.state == "refunded"
    ledger = storefront_api.get(f"/api/v1/orders/{order.number}/ledger/")
    assert ledger.status_code == 403  # storefront may not read finance's ledger
    ledger = finance_api.get(f"/api/v1/orders/{order.number}/ledger/").json()
    assert ledger["balanced"] is True
    assert Decimal(ledger["retained"]) == Decimal("0.00")
    assert Decimal(ledger["refunded"]) == order.grand_total
    assert Refund.objects.filter(order=order, state="issued").count() == 4


def test_doorstep_refusal_on_cash_on_delivery_refunds_nothing(
    make_sku,
    make_order,
    deliver_order,
    warehouse_api,
    storefront_api,
    django_capture_on_commit_callbacks,
):
    make_sku("MUG", Decimal("300.00"), stock=10)
    make_sku("CAP", Decimal("500.00"), stock=10)
    order = make_order([("MUG", 1), ("CAP", 1)], cod=True, shipping=Decimal("40.00"))
    cap = order.units.get(sku__code="CAP")
    with django_capture_on_commit_callbacks(execute=True):
        result = deliver_order(order, refused=[cap])
    assert result.cod_collected == Decimal("340.00")
    detail = storefront_api.get(f"/api/v1/orders/{order.number}/").json()
    assert len(detail["returns"]) == 1
    assert detail["returns"][0]["type"] == "doorstep_refusal"
    rma = detail["returns"][0]["rma"]
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            _event(warehouse_api, rma, {"type": "received", "location": "wh-main"}).status_code
            == 200
        )
        _event(
            warehouse_api, rma, {"type": "qc_result", "results": [{"unit": cap.pk, "passed": True}]}
        )
    body = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    assert body["state"] == "completed"
    assert body["units"][0]["state"] == "not_charged"
    assert body["refunds"] == []
