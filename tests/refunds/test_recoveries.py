"""Issue 12, leak 1: a unit that fails QC after its refund was paid (instant
refund) or after its replacement shipped (exchange-first) makes a recovery:
an amount the customer owes, on the ledger, in finance's and CX's queue, and
settled by a gateway charge, a payment link, the next order, or a write-off."""

from decimal import Decimal

import pytest

from orders.models import LedgerEntry, OutboundMessage, Shipment, TimelineEvent, Unit
from orders.states import UnitState
from refunds.models import Recovery
from returns.models import ReturnPolicy

from . import charging_gateway

pytestmark = pytest.mark.django_db
PLACED = "2026-01-10T10:00:00+05:30"


@pytest.fixture(autouse=True)
def _fresh_gateway():
    charging_gateway.CHARGES.clear()
    charging_gateway.CALLS.clear()
    charging_gateway.DECLINE.clear()


@pytest.fixture
def instant_policy(db):
    version = (
        ReturnPolicy.objects.order_by("-version").values_list("version", flat=True).first() + 1
    )
    return ReturnPolicy.objects.create(
        version=version, instant_refund_max=Decimal("1500.00"), risk_threshold=50
    )


@pytest.fixture
def tees(make_sku):
    make_sku("TEE-M", Decimal("999.00"), product="tee", stock=10, attributes={"size": "M"})
    make_sku("TEE-L", Decimal("999.00"), product="tee", stock=10, attributes={"size": "L"})
    make_sku("SOCK-1", Decimal("400.00"), product="sock", stock=10)


def _ok(response, status=200):
    assert response.status_code == status, response.json()
    return response.json()


def _event(api, rma, body):
    return _ok(api.post(f"/api/v1/returns/{rma}/events/", body, format="json"))


def _return(api, order, unit, **item):
    body = {
        "order": order.number,
        "items": [{"unit": unit.pk, "reason": "size_too_small", "resolution": "refund", **item}],
    }
    return _ok(api.post("/api/v1/returns/", body, format="json"), 201)["rma"]


def _fail_qc(api, rma, unit):
    _event(api, rma, {"type": "pickup_completed"})
    _event(api, rma, {"type": "received", "location": "wh-main"})
    _event(api, rma, {"type": "qc_result", "results": [{"unit": unit.pk, "passed": False}]})


@pytest.fixture
def instant_failed(
    instant_policy,
    tees,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    """A sock refunded at pickup (400.00), which then fails QC."""
    order = make_order([("SOCK-1", 1)], customer={"email": "ada@example.com", "name": "Ada"})
    deliver_order(order)
    unit = order.units.get()
    rma = _return(storefront_api, order, unit, reason="changed_mind")
    with django_capture_on_commit_callbacks(execute=True):
        _fail_qc(warehouse_api, rma, unit)
    return order, unit, rma


def test_instant_refund_then_failed_qc_opens_a_recovery_on_the_ledger_and_in_the_queue(
    instant_failed, agent_api, finance_api
):
    order, unit, rma = instant_failed
    assert Unit.objects.get(pk=unit.pk).state == UnitState.RETURN_REJECTED
    # then one open recovery of the refunded 400.00, for this unit
    recovery = Recovery.objects.get()
    assert (recovery.state, recovery.amount, recovery.currency, recovery.unit_id) == (
        "open",
        Decimal("400.00"),
        "INR",
        unit.pk,
    )
    assert recovery.reason == "instant_refund_qc_failed"
    assert recovery.customer_id == order.customer_id
    # and the offline gateway cannot charge, so a payment link was recorded
    assert recovery.method == "payment_link"
    assert f"REC{recovery.pk}-" in recovery.payment_link
    # and the ledger shows what is owed, and still balances
    ledger = _ok(finance_api.get(f"/api/v1/orders/{order.number}/ledger/"))
    assert (ledger["refunded"], ledger["recovery_owed"], ledger["recovery_open"]) == (
        "400.00",
        "400.00",
        "400.00",
    )
    assert ledger["balanced"] is True
    # and it is in finance's and CX's queue
    for api in (agent_api, finance_api):
        page = _ok(api.get("/api/v1/recoveries/?state=open"))
        assert page["count"] == 1
        row = page["results"][0]
        assert (row["id"], row["order"], row["rma"], row["amount"], row["state"]) == (
            recovery.pk,
            order.number,
            rma,
            "400.00",
            "open",
        )
        assert row["customer"]["email"] == "ada@example.com"
    # and the customer is told why, how much and how to pay, in plain words
    message = OutboundMessage.objects.get(order=order, template="recovery_link")
    assert "400.00 INR" in message.subject
    assert "did not pass our inspection" in message.body
    assert recovery.payment_link in message.body
    assert "recovery" not in message.body.lower()  # no internal vocabulary
    # and QC again changes nothing twice (one recovery per unit)
    assert TimelineEvent.objects.filter(order=order, type="recovery.opened").count() == 1


def test_finance_records_the_payment_once(instant_failed, finance_api, agent_api):
    order, _, _ = instant_failed
    recovery = Recovery.objects.get()
    url = f"/api/v1/recoveries/{recovery.pk}/collected/"
    # an agent may not; a missing reference is a 400 naming it
    assert agent_api.post(url, {"reference": "pay_1"}, format="json").status_code == 403
    bad = finance_api.post(url, {}, format="json")
    assert bad.status_code == 400
    assert "reference" in bad.json()["message"]
    # when finance records the payment, twice (a retried request)
    for _ in range(2):
        body = _ok(finance_api.post(url, {"reference": "pay_LINK123"}, format="json"))
        assert (body["state"], body["method"], body["reference"]) == (
            "collected",
            "payment_link",
            "pay_LINK123",
        )
    # then it is collected once on the ledger, which balances
    assert LedgerEntry.objects.filter(order=order, kind="recovery_collected").count() == 1
    ledger = _ok(finance_api.get(f"/api/v1/orders/{order.number}/ledger/"))
    assert (ledger["recovery_collected"], ledger["recovery_open"]) == ("400.00", "0.00")
    assert ledger["balanced"] is True
    # and another reference is a conflict; the queue no longer lists it as open
    again = finance_api.post(url, {"reference": "pay_OTHER"}, format="json")
    assert again.status_code == 409
    assert _ok(finance_api.get("/api/v1/recoveries/?state=open"))["count"] == 0
    assert OutboundMessage.objects.filter(order=order, template="recovery_collected").count() == 1


def test_only_a_supervisor_writes_off_and_must_say_why(
    instant_failed, supervisor_api, agent_api, finance_api
):
    order, _, _ = instant_failed
    recovery = Recovery.objects.get()
    url = f"/api/v1/recoveries/{recovery.pk}/write-off/"
    assert agent_api.post(url, {"reason": "goodwill"}, format="json").status_code == 403
    assert finance_api.post(url, {"reason": "goodwill"}, format="json").status_code == 403
    assert supervisor_api.post(url, {"reason": "  "}, format="json").status_code == 400
    body = _ok(supervisor_api.post(url, {"reason": "Loyal customer, goodwill"}, format="json"))
    assert (body["state"], body["method"], body["note"]) == (
        "written_off",
        "write_off",
        "Loyal customer, goodwill",
    )
    ledger = _ok(finance_api.get(f"/api/v1/orders/{order.number}/ledger/"))
    assert (ledger["recovery_written_off"], ledger["recovery_open"]) == ("400.00", "0.00")
    assert ledger["balanced"] is True
    # a written-off recovery cannot be collected
    collected = finance_api.post(
        f"/api/v1/recoveries/{recovery.pk}/collected/", {"reference": "x"}, format="json"
    )
    assert collected.status_code == 409
    assert collected.json()["extra"]["state"] == "written_off"


def test_exchange_first_then_failed_qc_owes_the_replacement_and_it_cannot_be_returned(
    tees,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    finance_api,
    actor,
    django_capture_on_commit_callbacks,
):
    # given an exchange whose replacement shipped before pickup and was delivered
    order = make_order([("TEE-M", 1)])
    deliver_order(order)
    unit = order.units.get()
    rma = _return(storefront_api, order, unit, resolution="exchange", exchange_sku="TEE-L")
    _event(warehouse_api, rma, {"type": "exchange_dispatched"})
    shipment = Shipment.objects.get(order=order, kind="replacement")
    _ok(warehouse_api.post(f"/api/v1/shipments/{shipment.pk}/delivered/", {}, format="json"))
    replacement = Unit.objects.get(line__replacement_for=unit)
    assert replacement.state == UnitState.DELIVERED
    # when the original fails QC
    with django_capture_on_commit_callbacks(execute=True):
        _fail_qc(warehouse_api, rma, unit)
    # then the customer owes the replacement (999.00), on the ledger
    recovery = Recovery.objects.get()
    assert (recovery.reason, recovery.amount, recovery.replacement_unit_id) == (
        "exchange_qc_failed",
        Decimal("999.00"),
        replacement.pk,
    )
    ledger = _ok(finance_api.get(f"/api/v1/orders/{order.number}/ledger/"))
    assert ledger["recovery_open"] == "999.00"
    assert ledger["balanced"] is True
    message = OutboundMessage.objects.get(order=order, template="recovery_link")
    assert "replacement" in message.body
    assert "999.00 INR" in message.body
    # and the replacement cannot be returned for a refund, with the reason
    response = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": replacement.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "replacement_of_failed_qc"
    assert "did not pass inspection" in response.json()["message"]


def test_a_gateway_that_can_charge_collects_it(
    settings,
    instant_policy,
    tees,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    finance_api,
    django_capture_on_commit_callbacks,
):
    # given card payments go through a gateway that can charge
    settings.OMS_REFUND_GATEWAYS = {"card": "tests.refunds.charging_gateway.ChargingGateway"}
    order = make_order([("SOCK-1", 1)])
    deliver_order(order)
    unit = order.units.get()
    rma = _return(storefront_api, order, unit, reason="changed_mind")
    # when the unit fails QC after its instant refund (the charge runs after commit)
    with django_capture_on_commit_callbacks(execute=True):
        _fail_qc(warehouse_api, rma, unit)
    # then the gateway was asked once for 400.00 on the card, keyed by the recovery
    recovery = Recovery.objects.get()
    assert [
        {
            "key": f"recovery-{recovery.pk}",
            "payment": order.payments.get().pk,
            "amount": Decimal("400.00"),
            "text": f"Return {rma}: amount owed",
        }
    ] == charging_gateway.CALLS
    assert (recovery.state, recovery.method, recovery.reference) == (
        "collected",
        "gateway",
        "testpay:ch_1",
    )
    assert recovery.payment_link == ""
    ledger = _ok(finance_api.get(f"/api/v1/orders/{order.number}/ledger/"))
    assert (ledger["recovery_collected"], ledger["recovery_open"]) == ("400.00", "0.00")
    assert ledger["balanced"] is True


def test_a_declined_charge_falls_back_to_a_payment_link(
    settings,
    instant_policy,
    tees,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    settings.OMS_REFUND_GATEWAYS = {"card": "tests.refunds.charging_gateway.ChargingGateway"}
    charging_gateway.DECLINE.append("card_declined")
    order = make_order([("SOCK-1", 1)])
    deliver_order(order)
    unit = order.units.get()
    rma = _return(storefront_api, order, unit, reason="changed_mind")
    with django_capture_on_commit_callbacks(execute=True):
        _fail_qc(warehouse_api, rma, unit)
    recovery = Recovery.objects.get()
    assert (recovery.state, recovery.method) == ("open", "payment_link")
    assert recovery.payment_link
    assert TimelineEvent.objects.filter(type="recovery.charge_failed").count() == 1


def test_the_customers_next_order_takes_the_recovery_over(
    instant_failed, storefront_api, finance_api, channel
):
    order, _, _rma = instant_failed
    recovery = Recovery.objects.get()
    # when the same customer's next order is taken in (native API)
    body = {
        "channel": "web",
        "external_id": "NEXT-1",
        "currency": "INR",
        "placed_at": PLACED,
        "customer": {"email": "ADA@example.com", "name": "Ada"},
        "lines": [{"sku": "TEE-M", "quantity": 1, "unit_price": "999.00"}],
        "payments": [{"method": "card", "amount": "999.00"}],
    }
    created = _ok(storefront_api.post("/api/v1/orders/", body, format="json"), 201)
    # then the recovery is applied to it, recorded on both orders, and the customer told
    recovery.refresh_from_db()
    assert (recovery.state, recovery.method, recovery.applied_order.number) == (
        "open",
        "next_order",
        created["number"],
    )
    for number in (order.number, created["number"]):
        assert TimelineEvent.objects.filter(
            order__number=number, type="recovery.next_order"
        ).exists()
    message = OutboundMessage.objects.get(template="recovery_next_order")
    assert created["number"] in message.body
    assert "400.00 INR" in message.body
    # and the same order sent again applies nothing twice
    _ok(storefront_api.post("/api/v1/orders/", body, format="json"), 200)
    assert OutboundMessage.objects.filter(template="recovery_next_order").count() == 1
    # and when it is paid with that order, finance records it
    row = _ok(
        finance_api.post(
            f"/api/v1/recoveries/{recovery.pk}/collected/",
            {"reference": f"{created['number']}/card"},
            format="json",
        )
    )
    assert (row["state"], row["method"], row["applied_order"]) == (
        "collected",
        "next_order",
        created["number"],
    )


def test_another_customers_order_is_not_touched(instant_failed, storefront_api):
    body = {
        "channel": "web",
        "external_id": "OTHER-1",
        "currency": "INR",
        "placed_at": PLACED,
        "customer": {"email": "someone-else@example.com"},
        "lines": [{"sku": "TEE-M", "quantity": 1, "unit_price": "999.00"}],
        "payments": [{"method": "card", "amount": "999.00"}],
    }
    _ok(storefront_api.post("/api/v1/orders/", body, format="json"), 201)
    assert Recovery.objects.get().applied_order is None


def test_the_queue_is_paginated_and_filters_by_state(instant_failed, finance_api):
    page = _ok(finance_api.get("/api/v1/recoveries/?state=open&limit=1"))
    assert set(page) == {"count", "next", "previous", "results"}
    assert len(page["results"]) == 1
    assert _ok(finance_api.get("/api/v1/recoveries/?state=collected"))["count"] == 0
    bad = finance_api.get("/api/v1/recoveries/?state=nope")
    assert bad.status_code == 400
    assert "state" in bad.json()["message"]


def test_the_daily_finance_export_lists_recoveries_and_reconciles_them(
    instant_failed, finance_api, supervisor_api
):
    # given a recovery opened today, then written off by a supervisor
    from oms.dates import local_day

    recovery = Recovery.objects.get()
    _ok(
        supervisor_api.post(
            f"/api/v1/recoveries/{recovery.pk}/write-off/", {"reason": "Goodwill"}, format="json"
        )
    )
    # when finance exports today
    today = local_day(recovery.created_at)
    response = finance_api.get(f"/api/v1/finance/export.csv?date={today}")
    assert response.status_code == 200
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    # then the opening and the write-off are rows, each equal to its ledger kind
    opened = [r for r in rows if r["section"] == "recoveries_opened"]
    written_off = [r for r in rows if r["section"] == "recoveries_written_off"]
    assert [r["amount"] for r in opened] == [str(recovery.amount)]
    assert [r["amount"] for r in written_off] == [str(recovery.amount)]
    checks = {r["document"]: r for r in rows if r["section"] == "reconciliation"}
    for name in ("recoveries_opened", "recoveries_written_off"):
        assert checks[name]["state"] == "balanced", checks[name]
        assert checks[name]["ledger_amount"] == str(recovery.amount)
