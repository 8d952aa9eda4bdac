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


# --- every soft-return type, end to end --------------------------------------

from django.db.models import Sum  # noqa: E402

from inventory.models import SKU  # noqa: E402
from orders.models import LedgerEntry, OutboundMessage, Unit  # noqa: E402
from refunds.models import CreditNote  # noqa: E402
from returns.models import ReturnItem, ReturnPolicy  # noqa: E402
from tests.returns.helpers import (  # noqa: E402
    assert_invariants,
    create,
    event,
    snapshot,
    stock,
    walk_to_qc,
)


def _unit(order, sku_code, n=0):
    return Unit.objects.filter(order=order, sku__code=sku_code).order_by("pk")[n]


def test_exchange_for_a_dearer_variant_collects_the_difference_before_dispatch(
    delivered_order, storefront_api, warehouse_api, finance_api, django_capture_on_commit_callbacks
):
    # given a delivered M tee (999 list, about 929.87 paid after discounts) and an XL at
    # 1199: priced as the M was paid (issue 12), the XL costs 186.16 more, not 200
    order = delivered_order
    tee = _unit(order, "TEE-M")
    xl = SKU.objects.get(code="TEE-XL")
    # when the customer asks to exchange M for XL
    with django_capture_on_commit_callbacks(execute=True):
        r = create(
            storefront_api,
            {
                "order": order.number,
                "items": [
                    {
                        "unit": tee.pk,
                        "reason": "size_too_small",
                        "resolution": "exchange",
                        "exchange_sku": "TEE-XL",
                    }
                ],
            },
        )
    # then it is an exchange, the XL is reserved at once (exchange-first)
    assert r.status_code == 201, r.json()
    body = r.json()
    rma = body["rma"]
    assert body["type"] == "exchange"
    assert body["refund"]["breakdown"]["to_collect"] == "186.16"
    assert body["refund"]["estimated"] == "0.00"
    assert stock(xl) == {"sellable": 9, "reserved": 1}
    # and the replacement cannot ship before the difference is collected
    r = event(warehouse_api, rma, {"type": "exchange_dispatched"})
    assert r.status_code == 409
    assert r.json()["code"] == "difference_not_collected"
    # (a warehouse key may not record money; finance does)
    assert (
        event(warehouse_api, rma, {"type": "difference_collected", "amount": "186.16"}).status_code
        == 403
    )
    r = event(finance_api, rma, {"type": "difference_collected", "amount": "150.00"})
    assert r.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        r = event(finance_api, rma, {"type": "difference_collected", "amount": "186.16"})
        assert r.status_code == 200, r.json()
        r = event(warehouse_api, rma, {"type": "exchange_dispatched"})
        assert r.status_code == 200, r.json()
        replacement = r.json()["units"][0]["replacement_unit"]
        assert replacement is not None
        # when the original comes back and passes QC
        body = walk_to_qc(warehouse_api, rma, [tee.pk])
    # then the exchange is settled with no refund, and stock is exact
    assert body["state"] == "completed"
    assert body["units"][0]["state"] == "replaced"
    assert body["refunds"] == []
    assert stock(xl) == {"sellable": 9}  # reserved one left in the replacement shipment
    assert stock(SKU.objects.get(code="TEE-M")) == {"sellable": 8}  # 10 − 3 sold + 1 restocked
    new_unit = Unit.objects.get(pk=replacement)
    assert new_unit.sku == xl
    assert new_unit.state == "shipped"
    assert new_unit.line.replacement_for_id == tee.pk
    collected = LedgerEntry.objects.get(order=order, kind="exchange_collection")
    assert collected.amount == Decimal("186.16")
    ledger = finance_api.get(f"/api/v1/orders/{order.number}/ledger/").json()
    assert ledger["balanced"] is True
    assert ledger["exchange_collected"] == "186.16"
    assert_invariants(order)


def test_exchange_for_a_cheaper_variant_refunds_the_difference_once_final(
    delivered_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a delivered M tee (999 list) and an S at 799
    order = delivered_order
    tee = _unit(order, "TEE-M")
    with django_capture_on_commit_callbacks(execute=True):
        r = create(
            storefront_api,
            {
                "order": order.number,
                "items": [
                    {
                        "unit": tee.pk,
                        "reason": "size_too_large",
                        "resolution": "exchange",
                        "exchange_sku": "TEE-S",
                    }
                ],
            },
        )
        assert r.status_code == 201, r.json()
        rma = r.json()["rma"]
        # then the quote promises the difference back, priced as the M was paid (186.16)
        assert r.json()["refund"]["breakdown"]["exchange_difference"] == "186.16"
        # when the replacement ships first and the original passes QC later
        assert event(warehouse_api, rma, {"type": "exchange_dispatched"}).status_code == 200
        assert Refund.objects.filter(order=order).count() == 0  # not final yet
        walk_to_qc(warehouse_api, rma, [tee.pk])
    body = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    # then exactly the difference is refunded, with a credit note, and it closes
    assert body["state"] == "completed", body
    assert len(body["refunds"]) == 1
    refund = body["refunds"][0]
    assert refund["state"] == "issued"
    assert refund["amount"] == "186.16"
    assert refund["credit_note"].startswith("CN-")
    assert body["units"][0]["state"] == "replaced"
    assert Payment.objects.get(order=order).refunded_amount == Decimal("186.16")
    assert_invariants(order)


def test_doorstep_refusal_on_a_prepaid_order_refunds_the_refused_unit_after_qc(
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    # given a prepaid order of a mug (300) and a cap (500) with 40 shipping
    make_sku("MUG", Decimal("300.00"), stock=10)
    make_sku("CAP", Decimal("500.00"), stock=10)
    order = make_order([("MUG", 1), ("CAP", 1)], shipping=Decimal("40.00"))
    cap = order.units.get(sku__code="CAP")
    # when the cap is refused at the door
    with django_capture_on_commit_callbacks(execute=True):
        deliver_order(order, refused=[cap])
    detail = storefront_api.get(f"/api/v1/orders/{order.number}/").json()
    (summary,) = detail["returns"]
    rma = summary["rma"]
    # then a doorstep_refusal return rides back with the courier: no pickup
    assert summary["type"] == "doorstep_refusal"
    assert summary["state"] == "in_transit"
    assert stock(cap.sku) == {"sellable": 9, "in_transit": 1}
    assert event(warehouse_api, rma, {"type": "pickup_completed"}).status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        r = event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
        assert r.status_code == 200, r.json()
        assert Refund.objects.filter(order=order).count() == 0  # deferred until QC
        r = event(
            warehouse_api, rma, {"type": "qc_result", "results": [{"unit": cap.pk, "passed": True}]}
        )
    # then the cap's full price comes back, no fees, no shipping (the mug was kept)
    body = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    assert body["state"] == "completed", body
    (refund,) = body["refunds"]
    assert refund["amount"] == "500.00"
    assert refund["state"] == "issued"
    assert body["units"][0]["state"] == "refunded"
    assert stock(cap.sku) == {"sellable": 10}
    assert_invariants(order)


def test_cod_refusal_collects_only_for_accepted_units_and_stock_comes_back(
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    finance_api,
    django_capture_on_commit_callbacks,
):
    # given a cash-on-delivery order, the cap refused at the door
    make_sku("MUG", Decimal("300.00"), stock=10)
    make_sku("CAP", Decimal("500.00"), stock=10)
    order = make_order([("MUG", 1), ("CAP", 1)], cod=True, shipping=Decimal("40.00"))
    cap = order.units.get(sku__code="CAP")
    with django_capture_on_commit_callbacks(execute=True):
        deliver_order(order, refused=[cap])
    rma = storefront_api.get(f"/api/v1/orders/{order.number}/").json()["returns"][0]["rma"]
    # when it is received and passes QC
    with django_capture_on_commit_callbacks(execute=True):
        event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
        event(
            warehouse_api, rma, {"type": "qc_result", "results": [{"unit": cap.pk, "passed": True}]}
        )
    # then nothing is refunded, the cap is sellable again, the ledger balances
    assert Refund.objects.filter(order=order).count() == 0
    assert stock(cap.sku) == {"sellable": 10}
    ledger = finance_api.get(f"/api/v1/orders/{order.number}/ledger/").json()
    assert ledger["captured"] == "340.00"
    assert ledger["retained"] == "340.00"
    assert ledger["balanced"] is True
    assert_invariants(order)


def test_failed_qc_sends_the_unit_back_and_refunds_nothing(
    delivered_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a return of the jeans
    order = delivered_order
    jeans = _unit(order, "JEANS-32")
    with django_capture_on_commit_callbacks(execute=True):
        r = create(
            storefront_api,
            {
                "order": order.number,
                "items": [{"unit": jeans.pk, "reason": "changed_mind", "resolution": "refund"}],
            },
        )
        rma = r.json()["rma"]
        # when QC fails (worn, tags removed)
        body = walk_to_qc(warehouse_api, rma, [jeans.pk], passed=False)
    # then the unit is rejected, nothing refunded, nothing restocked, return closed
    assert body["state"] == "completed"
    assert body["units"][0]["state"] == "return_rejected"
    assert body["units"][0]["qc"]["disposition"] == "return_to_customer"
    assert body["refunds"] == []
    assert stock(jeans.sku) == {"sellable": 9}
    assert OutboundMessage.objects.filter(
        order=order, template="qc_outcome", body__contains="did not pass"
    ).exists()
    # and the unit cannot be returned again in this order
    returnable = storefront_api.get(f"/api/v1/orders/{order.number}/returnable/").json()
    jeans_line = next(x for x in returnable if x["sku"] == "JEANS-32")
    assert jeans_line["returnable_quantity"] == 0
    assert_invariants(order)


def test_quality_rejection_quarantines_refunds_shipping_and_never_restocks(
    delivered_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a policy with fees, and a defective jeans unit
    ReturnPolicy.objects.create(
        version=2, restocking_fee=Decimal("50.00"), return_shipping_fee=Decimal("79.00")
    )
    order = delivered_order
    jeans = _unit(order, "JEANS-32")
    with django_capture_on_commit_callbacks(execute=True):
        r = create(
            storefront_api,
            {
                "order": order.number,
                "items": [
                    {
                        "unit": jeans.pk,
                        "reason": "defective",
                        "defect_type": "hardware_failure",
                        "resolution": "refund",
                        "note": "zip broken",
                    }
                ],
            },
        )
    # then it is a quality rejection, merchant fault: no fees, shipping refunded
    assert r.status_code == 201, r.json()
    body = r.json()
    rma = body["rma"]
    assert body["type"] == "quality_rejection"
    assert body["policy_version"] == 2
    breakdown = body["refund"]["breakdown"]
    assert breakdown["fees"] == "0.00"
    assert breakdown["shipping"] == "49.00"
    assert Decimal(breakdown["total"]) == jeans.net_paid + Decimal("49.00")
    event(warehouse_api, rma, {"type": "pickup_completed"})
    event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
    # when QC tries to restock the defective unit
    before = snapshot(order)
    r = event(
        warehouse_api,
        rma,
        {
            "type": "qc_result",
            "results": [{"unit": jeans.pk, "passed": True, "disposition": "restock"}],
        },
    )
    # then it is refused: a defective unit never goes back on sale
    assert r.status_code == 400
    assert r.json()["code"] == "defect_never_sellable"
    assert snapshot(order) == before
    # when QC passes it with the default disposition
    with django_capture_on_commit_callbacks(execute=True):
        r = event(
            warehouse_api,
            rma,
            {"type": "qc_result", "results": [{"unit": jeans.pk, "passed": True}]},
        )
    assert r.status_code == 200, r.json()
    body = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    assert body["units"][0]["qc"]["disposition"] == "quarantine"
    assert stock(jeans.sku) == {"sellable": 9, "quarantine": 1}
    (refund,) = body["refunds"]
    assert Decimal(refund["amount"]) == jeans.net_paid + Decimal("49.00")
    assert body["state"] == "completed"
    assert_invariants(order)


def test_high_risk_return_waits_for_a_supervisor(
    make_sku,
    make_order,
    actor,
    storefront_api,
    agent_api,
    supervisor_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    # given a phone shipped with serial SN-1
    from flows.delivery import shipment_deliver
    from orders.services import shipment_create

    make_sku("PHONE", Decimal("15000.00"), stock=5, warranty_months=12)
    order = make_order([("PHONE", 2)])
    phone, other = order.units.order_by("pk")
    shipment = shipment_create(
        order=order, unit_ids=[phone.pk, other.pk], actor=actor, serials={phone.pk: "SN-1"}
    )
    shipment_deliver(shipment_id=shipment.pk, actor=actor)
    # when the customer returns it quoting another serial
    r = create(
        storefront_api,
        {
            "order": order.number,
            "items": [
                {
                    "unit": phone.pk,
                    "reason": "changed_mind",
                    "resolution": "refund",
                    "serial": "SN-9",
                }
            ],
        },
    )
    # then it is held for review with readable reasons, and nothing moves
    assert r.status_code == 201, r.json()
    body = r.json()
    rma = body["rma"]
    assert body["state"] == "pending_review"
    assert body["risk"]["score"] >= 50
    assert any("Serial number" in reason for reason in body["risk"]["reasons"])
    assert OutboundMessage.objects.filter(
        order=order, template="return_created", body__contains="review"
    ).exists()
    before = snapshot(order)
    r = event(warehouse_api, rma, {"type": "pickup_completed"})
    assert r.status_code == 409
    assert snapshot(order) == before
    # and an agent may not decide
    assert agent_api.post(f"/api/v1/returns/{rma}/approve/", {}, format="json").status_code == 403
    assert agent_api.post(f"/api/v1/returns/{rma}/reject/", {}, format="json").status_code == 403
    # when the supervisor approves
    r = supervisor_api.post(
        f"/api/v1/returns/{rma}/approve/", {"note": "serial typo, photo matches"}, format="json"
    )
    assert r.status_code == 200, r.json()
    assert r.json()["state"] == "approved"
    assert (
        supervisor_api.post(f"/api/v1/returns/{rma}/approve/", {}, format="json").status_code == 409
    )
    # then it proceeds to a refund like any other
    with django_capture_on_commit_callbacks(execute=True):
        walk_to_qc(warehouse_api, rma, [phone.pk])
    body = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    assert body["state"] == "completed"
    assert body["refunds"][0]["state"] == "issued"
    assert_invariants(order)


def test_rejected_review_puts_units_back_with_the_customer(
    make_sku, make_order, actor, storefront_api, supervisor_api
):
    # given a held return (new policy with a low risk threshold)
    ReturnPolicy.objects.create(version=2, risk_threshold=10)
    from flows.delivery import shipment_deliver
    from orders.services import shipment_create

    make_sku("WATCH", Decimal("25000.00"), stock=2)
    order = make_order([("WATCH", 1)])
    (unit,) = order.units.all()
    shipment_deliver(
        shipment_id=shipment_create(order=order, unit_ids=[unit.pk], actor=actor).pk, actor=actor
    )
    r = create(
        storefront_api,
        {
            "order": order.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
    )
    assert r.json()["state"] == "pending_review"
    # when the supervisor rejects it
    r = supervisor_api.post(
        f"/api/v1/returns/{r.json()['rma']}/reject/", {"note": "outside policy"}, format="json"
    )
    # then the return is closed and the unit is delivered (returnable) again
    assert r.status_code == 200
    assert r.json()["state"] == "rejected"
    assert r.json()["units"][0]["state"] == "delivered"
    assert ReturnItem.objects.filter(unit=unit, is_open=True).count() == 0
    assert OutboundMessage.objects.filter(order=order, template="return_rejected").exists()
    assert_invariants(order)


def test_keep_it_refunds_at_approval_without_a_pickup(
    delivered_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a policy that lets customers keep items up to 1000
    ReturnPolicy.objects.create(version=2, keep_it_max_value=Decimal("1000.00"))
    order = delivered_order
    tee = _unit(order, "TEE-M")
    # when the customer asks to keep a damaged tee
    with django_capture_on_commit_callbacks(execute=True):
        r = create(
            storefront_api,
            {
                "order": order.number,
                "items": [{"unit": tee.pk, "reason": "damaged_in_transit", "resolution": "keep"}],
            },
        )
    # then the refund is issued at once and the return closes; no stock moves
    assert r.status_code == 201, r.json()
    body = storefront_api.get(f"/api/v1/returns/{r.json()['rma']}/").json()
    assert body["state"] == "completed"
    assert body["units"][0]["state"] == "kept"
    (refund,) = body["refunds"]
    assert refund["kind"] == "keep_it"
    assert Decimal(refund["amount"]) == tee.net_paid + Decimal("49.00")  # merchant fault
    assert stock(tee.sku) == {"sellable": 7}
    assert event(warehouse_api, body["rma"], {"type": "pickup_completed"}).status_code == 409
    # and a dearer item cannot be kept
    jeans = _unit(order, "JEANS-32")
    r = create(
        storefront_api,
        {
            "order": order.number,
            "items": [{"unit": jeans.pk, "reason": "changed_mind", "resolution": "keep"}],
        },
    )
    assert r.status_code == 400
    assert r.json()["code"] == "keep_not_allowed"
    assert_invariants(order)


def test_return_in_store_lands_in_pending_inspection_at_the_store(
    delivered_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a store, and a tee the customer drops off there
    from tests.factories import LocationFactory

    LocationFactory(code="store-blr", store=True)
    order = delivered_order
    tee = _unit(order, "TEE-M")
    r = create(
        storefront_api,
        {
            "order": order.number,
            "location": "store-blr",
            "items": [{"unit": tee.pk, "reason": "size_too_small", "resolution": "refund"}],
        },
    )
    assert r.status_code == 201, r.json()
    rma = r.json()["rma"]
    # when the store receives it (no courier)
    r = event(warehouse_api, rma, {"type": "received", "location": "store-blr"})
    assert r.status_code == 200, r.json()
    # then it waits for inspection at the store, never sellable before QC
    assert stock(tee.sku, "store-blr") == {"pending_inspection": 1}
    assert r.json()["units"][0]["state"] == "returned"
    # when it passes QC with refurbish
    with django_capture_on_commit_callbacks(execute=True):
        r = event(
            warehouse_api,
            rma,
            {
                "type": "qc_result",
                "results": [{"unit": tee.pk, "passed": True, "disposition": "refurbish"}],
            },
        )
    assert stock(tee.sku, "store-blr") == {"refurbish": 1}
    assert storefront_api.get(f"/api/v1/returns/{rma}/").json()["state"] == "completed"
    assert_invariants(order)


def test_stock_follows_the_unit_in_transit_then_pending_inspection_then_liquidation(
    delivered_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    order = delivered_order
    a, b = _unit(order, "TEE-M", 0), _unit(order, "TEE-M", 1)
    r = create(
        storefront_api,
        {
            "order": order.number,
            "items": [
                {"line": a.line_id, "quantity": 2, "reason": "changed_mind", "resolution": "refund"}
            ],
        },
    )
    assert r.status_code == 201, r.json()
    rma = r.json()["rma"]
    assert sorted(u["id"] for u in r.json()["units"]) == sorted([a.pk, b.pk])
    # when both are picked up
    event(warehouse_api, rma, {"type": "pickup_completed"})
    # then both are in transit
    assert stock(a.sku) == {"sellable": 7, "in_transit": 2}
    event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
    assert stock(a.sku) == {"sellable": 7, "pending_inspection": 2}
    # when QC passes one to liquidation and one to restock
    with django_capture_on_commit_callbacks(execute=True):
        r = event(
            warehouse_api,
            rma,
            {
                "type": "qc_result",
                "results": [
                    {"unit": a.pk, "passed": True, "disposition": "liquidate"},
                    {"unit": b.pk, "passed": True},
                ],
            },
        )
    assert r.status_code == 200, r.json()
    assert stock(a.sku) == {"sellable": 8, "liquidation": 1}
    # one refund for both, items adding up to their net paid, less nothing
    (refund,) = storefront_api.get(f"/api/v1/returns/{rma}/").json()["refunds"]
    assert Decimal(refund["amount"]) == a.net_paid + b.net_paid
    assert_invariants(order)


def test_customer_messages_say_what_happens_next_and_by_when(
    delivered_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    order = delivered_order
    tee = _unit(order, "TEE-M")
    with django_capture_on_commit_callbacks(execute=True):
        r = create(
            storefront_api,
            {
                "order": order.number,
                "items": [{"unit": tee.pk, "reason": "changed_mind", "resolution": "refund"}],
            },
        )
        rma = r.json()["rma"]
        created = OutboundMessage.objects.get(order=order, template="return_created")
        # then the first message says pickup by a date and the refund by a date
        assert rma in created.body
        assert "collect the item(s) by" in created.body
        assert "should arrive by" in created.body
        assert r.json()["refund"]["estimated"] in created.body
        walk_to_qc(warehouse_api, rma, [tee.pk])
    templates = list(
        OutboundMessage.objects.filter(order=order)
        .order_by("pk")
        .values_list("template", flat=True)
    )
    # and every later step is told, in order
    assert templates == ["return_created", "pickup_done", "received", "qc_outcome", "refund_issued"]
    assert OutboundMessage.objects.filter(order=order).exclude(state="sent").count() == 0


def test_credit_note_carries_the_tax_breakdown(
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    # given a 12% GST tee, tax included in the price
    make_sku("KURTA", Decimal("1120.00"), tax_rate=Decimal("12.00"), stock=5)
    order = make_order([("KURTA", 2)])
    deliver_order(order)
    unit = order.units.order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        rma = create(
            storefront_api,
            {
                "order": order.number,
                "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
            },
        ).json()["rma"]
        walk_to_qc(warehouse_api, rma, [unit.pk])
    # then the credit note splits the refund into taxable value and tax
    note = CreditNote.objects.get(refund__return_request__rma=rma)
    assert note.total == Decimal("1120.00")
    assert note.tax_total == Decimal("120.00")
    assert note.taxable_total == Decimal("1000.00")
    (line,) = note.lines
    assert line["tax_rate"] == "12.00"
    assert line["unit"] == unit.pk
    assert (
        Refund.objects.filter(order=order, state="issued").aggregate(s=Sum("amount"))["s"]
        == note.total
    )
