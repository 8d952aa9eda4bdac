"""The console's recoveries page: who may see it and act on it."""

from decimal import Decimal

import pytest

from refunds.models import Recovery
from returns.models import ReturnPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def recovery(
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    version = ReturnPolicy.objects.order_by("-version").values_list("version", flat=True).first()
    ReturnPolicy.objects.create(
        version=version + 1, instant_refund_max=Decimal("1500.00"), risk_threshold=50
    )
    make_sku("SOCK-1", Decimal("400.00"), product="sock", stock=10)
    order = make_order([("SOCK-1", 1)])
    deliver_order(order)
    unit = order.units.get()
    rma = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    ).json()["rma"]
    with django_capture_on_commit_callbacks(execute=True):
        for body in (
            {"type": "pickup_completed"},
            {"type": "received", "location": "wh-main"},
            {"type": "qc_result", "results": [{"unit": unit.pk, "passed": False}]},
        ):
            warehouse_api.post(f"/api/v1/returns/{rma}/events/", body, format="json")
    return Recovery.objects.get()


def test_warehouse_cannot_see_the_queue(login, recovery):
    assert login("warehouse").get("/console/recoveries/").status_code == 403


def test_finance_records_a_payment_from_the_page(login, recovery):
    client = login("finance")
    page = client.get("/console/recoveries/")
    assert page.status_code == 200
    body = page.content.decode()
    assert '<label for="ref-' in body
    assert "Record payment" in body
    assert "Write off" not in body  # supervisors only
    response = client.post(
        f"/console/recoveries/{recovery.pk}/collected/", {"reference": "UTR-77"}, follow=True
    )
    assert f"Recovery {recovery.pk} recorded as collected." in response.content.decode()
    recovery.refresh_from_db()
    assert (recovery.state, recovery.reference, recovery.settled_by) == (
        "collected",
        "UTR-77",
        "finance-user",
    )


def test_an_agent_cannot_write_off(login, recovery):
    client = login("agent")
    response = client.post(f"/console/recoveries/{recovery.pk}/write-off/", {"reason": "x"})
    assert response.status_code == 403
    recovery.refresh_from_db()
    assert recovery.state == "open"
