"""Issue 12, "Leaks to close" 2, 4, 5, 7 and 8: each tried as a finance user
would, through the API, with the exact amounts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from flows.policy import policy_version_create
from orders.models import Payment
from orders.services import PaymentData
from refunds.models import Refund, RefundTender
from returns.models import ReturnPolicy
from tests.returns.helpers import assert_invariants, create, event, quote, unit_ids, walk_to_qc

pytestmark = pytest.mark.django_db


def _policy(**data) -> ReturnPolicy:
    base = ReturnPolicy.objects.order_by("-version").first()
    return policy_version_create(base=base, data=data, actor=None)


def _exchange(order, unit, sku, reason="size_too_small"):
    return {
        "order": order.number,
        "items": [{"unit": unit, "reason": reason, "resolution": "exchange", "exchange_sku": sku}],
    }


# --- 2. exchange difference --------------------------------------------------------------


def test_a_size_swap_of_a_sale_item_at_the_same_catalogue_price_costs_nothing(
    make_sku, make_order, deliver_order, storefront_api
):
    # given a dress listed at 1000, bought on sale at 800, and the L at the same 1000
    make_sku("DRESS-M", Decimal("1000.00"), product="dress", stock=5)
    make_sku("DRESS-L", Decimal("1000.00"), product="dress", stock=5)
    order = make_order([("DRESS-M", 1, Decimal("800.00"))])
    deliver_order(order)
    (unit,) = unit_ids(order)
    # when the customer asks for the L, quoted and then created
    quoted = quote(storefront_api, _exchange(order, unit, "DRESS-L"))
    created = create(storefront_api, _exchange(order, unit, "DRESS-L"))
    # then nothing is collected and nothing refunded
    assert quoted.status_code == 200, quoted.json()
    assert quoted.json()["breakdown"]["to_collect"] == "0.00"
    assert quoted.json()["breakdown"]["exchange_difference"] == "0.00"
    assert created.status_code == 201, created.json()
    detail = storefront_api.get(f"/api/v1/returns/{created.json()['rma']}/").json()
    assert detail["units"][0]["price_difference"] == "0.00"


def test_an_exchange_on_a_tax_exclusive_order_collects_the_difference_with_gst(
    make_sku, make_order, deliver_order, storefront_api
):
    # given a jacket at 1000 + 18% GST (paid 1180) and the dearer variant at 1200
    make_sku("JKT-M", Decimal("1000.00"), tax_rate=Decimal("18"), product="jkt", stock=5)
    make_sku("JKT-PRO", Decimal("1200.00"), tax_rate=Decimal("18"), product="jkt", stock=5)
    order = make_order([("JKT-M", 1)], prices_include_tax=False)
    deliver_order(order)
    (unit,) = unit_ids(order)
    # when the customer asks for the dearer variant
    quoted = quote(storefront_api, _exchange(order, unit, "JKT-PRO", "changed_mind"))
    created = create(storefront_api, _exchange(order, unit, "JKT-PRO", "changed_mind"))
    # then the difference to collect includes the GST: 1416 - 1180
    assert quoted.status_code == 200, quoted.json()
    assert quoted.json()["breakdown"]["to_collect"] == "236.00"
    assert created.status_code == 201, created.json()
    detail = storefront_api.get(f"/api/v1/returns/{created.json()['rma']}/").json()
    assert detail["units"][0]["price_difference"] == "236.00"


# --- 4. split tenders --------------------------------------------------------------------


def test_card_and_store_credit_refunded_to_the_original_each_go_back_to_themselves(
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    # given an order of 1000 paid 600 by card and 400 by store credit
    make_sku("LAMP", Decimal("1000.00"), stock=5)
    order = make_order(
        [("LAMP", 1)],
        payments=[
            PaymentData("card", Decimal("600.00")),
            PaymentData("store_credit", Decimal("400.00")),
        ],
    )
    deliver_order(order)
    (unit,) = unit_ids(order)
    body = {
        "order": order.number,
        "refund_method": "original",
        "items": [{"unit": unit, "reason": "changed_mind", "resolution": "refund"}],
    }
    # when it is returned with refund method "original" and passes QC
    with django_capture_on_commit_callbacks(execute=True):
        r = create(storefront_api, body)
        assert r.status_code == 201, r.json()
        walk_to_qc(warehouse_api, r.json()["rma"], [unit])
    # then each tender gets its own share back, to itself
    (refund,) = storefront_api.get(f"/api/v1/returns/{r.json()['rma']}/").json()["refunds"]
    assert refund["state"] == "issued"
    assert sorted((t["method"], t["amount"]) for t in refund["tenders"]) == [
        ("card", "600.00"),
        ("store_credit", "400.00"),
    ]
    refunded = dict(Payment.objects.filter(order=order).values_list("method", "refunded_amount"))
    assert refunded == {"card": Decimal("600.00"), "store_credit": Decimal("400.00")}
    assert_invariants(order)


# --- 5. mixed fault ----------------------------------------------------------------------


def test_a_return_with_one_merchant_fault_unit_charges_no_return_shipping_fee(
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    # given a policy with a 100 return-shipping fee and an order of two mugs
    _policy(return_shipping_fee=Decimal("100.00"))
    make_sku("MUG-A", Decimal("500.00"), stock=5)
    make_sku("MUG-B", Decimal("300.00"), stock=5)
    order = make_order([("MUG-A", 1), ("MUG-B", 1), ("MUG-A", 1)])
    deliver_order(order)
    a, b, _kept = unit_ids(order)
    body = {
        "order": order.number,
        "items": [
            {"unit": a, "reason": "changed_mind", "resolution": "refund"},
            {"unit": b, "reason": "wrong_item", "resolution": "refund"},
        ],
    }
    # when one unit is sent back for changing their mind and one because we sent the wrong item
    quoted = quote(storefront_api, body).json()["breakdown"]
    with django_capture_on_commit_callbacks(execute=True):
        r = create(storefront_api, body)
        assert r.status_code == 201, r.json()
        walk_to_qc(warehouse_api, r.json()["rma"], [a, b])
    # then no return-shipping fee: the pickup is ours to pay
    assert quoted["fee_details"]["return_shipping"] == "0.00"
    assert quoted["total"] == "800.00"
    (refund,) = Refund.objects.filter(return_request__rma=r.json()["rma"])
    assert refund.fees_amount == Decimal("0.00")
    assert refund.amount == Decimal("800.00")


# --- 7. risk -----------------------------------------------------------------------------


def test_a_45000_change_of_mind_return_goes_to_review_on_value_alone(
    make_sku, make_order, deliver_order, storefront_api
):
    # given a delivered television of 45,000
    make_sku("TV-55", Decimal("45000.00"), stock=2)
    order = make_order([("TV-55", 1)])
    deliver_order(order)
    (unit,) = unit_ids(order)
    body = {
        "order": order.number,
        "items": [{"unit": unit, "reason": "changed_mind", "resolution": "refund"}],
    }
    # when the customer returns it for changing their mind
    quoted = quote(storefront_api, body).json()
    r = create(storefront_api, body)
    # then it waits for a supervisor, and says why
    assert quoted["risk"]["held"] is True
    assert r.status_code == 201, r.json()
    assert r.json()["state"] == "pending_review"
    assert any("review value limit" in reason for reason in r.json()["risk"]["reasons"])


def _with_two_earlier_returns(make_order, deliver_order, storefront_api, customer):
    for _ in range(2):
        earlier = make_order([("PEN", 1)], customer=customer)
        deliver_order(earlier)
        r = create(
            storefront_api,
            {
                "order": earlier.number,
                "items": [
                    {"unit": unit_ids(earlier)[0], "reason": "changed_mind", "resolution": "refund"}
                ],
            },
        )
        assert r.status_code == 201, r.json()


def test_risk_weights_are_a_policy_version_ops_edit_in_the_admin(
    admin_client, make_sku, make_order, deliver_order, storefront_api
):
    # given a repeat returner (two returns in 90 days) with a new return of a cheap pen
    make_sku("PEN", Decimal("100.00"), stock=10)
    customer = {"email": "repeat@example.com", "name": "Repeat"}
    _with_two_earlier_returns(make_order, deliver_order, storefront_api, customer)
    order = make_order([("PEN", 1)], customer=customer)
    deliver_order(order)
    body = {
        "order": order.number,
        "items": [{"unit": unit_ids(order)[0], "reason": "changed_mind", "resolution": "refund"}],
    }
    before = quote(storefront_api, body).json()["risk"]
    assert (before["score"], before["held"]) == (35, False)
    # when ops save a new policy version weighting repeat returns at 60
    v1 = ReturnPolicy.objects.order_by("-version").first()
    url = reverse("admin:returns_returnpolicy_add") + f"?copy_from={v1.pk}"
    initial = client_initial(admin_client, url)
    initial["risk_weight_repeat_returner"] = 60
    response = admin_client.post(url, initial)
    assert response.status_code == 302, response.context["adminform"].form.errors
    # then the same return is held under the new version, and v1 is unchanged
    after = quote(storefront_api, body).json()["risk"]
    assert (after["score"], after["held"]) == (60, True)
    r = create(storefront_api, body)
    assert r.json()["state"] == "pending_review"
    assert r.json()["policy_version"] == v1.version + 1
    v1.refresh_from_db()
    assert v1.risk_weight_repeat_returner == 35


def client_initial(admin_client, url) -> dict:
    """What the browser posts back for the admin's policy form as rendered
    (each field's value as its widget shows it)."""
    form = admin_client.get(url).context["adminform"].form
    data: dict = {}
    for bf in form:
        value = bf.value()
        if bf.name == "copy_from" or value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[bf.html_name] = "on"
        elif isinstance(value, (list, tuple)):
            data[bf.html_name] = list(value)
        else:
            data[bf.html_name] = bf.field.prepare_value(value)
    return {k: v for k, v in data.items() if v != ""}


def test_changed_contact_details_alone_are_held_when_the_policy_weights_them_so(
    make_sku, make_order, deliver_order, storefront_api
):
    # given a policy weighting changed contact details at the threshold
    _policy(risk_weight_contact_changed=50)
    make_sku("CUP", Decimal("200.00"), stock=5)
    order = make_order([("CUP", 1)])
    deliver_order(order)
    order.customer.contact_changed_at = timezone.now() - timedelta(days=1)
    order.customer.save(update_fields=["contact_changed_at"])
    body = {
        "order": order.number,
        "items": [{"unit": unit_ids(order)[0], "reason": "changed_mind", "resolution": "refund"}],
    }
    # when the customer returns it
    r = create(storefront_api, body)
    # then it is held for review
    assert r.status_code == 201, r.json()
    assert r.json()["state"] == "pending_review"
    assert r.json()["risk"]["score"] == 50


# --- 8. mixed prepaid + cash on delivery refusal ------------------------------------------


def _ship_and_deliver(warehouse_api, order, refused, cod_collected):
    ids = sorted(order.units.values_list("pk", flat=True))
    r = warehouse_api.post(
        f"/api/v1/orders/{order.number}/shipments/", {"units": ids}, format="json"
    )
    assert r.status_code == 201, r.content
    r = warehouse_api.post(
        f"/api/v1/shipments/{r.json()['id']}/delivered/",
        {"refused_units": refused, "cod_collected": cod_collected},
        format="json",
    )
    assert r.status_code == 200, r.content


def test_a_refusal_on_a_part_prepaid_part_cod_order_refunds_the_prepaid_overpayment(
    make_sku,
    make_order,
    storefront_api,
    warehouse_api,
    finance_api,
    django_capture_on_commit_callbacks,
):
    # given shoes (2000) and socks (500), paid 1500 by card and 1000 due in cash
    make_sku("SHOE", Decimal("2000.00"), stock=5)
    make_sku("SOCK", Decimal("500.00"), stock=5)
    order = make_order(
        [("SHOE", 1), ("SOCK", 1)],
        payments=[PaymentData("card", Decimal("1500.00")), PaymentData("cod", Decimal("1000.00"))],
    )
    shoe, _sock = unit_ids(order)
    # when the shoes are refused at the door (the card already paid for the socks: no cash)
    with django_capture_on_commit_callbacks(execute=True):
        _ship_and_deliver(warehouse_api, order, [shoe], "0.00")
    rma = storefront_api.get(f"/api/v1/orders/{order.number}/").json()["returns"][0]["rma"]
    estimate = storefront_api.get(f"/api/v1/returns/{rma}/").json()["refund"]["estimated"]
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            event(warehouse_api, rma, {"type": "received", "location": "wh-main"}).status_code
            == 200
        )
        r = event(
            warehouse_api, rma, {"type": "qc_result", "results": [{"unit": shoe, "passed": True}]}
        )
        assert r.status_code == 200, r.json()
    # then the 1000 paid by card beyond the socks comes back to the card
    body = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    assert estimate == "1000.00"
    (refund,) = body["refunds"]
    assert (refund["amount"], refund["state"]) == ("1000.00", "issued")
    assert [(t["method"], t["amount"]) for t in refund["tenders"]] == [("card", "1000.00")]
    assert RefundTender.objects.filter(refund_id=refund["id"]).get().payment.method == "card"
    ledger = finance_api.get(f"/api/v1/orders/{order.number}/ledger/").json()
    assert (ledger["captured"], ledger["retained"], ledger["balanced"]) == (
        "1500.00",
        "500.00",
        True,
    )
    assert_invariants(order)


def test_a_refusal_the_cash_already_made_up_for_refunds_nothing(
    make_sku, make_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given the same order, but the socks refused: the shoes cost 2000, card 1500 + 500 cash
    make_sku("SHOE", Decimal("2000.00"), stock=5)
    make_sku("SOCK", Decimal("500.00"), stock=5)
    order = make_order(
        [("SHOE", 1), ("SOCK", 1)],
        payments=[PaymentData("card", Decimal("1500.00")), PaymentData("cod", Decimal("1000.00"))],
    )
    _shoe, sock = unit_ids(order)
    with django_capture_on_commit_callbacks(execute=True):
        _ship_and_deliver(warehouse_api, order, [sock], "500.00")
    rma = storefront_api.get(f"/api/v1/orders/{order.number}/").json()["returns"][0]["rma"]
    with django_capture_on_commit_callbacks(execute=True):
        event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
        event(
            warehouse_api, rma, {"type": "qc_result", "results": [{"unit": sock, "passed": True}]}
        )
    # then nothing is refunded: the customer paid exactly for the shoes
    assert Refund.objects.filter(order=order).count() == 0
    assert storefront_api.get(f"/api/v1/returns/{rma}/").json()["state"] == "completed"
    assert_invariants(order)
