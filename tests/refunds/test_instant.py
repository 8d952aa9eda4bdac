"""Instant refunds: policy may refund low-risk, low-value returns at pickup."""

from decimal import Decimal

import pytest

from orders.models import Payment, TimelineEvent
from orders.states import UnitState
from refunds.models import Refund
from returns.models import ReturnPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def instant_policy(db):
    version = (
        ReturnPolicy.objects.order_by("-version").values_list("version", flat=True).first() + 1
    )
    return ReturnPolicy.objects.create(
        version=version, instant_refund_max=Decimal("1500.00"), risk_threshold=50
    )


@pytest.fixture
def order(make_sku, make_order, deliver_order):
    make_sku("SOCK-1", Decimal("400.00"), stock=10)
    make_sku("COAT-1", Decimal("3000.00"), stock=10)
    o = make_order([("SOCK-1", 2), ("COAT-1", 1)])
    deliver_order(o)
    return o


def _return(api, order, sku, n=1):
    units = list(order.units.filter(sku__code=sku).order_by("pk").values_list("pk", flat=True))[:n]
    r = api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in units],
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    return r.json()["rma"], units


def _event(api, rma, body):
    r = api.post(f"/api/v1/returns/{rma}/events/", body, format="json")
    assert r.status_code == 200, r.json()


def test_refunded_at_pickup_then_settled_at_qc_and_paid_once(
    instant_policy, order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a low-value, low-risk return under a policy with instant refunds
    rma, units = _return(storefront_api, order, "SOCK-1")
    # when the courier picks it up, the refund is issued without waiting for QC
    with django_capture_on_commit_callbacks(execute=True):
        _event(warehouse_api, rma, {"type": "pickup_completed"})
    refund = Refund.objects.get(return_request__rma=rma)
    assert refund.kind == "instant"
    assert refund.state == "issued"
    assert refund.amount == Decimal("400.00")
    assert order.units.get(pk=units[0]).state == UnitState.RETURN_IN_TRANSIT
    # then when it arrives and passes QC it settles as refunded, paid only once
    with django_capture_on_commit_callbacks(execute=True):
        _event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
        _event(
            warehouse_api,
            rma,
            {"type": "qc_result", "results": [{"unit": units[0], "passed": True}]},
        )
    assert order.units.get(pk=units[0]).state == UnitState.REFUNDED
    assert Refund.objects.filter(return_request__rma=rma).count() == 1
    assert Payment.objects.get(order=order).refunded_amount == Decimal("400.00")
    assert storefront_api.get(f"/api/v1/returns/{rma}/").json()["state"] == "completed"


def test_qc_failure_after_an_instant_refund_is_flagged_for_an_agent(
    instant_policy, order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    rma, units = _return(storefront_api, order, "SOCK-1")
    with django_capture_on_commit_callbacks(execute=True):
        _event(warehouse_api, rma, {"type": "pickup_completed"})
        _event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
        _event(
            warehouse_api,
            rma,
            {"type": "qc_result", "results": [{"unit": units[0], "passed": False}]},
        )
    assert order.units.get(pk=units[0]).state == UnitState.RETURN_REJECTED
    flags = TimelineEvent.objects.filter(
        order=order, type="refund.instant_qc_failed", entity_id=str(units[0])
    )
    assert flags.count() == 1
    assert Refund.objects.filter(return_request__rma=rma).count() == 1


def test_above_the_limit_the_refund_waits_for_qc(
    instant_policy, order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    rma, units = _return(storefront_api, order, "COAT-1")
    with django_capture_on_commit_callbacks(execute=True):
        _event(warehouse_api, rma, {"type": "pickup_completed"})
    assert not Refund.objects.filter(return_request__rma=rma).exists()
    with django_capture_on_commit_callbacks(execute=True):
        _event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
        _event(
            warehouse_api,
            rma,
            {"type": "qc_result", "results": [{"unit": units[0], "passed": True}]},
        )
    assert Refund.objects.get(return_request__rma=rma).kind == "return"


def test_without_the_policy_nothing_is_refunded_before_qc(
    order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    rma, _ = _return(storefront_api, order, "SOCK-1")
    with django_capture_on_commit_callbacks(execute=True):
        _event(warehouse_api, rma, {"type": "pickup_completed"})
    assert not Refund.objects.filter(return_request__rma=rma).exists()
