"""Regressions for the review's money and state findings."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import Payment, TimelineEvent, Unit
from orders.states import UnitState
from refunds.models import Refund
from returns.models import ReturnItem, ReturnPolicy

pytestmark = pytest.mark.django_db


def _policy(**fields):
    version = (
        ReturnPolicy.objects.order_by("-version").values_list("version", flat=True).first() + 1
    )
    return ReturnPolicy.objects.create(version=version, **fields)


@pytest.fixture
def tees(make_sku):
    make_sku("TEE-M", Decimal("999.00"), product="tee", stock=10, attributes={"size": "M"})
    make_sku("TEE-L", Decimal("999.00"), product="tee", stock=10, attributes={"size": "L"})
    make_sku("TEE-XL", Decimal("1199.00"), product="tee", stock=10, attributes={"size": "XL"})


def _create(api, order, **item):
    unit = order.units.order_by("pk").first()
    body = {"order": order.number, "items": [{"unit": unit.pk, "reason": "size_too_small", **item}]}
    r = api.post("/api/v1/returns/", body, format="json")
    assert r.status_code == 201, r.json()
    return r.json()["rma"], unit


def _event(api, rma, body, status=200):
    r = api.post(f"/api/v1/returns/{rma}/events/", body, format="json")
    assert r.status_code == status, r.json()
    return r.json()


def test_a_return_whose_replacement_shipped_cannot_be_cancelled(
    tees, make_order, deliver_order, storefront_api, warehouse_api
):
    # given an exchange whose replacement shipped before pickup (exchange-first)
    order = make_order([("TEE-M", 1)])
    deliver_order(order)
    rma, unit = _create(storefront_api, order, resolution="exchange", exchange_sku="TEE-L")
    _event(warehouse_api, rma, {"type": "exchange_dispatched"})
    # when someone cancels it, then it is refused and the original stays in the return
    body = _event(warehouse_api, rma, {"type": "cancelled"}, status=409)
    assert body["code"] == "replacement_shipped"
    assert Unit.objects.get(pk=unit.pk).state == UnitState.RETURN_REQUESTED
    # and the same unit cannot be returned again for money
    r = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    )
    assert r.status_code == 409


def test_money_moving_events_need_a_supervisor(
    tees, make_order, deliver_order, storefront_api, warehouse_api
):
    order = make_order([("TEE-M", 1)])
    deliver_order(order)
    rma, _ = _create(storefront_api, order, resolution="refund")
    for kind in (
        "convert_to_keep",
        "convert_to_refund",
        "exchange_relocated",
        "difference_collected",
    ):
        assert (
            warehouse_api.post(
                f"/api/v1/returns/{rma}/events/", {"type": kind}, format="json"
            ).status_code
            == 403
        )


def test_convert_to_keep_respects_the_limit_and_skips_shipped_replacements(
    tees, make_order, deliver_order, storefront_api, warehouse_api, supervisor_api
):
    order = make_order([("TEE-M", 1)])
    deliver_order(order)
    rma, _unit = _create(storefront_api, order, resolution="exchange", exchange_sku="TEE-L")
    _event(warehouse_api, rma, {"type": "exchange_dispatched"})
    # a dispatched exchange is never converted to keep-it
    body = _event(supervisor_api, rma, {"type": "convert_to_keep"}, status=409)
    assert body["code"] == "invalid_state"
    # and a plain return above the keep-it limit is refused
    order2 = make_order([("TEE-M", 1)])
    deliver_order(order2)
    rma2, unit2 = _create(storefront_api, order2, resolution="refund")
    body = _event(supervisor_api, rma2, {"type": "convert_to_keep"}, status=409)
    assert body["code"] == "keep_not_allowed"
    assert Unit.objects.get(pk=unit2.pk).state == UnitState.RETURN_REQUESTED
    assert not Refund.objects.filter(order__in=[order, order2]).exists()


def test_cod_exchange_converted_to_refund_goes_to_store_credit(
    tees,
    make_order,
    deliver_order,
    storefront_api,
    supervisor_api,
    django_capture_on_commit_callbacks,
):
    order = make_order([("TEE-M", 1)], cod=True)
    deliver_order(order)
    rma, _unit = _create(storefront_api, order, resolution="exchange", exchange_sku="TEE-L")
    with django_capture_on_commit_callbacks(execute=True):
        _event(supervisor_api, rma, {"type": "convert_to_refund"})
        _event(
            supervisor_api, rma, {"type": "convert_to_keep"}, status=409
        )  # 999 > keep-it limit 0
    refund = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    assert refund["refund_method"] == "store_credit"


def test_a_collected_difference_is_refunded_when_the_exchange_becomes_a_refund(
    tees,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    supervisor_api,
    finance_api,
    django_capture_on_commit_callbacks,
):
    # given a dearer exchange (999 → 1199) whose 200 difference was collected
    _policy(restocking_fee=Decimal("50.00"), return_shipping_fee=Decimal("80.00"))
    order = make_order([("TEE-M", 1)])
    deliver_order(order)
    rma, unit = _create(storefront_api, order, resolution="exchange", exchange_sku="TEE-XL")
    _event(finance_api, rma, {"type": "difference_collected", "amount": "200.00", "method": "upi"})
    assert Payment.objects.filter(
        order=order, method="upi", captured_amount=Decimal("200.00")
    ).exists()
    # when the merchant cannot ship it and converts it to a refund, and the unit comes back
    with django_capture_on_commit_callbacks(execute=True):
        _event(supervisor_api, rma, {"type": "convert_to_refund"})
        _event(warehouse_api, rma, {"type": "pickup_completed"})
        _event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
        _event(
            warehouse_api,
            rma,
            {"type": "qc_result", "results": [{"unit": unit.pk, "passed": True}]},
        )
    # then the customer gets the unit's price and the difference back, with no fees
    refund = Refund.objects.get(return_request__rma=rma)
    assert refund.fees_amount == Decimal("0.00")
    assert refund.amount == Decimal("1199.00")
    ledger = finance_api.get(f"/api/v1/orders/{order.number}/ledger/").json()
    assert ledger["balanced"] is True
    assert Decimal(ledger["retained"]) == Decimal("0.00")


def test_converting_an_accepted_exchange_writes_a_unit_transition(
    tees, make_order, deliver_order, storefront_api, warehouse_api, supervisor_api
):
    _policy(exchange_dispatch_before_receipt=False)
    order = make_order([("TEE-M", 1)])
    deliver_order(order)
    rma, unit = _create(storefront_api, order, resolution="exchange", exchange_sku="TEE-L")
    _event(warehouse_api, rma, {"type": "pickup_completed"})
    _event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
    _event(
        warehouse_api, rma, {"type": "qc_result", "results": [{"unit": unit.pk, "passed": True}]}
    )
    _event(supervisor_api, rma, {"type": "convert_to_refund"})
    assert (
        TimelineEvent.objects.filter(
            entity="unit",
            entity_id=str(unit.pk),
            from_state="pending_exchange",
            to_state="pending_refund",
        ).count()
        == 1
    )
    assert ReturnItem.objects.get(unit=unit).fees_waived is True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_breach_racing_a_courier_event_never_deadlocks(tees, make_order, deliver_order):
    from datetime import timedelta

    from flows.return_events import return_handle_event
    from flows.return_intake import return_create
    from flows.sla import sla_check_leg
    from orders.events import EventActor
    from returns.services import ItemRequest, ReturnEventData, ReturnRequest
    from sla.models import Leg

    _policy(max_pickup_attempts=5)
    errors = []
    for _ in range(5):
        order = make_order([("TEE-M", 1)])
        deliver_order(order)
        unit = order.units.get()
        ret = return_create(
            ReturnRequest(
                order=order.number,
                items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
            ),
            actor=EventActor.system("t"),
        )
        leg = Leg.objects.get(return_request=ret, leg="pickup")
        barrier = threading.Barrier(2)

        def sweep(leg=leg, barrier=barrier):
            try:
                barrier.wait()
                sla_check_leg(leg_id=leg.pk, now=leg.due_at + timedelta(seconds=1))
            except Exception as exc:
                errors.append(exc)
            finally:
                connection.close()

        def courier(rma=ret.rma, barrier=barrier):
            try:
                barrier.wait()
                return_handle_event(
                    rma=rma,
                    data=ReturnEventData(type="pickup_completed"),
                    actor=EventActor.system("courier"),
                )
            except Exception as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=sweep), threading.Thread(target=courier)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    deadlocks = [e for e in errors if "deadlock" in str(e).lower()]
    assert deadlocks == []
    from oms.errors import ApplicationError

    assert all(isinstance(e, ApplicationError) for e in errors), errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_sent_twice_at_once_creates_one_return(
    tees, make_order, deliver_order, api_client_for
):
    from returns.models import Return

    order = make_order([("TEE-M", 1)])
    deliver_order(order)
    unit = order.units.get()
    body = {
        "order": order.number,
        "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
    }
    client = api_client_for("storefront")
    key = client.api_key
    barrier = threading.Barrier(2)
    results = []

    def post():
        from rest_framework.test import APIClient

        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        try:
            barrier.wait()
            r = c.post("/api/v1/returns/", body, format="json", HTTP_IDEMPOTENCY_KEY="same-key-1")
            results.append((r.status_code, r.json().get("rma")))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in results] == [201, 201]
    assert results[0][1] == results[1][1]
    assert Return.objects.filter(order=order).count() == 1
