"""Issue 12, leak 1, through the API only (so it runs, and fails, on a
checkout without recoveries): money or a replacement that stayed with the
customer after QC failed is owed, listed, on the ledger; the replacement
cannot be returned for a refund."""

from decimal import Decimal

import pytest

from orders.models import Shipment, Unit
from returns.models import ReturnPolicy

pytestmark = pytest.mark.django_db


def _ok(response, status=200):
    assert response.status_code == status, response.json()
    return response.json()


def _event(api, rma, body):
    return _ok(api.post(f"/api/v1/returns/{rma}/events/", body, format="json"))


def _fail_qc(api, rma, unit):
    _event(api, rma, {"type": "pickup_completed"})
    _event(api, rma, {"type": "received", "location": "wh-main"})
    _event(api, rma, {"type": "qc_result", "results": [{"unit": unit.pk, "passed": False}]})


def _return(api, order, unit, **item):
    body = {
        "order": order.number,
        "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund", **item}],
    }
    return _ok(api.post("/api/v1/returns/", body, format="json"), 201)["rma"]


def test_instant_refund_then_failed_qc_is_owed_listed_and_on_the_ledger(
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    finance_api,
    django_capture_on_commit_callbacks,
):
    # given a policy with instant refunds and a 400.00 sock refunded at pickup
    version = ReturnPolicy.objects.order_by("-version").values_list("version", flat=True).first()
    ReturnPolicy.objects.create(
        version=version + 1, instant_refund_max=Decimal("1500.00"), risk_threshold=50
    )
    make_sku("SOCK-1", Decimal("400.00"), product="sock", stock=10)
    order = make_order([("SOCK-1", 1)])
    deliver_order(order)
    unit = order.units.get()
    rma = _return(storefront_api, order, unit)
    # when it fails QC (it goes back to the customer, who kept the 400.00)
    with django_capture_on_commit_callbacks(execute=True):
        _fail_qc(warehouse_api, rma, unit)
    # then finance's queue lists what the customer owes
    page = _ok(finance_api.get("/api/v1/recoveries/?state=open"))
    assert [(r["rma"], r["amount"], r["currency"]) for r in page["results"]] == [
        (rma, "400.00", "INR")
    ]
    # and the ledger records it, balanced
    ledger = _ok(finance_api.get(f"/api/v1/orders/{order.number}/ledger/"))
    assert ledger["refunded"] == "400.00"
    assert ledger["recovery_open"] == "400.00"
    assert ledger["balanced"] is True


def test_the_replacement_of_an_exchange_that_failed_qc_cannot_be_returned_for_money(
    make_sku, make_order, deliver_order, storefront_api, warehouse_api
):
    # given an exchange-first replacement, delivered, whose original failed QC
    make_sku("TEE-M", Decimal("999.00"), product="tee", stock=10, attributes={"size": "M"})
    make_sku("TEE-L", Decimal("999.00"), product="tee", stock=10, attributes={"size": "L"})
    order = make_order([("TEE-M", 1)])
    deliver_order(order)
    unit = order.units.get()
    rma = _return(
        storefront_api,
        order,
        unit,
        reason="size_too_small",
        resolution="exchange",
        exchange_sku="TEE-L",
    )
    _event(warehouse_api, rma, {"type": "exchange_dispatched"})
    shipment = Shipment.objects.get(order=order, kind="replacement")
    _ok(warehouse_api.post(f"/api/v1/shipments/{shipment.pk}/delivered/", {}, format="json"))
    _fail_qc(warehouse_api, rma, unit)
    replacement = Unit.objects.get(line__replacement_for=unit)

    # when the customer returns the replacement for a refund
    response = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": replacement.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    )

    # then it is refused, saying why
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "replacement_of_failed_qc"
